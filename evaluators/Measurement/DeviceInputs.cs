using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Onnx;
using SpiKernel.Core.OnnxFormat;
using SpiKernel.Evaluators.Providers;

namespace SpiKernel.Evaluators.Measurement;

/// <summary>
/// Copies of host input values in the device memory of a profile's provider, for profiles that bind inputs on the device
/// (<see cref="EvaluationProfile.InputsOnDevice"/>: a captured CUDA graph replays fixed device addresses, so its inputs
/// cannot be copied from the host inside the run). The copy is made by running a graph of <c>Identity</c> nodes on the
/// same provider (without graph capture) with its outputs bound to the device — the one device copy ONNX Runtime's C#
/// API offers for a provider appended to a session. Owns the copies and the session whose allocator holds them.
/// </summary>
internal sealed class DeviceInputs : IDisposable
{
    private readonly InferenceSession _session;
    private readonly SessionOptions _options;
    private readonly OrtIoBinding _binding;
    private readonly IDisposableReadOnlyCollection<OrtValue> _values;

    private DeviceInputs(InferenceSession session, SessionOptions options, OrtIoBinding binding, IDisposableReadOnlyCollection<OrtValue> values, IReadOnlyList<string> names)
    {
        _session = session;
        _options = options;
        _binding = binding;
        _values = values;
        Inputs = names.Select((n, i) => (n, values[i])).ToArray();
    }

    /// <summary>The device copies, under the input names they were made for.</summary>
    public IReadOnlyList<(string Name, OrtValue Value)> Inputs { get; }

    /// <summary>Copies <paramref name="inputs"/> (host tensors) to the device of <paramref name="profile"/>.</summary>
    public static DeviceInputs Copy(EvaluationProfile profile, IReadOnlyList<(string Name, OrtValue Value)> inputs)
    {
        ArgumentNullException.ThrowIfNull(profile);
        ArgumentNullException.ThrowIfNull(inputs);
        var graph = new GraphProto { Name = "device_copy" };
        for (int i = 0; i < inputs.Count; i++)
        {
            var type = (TensorProto.Types.DataType)(int)inputs[i].Value.GetTensorTypeAndShape().ElementDataType;
            graph.Input.Add(OnnxHelper.Value($"in{i}", type));
            graph.Output.Add(OnnxHelper.Value($"out{i}", type));
            graph.Node.Add(OnnxHelper.Node("Identity", [$"in{i}"], [$"out{i}"], $"copy{i}"));
        }
        byte[] model = OnnxHelper.Model(graph, "spikernel", "", "", []).ToByteArray();
        // the same provider and device, without graph capture (a copy is run once)
        var settings = (profile.ProviderOptions ?? new Dictionary<string, string>()).Where(p => p.Key != "enable_cuda_graph").ToDictionary(p => p.Key, p => p.Value);
        var options = new SessionOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR };
        InferenceSession? session = null;
        OrtIoBinding? binding = null;
        try
        {
            ProviderRegistry.Append(options, profile with { ProviderOptions = settings });
            session = new InferenceSession(model, options);
            binding = session.CreateIoBinding();
            using var device = new OrtMemoryInfo(OrtMemoryInfo.allocatorCUDA, OrtAllocatorType.DeviceAllocator, profile.DeviceId, OrtMemType.Default);
            for (int i = 0; i < inputs.Count; i++)
            {
                binding.BindInput($"in{i}", inputs[i].Value);
                binding.BindOutputToDevice($"out{i}", device);
            }
            using var run = new RunOptions();
            session.RunWithBinding(run, binding);
            binding.SynchronizeBoundOutputs();
            return new DeviceInputs(session, options, binding, binding.GetOutputValues(), inputs.Select(p => p.Name).ToArray());
        }
        catch
        {
            binding?.Dispose();
            session?.Dispose();
            options.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _values.Dispose();
        _binding.Dispose();
        _session.Dispose();
        _options.Dispose();
    }
}
