using Microsoft.ML.OnnxRuntime;

namespace SpiKernel.Evaluators.Providers;

/// <summary>
/// The execution providers by name, each appended to <see cref="SessionOptions"/> with its own options. Whether one
/// can run here is found out by asking ONNX Runtime (<see cref="InBuild"/>) and by trying (<see cref="SessionFactory"/>).
/// </summary>
internal static class ProviderRegistry
{
    private static readonly Dictionary<string, string> OrtNames = new(StringComparer.OrdinalIgnoreCase)
    {
        ["cpu"] = "CPUExecutionProvider",
        ["cuda"] = "CUDAExecutionProvider",
        ["tensorrt"] = "TensorrtExecutionProvider",
        ["xnnpack"] = "XnnpackExecutionProvider",
        ["openvino"] = "OpenVINOExecutionProvider",
        ["qnn"] = "QNNExecutionProvider",
        ["coreml"] = "CoreMLExecutionProvider",
        ["nnapi"] = "NnapiExecutionProvider",
    };

    /// <summary>Our provider names.</summary>
    public static IReadOnlyCollection<string> Names => OrtNames.Keys;

    /// <summary>ONNX Runtime's name of a provider (<c>cuda</c> → <c>CUDAExecutionProvider</c>).</summary>
    public static string OrtName(string provider) =>
        OrtNames.TryGetValue(provider, out string? name) ? name : throw new ArgumentException($"Unknown execution provider '{provider}'.", nameof(provider));

    /// <summary>The providers compiled into the loaded ONNX Runtime library, as it reports them.</summary>
    public static IReadOnlyList<string> Available() => QuietOrtEnvironment.Get().GetAvailableProviders();

    /// <summary>Whether the loaded ONNX Runtime was built with <paramref name="provider"/>.</summary>
    public static bool InBuild(string provider) => Available().Contains(OrtName(provider));

    /// <summary>
    /// Appends the profile's provider to <paramref name="options"/> (CPU needs nothing: it is always the fallback).
    /// Throws whatever ONNX Runtime throws when the provider cannot be loaded here.
    /// </summary>
    public static void Append(SessionOptions options, EvaluationProfile profile)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(profile);
        switch (profile.Provider)
        {
            case "cpu":
                break;
            case "cuda":
                AppendCuda(options, profile.DeviceId, profile.ProviderOptions ?? new Dictionary<string, string>());
                break;
            case "tensorrt":
                options.AppendExecutionProvider_Tensorrt(profile.DeviceId);
                // the nodes TensorRT does not take fall back to CUDA in exact fp32 (CUDA's default would be TF32)
                AppendCuda(options, profile.DeviceId, new Dictionary<string, string> { ["use_tf32"] = "0" });
                break;
            case "xnnpack":
                // XNNPACK's own pool takes every core; ONNX Runtime's session keeps one thread and does not spin beside it,
                // as ONNX Runtime's XNNPACK documentation recommends (the profile's IntraOpThreads is 1)
                options.AppendExecutionProvider("XNNPACK", new Dictionary<string, string>
                {
                    ["intra_op_num_threads"] = Environment.ProcessorCount.ToString(System.Globalization.CultureInfo.InvariantCulture),
                });
                options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
                break;
            case "openvino":
                options.AppendExecutionProvider_OpenVINO("CPU");
                break;
            case "qnn":
                options.AppendExecutionProvider("QNN", new Dictionary<string, string> { ["backend_path"] = "libQnnHtp.so" });
                break;
            case "coreml":
                options.AppendExecutionProvider_CoreML(CoreMLFlags.COREML_FLAG_USE_NONE);
                break;
            case "nnapi":
                options.AppendExecutionProvider_Nnapi(NnapiFlags.NNAPI_FLAG_USE_NONE);
                break;
            default:
                throw new ArgumentException($"Unknown execution provider '{profile.Provider}'.", nameof(profile));
        }
    }

    private static void AppendCuda(SessionOptions options, int deviceId, IReadOnlyDictionary<string, string> providerOptions)
    {
        using var cuda = new OrtCUDAProviderOptions();
        var settings = new Dictionary<string, string>(providerOptions)
        {
            ["device_id"] = deviceId.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        cuda.UpdateOptions(settings);
        options.AppendExecutionProvider_CUDA(cuda);
    }
}
