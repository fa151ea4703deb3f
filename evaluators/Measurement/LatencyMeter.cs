using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using SpiKernel.Evaluators.Providers;

namespace SpiKernel.Evaluators.Measurement;

/// <summary>What one latency measurement found.</summary>
/// <param name="FirstRunMilliseconds">The first run alone (lazy initialisation, kernel selection), kept out of the statistics.</param>
/// <param name="Stats">Statistics of the timed runs.</param>
public sealed record LatencyResult(double FirstRunMilliseconds, LatencyStats Stats)
{
    /// <summary>Every timed run in milliseconds, in the order they ran.</summary>
    public IReadOnlyList<double> Samples { get; init; } = [];
}

/// <summary>
/// Times <c>Run</c> on one session: the input is an <see cref="OrtValue"/> bound once through <see cref="OrtIoBinding"/>
/// (on an accelerator ONNX Runtime copies it to the device when bound, not per run), outputs are pre-allocated on the
/// host — or left on the device for accelerator profiles — so no allocation or copy is inside the timed region;
/// one <see cref="Stopwatch"/> timestamp pair per run; warm-up runs are not timed.
/// </summary>
public static class LatencyMeter
{
    /// <summary>Measures <paramref name="session"/> on <paramref name="input"/> (shape <paramref name="shape"/>, first dimension the batch).</summary>
    /// <param name="session">The session (its profile decides where outputs live).</param>
    /// <param name="profile">The profile the session was built for.</param>
    /// <param name="inputName">The model's input.</param>
    /// <param name="input">Input values, row-major.</param>
    /// <param name="shape">Input shape.</param>
    /// <param name="options">Warm-up and repeats.</param>
    /// <param name="progress">Called with (runs done, runs planned) — planned is 0 for duration-bound measurements.</param>
    /// <param name="cancel">Stops between runs.</param>
    public static LatencyResult Measure(InferenceSession session, EvaluationProfile profile, string inputName, float[] input, long[] shape,
        LatencyOptions options, Action<int, int>? progress = null, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(profile);
        ArgumentNullException.ThrowIfNull(options);
        long batch = shape[0];
        using var inputValue = OrtValue.CreateTensorValueFromMemory(input, shape);
        using OrtIoBinding binding = session.CreateIoBinding();
        using var runOptions = new RunOptions();
        var outputs = new List<OrtValue>();
        OrtMemoryInfo? deviceMemory = null;
        try
        {
            binding.BindInput(inputName, inputValue);
            if (profile.OutputsOnDevice)
            {
                deviceMemory = new OrtMemoryInfo(OrtMemoryInfo.allocatorCUDA, OrtAllocatorType.DeviceAllocator, profile.DeviceId, OrtMemType.Default);
                foreach (string name in session.OutputNames) binding.BindOutputToDevice(name, deviceMemory);
            }
            else
            {
                foreach (string name in session.OutputNames)
                {
                    NodeMetadata meta = session.OutputMetadata[name];
                    long[] dims = meta.Dimensions.Select((d, i) => d >= 0 ? d : i == 0 ? batch : -1L).ToArray();
                    if (meta.IsTensor && dims.All(d => d >= 0))
                    {
                        OrtValue value = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, meta.ElementDataType, dims);
                        outputs.Add(value);
                        binding.BindOutput(name, value);
                    }
                    else
                    {
                        // a shape only the run can tell: ONNX Runtime allocates it on the host
                        binding.BindOutputToDevice(name, OrtMemoryInfo.DefaultInstance);
                    }
                }
            }
            binding.SynchronizeBoundInputs();

            double first = TimeRun(session, runOptions, binding);
            for (int i = 0; i < options.Warmup; i++)
            {
                cancel.ThrowIfCancellationRequested();
                TimeRun(session, runOptions, binding);
            }

            var times = new List<double>(options.Repeats);
            int planned = options.Duration is null ? options.Repeats : 0;
            long deadline = options.Duration is { } d ? Stopwatch.GetTimestamp() + (long)(d.TotalSeconds * Stopwatch.Frequency) : long.MaxValue;
            while (options.Duration is null ? times.Count < options.Repeats : times.Count == 0 || Stopwatch.GetTimestamp() < deadline)
            {
                cancel.ThrowIfCancellationRequested();
                times.Add(TimeRun(session, runOptions, binding));
                progress?.Invoke(times.Count, planned);
            }
            return new LatencyResult(first, LatencyStats.From(times, (int)batch)) { Samples = times };
        }
        finally
        {
            foreach (OrtValue v in outputs) v.Dispose();
            deviceMemory?.Dispose();
        }
    }

    private static double TimeRun(InferenceSession session, RunOptions runOptions, OrtIoBinding binding)
    {
        long start = Stopwatch.GetTimestamp();
        session.RunWithBinding(runOptions, binding);
        binding.SynchronizeBoundOutputs();
        return Stopwatch.GetElapsedTime(start).TotalMilliseconds;
    }
}
