using Microsoft.ML.OnnxRuntime;

namespace SpiKernel.Evaluators.Providers;

/// <summary>
/// Creates ONNX Runtime's process-wide environment with logging at FATAL, before anything else touches it: provider
/// failures reach us as exceptions (and then CSV reasons), so ORT's own stderr lines would only break the tool's
/// one-line errors.
/// </summary>
internal static class QuietOrtEnvironment
{
    private static readonly Lazy<OrtEnv> Instance = new(() =>
    {
        var options = new EnvironmentCreationOptions { logId = "spikernel", logLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL };
        try
        {
            return OrtEnv.CreateInstanceWithOptions(ref options);
        }
        catch (OnnxRuntimeException)
        {
            // something in this process made the environment first (e.g. an export verification); keep it
            return OrtEnv.Instance();
        }
    });

    /// <summary>The environment (created on first call).</summary>
    public static OrtEnv Get() => Instance.Value;
}
