using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;

namespace SpiKernel.Evaluators.Providers;

/// <summary>An inference session with the options it was built from; disposing it disposes both.</summary>
public sealed class ProfileSession : IDisposable
{
    internal ProfileSession(InferenceSession session, SessionOptions options, double createMilliseconds)
    {
        Session = session;
        Options = options;
        CreateMilliseconds = createMilliseconds;
    }

    /// <summary>The session.</summary>
    public InferenceSession Session { get; }

    /// <summary>The options it was created with (owned).</summary>
    public SessionOptions Options { get; }

    /// <summary>Wall time of creating the session (model load, graph optimisation, provider initialisation).</summary>
    public double CreateMilliseconds { get; }

    /// <inheritdoc />
    public void Dispose()
    {
        Session.Dispose();
        Options.Dispose();
    }
}

/// <summary>Builds sessions for a profile; the only place session options are set.</summary>
public static class SessionFactory
{
    // whether a profile's provider makes a session here (on its device): known from a model's session, or from the probe
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> Runs = new(StringComparer.Ordinal);

    // the smallest model every provider takes: x → Relu → y, float [1], opset 17
    private static readonly byte[] Probe = Convert.FromBase64String("CAgSCXNwaWtlcm5lbDo3CgwKAXgSAXkiBFJlbHUSBXByb2JlWg8KAXgSCgoICAESBAoCCAFiDwoBeRIKCggIARIECgIIAUIECgAQEQ==");

    /// <summary>
    /// Creates a session for <paramref name="modelPath"/> under <paramref name="profile"/>. Throws
    /// <see cref="ProviderUnavailableException"/> (with ONNX Runtime's message) when the provider cannot be appended
    /// or initialised here; other failures (a model ONNX Runtime rejects) propagate as <see cref="OnnxRuntimeException"/>.
    /// </summary>
    public static ProfileSession Create(string modelPath, EvaluationProfile profile)
    {
        ArgumentNullException.ThrowIfNull(profile);
        QuietOrtEnvironment.Get();
        var options = new SessionOptions
        {
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
            IntraOpNumThreads = profile.IntraOpThreads,
            InterOpNumThreads = profile.InterOpThreads,
            ExecutionMode = profile.Mode,
            GraphOptimizationLevel = profile.Optimization,
            EnableCpuMemArena = profile.MemoryArena,
            EnableMemoryPattern = profile.MemoryPattern,
        };
        try
        {
            try
            {
                ProviderRegistry.Append(options, profile);
            }
            catch (Exception ex) when (ex is OnnxRuntimeException or NotSupportedException or EntryPointNotFoundException or DllNotFoundException)
            {
                throw new ProviderUnavailableException(profile.Provider, Reason(profile, ex), ex);
            }

            long start = Stopwatch.GetTimestamp();
            InferenceSession session;
            try
            {
                session = new InferenceSession(modelPath, options);
            }
            catch (OnnxRuntimeException ex) when (profile.CapturesGraph && ex.Message.Contains("graph capture", StringComparison.OrdinalIgnoreCase))
            {
                // the provider runs here, but not this model under capture: a failed row that says why, not a skip
                throw new NotSupportedException($"{profile.Name}: CUDA graph capture needs every node on the CUDA provider, and ONNX Runtime " +
                    $"places some of this model's on the CPU (an int8 file always: QLinearConv and uint8 MatMulInteger have no CUDA kernel); measure it with the cuda profile ({Core.Messages.OneLine(ex.Message)})", ex);
            }
            catch (OnnxRuntimeException ex) when (profile.Provider != "cpu" && !ProviderRuns(profile))
            {
                // the model already loaded on the CPU provider (ModelInfo), and the provider makes no session even for the
                // smallest model: it cannot run here. Where it does, the failure is this model's (out of GPU memory, a
                // graph TensorRT cannot parse): a failed row, not a skip
                throw new ProviderUnavailableException(profile.Provider, Reason(profile, ex), ex);
            }
            Runs[Key(profile)] = true;
            return new ProfileSession(session, options, Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }
        catch
        {
            options.Dispose();
            throw;
        }
    }

    private static string Key(EvaluationProfile p) => $"{p.Name}@{p.DeviceId}";

    // a session of the probe model under the profile's provider, once per profile and device in a process
    internal static bool ProviderRuns(EvaluationProfile profile) => Runs.GetOrAdd(Key(profile), _ =>
    {
        try
        {
            using var options = new SessionOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL };
            ProviderRegistry.Append(options, profile);
            using var session = new InferenceSession(Probe, options);
            return true;
        }
        catch (Exception ex) when (ex is OnnxRuntimeException or NotSupportedException or EntryPointNotFoundException or DllNotFoundException)
        {
            return false;
        }
    });

    private static string Reason(EvaluationProfile profile, Exception ex)
    {
        string message = ex is EntryPointNotFoundException
            ? $"this ONNX Runtime library has no {ProviderRegistry.OrtName(profile.Provider)} entry point ({ex.Message})"
            : ex.Message;
        message = Results.RowBuilder.OneLine(message);
        // older paths say only "Failed to load shared library"; add what the loader says when ORT did not
        if (!message.Contains("shared object", StringComparison.OrdinalIgnoreCase) && NativeProbe.LibraryOf(profile.Provider) is { } library && NativeProbe.WhyNotLoadable(library) is { } why)
            message = $"{message} ({why})";
        IReadOnlyList<string> available = ProviderRegistry.Available();
        if (!available.Contains(ProviderRegistry.OrtName(profile.Provider)))
            message = $"{ProviderRegistry.OrtName(profile.Provider)} is not in this ONNX Runtime build (it has {string.Join(", ", available)}): {message}";
        return message;
    }
}
