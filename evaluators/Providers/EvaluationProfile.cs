using SpiKernel.Core;
using Microsoft.ML.OnnxRuntime;

namespace SpiKernel.Evaluators.Providers;

/// <summary>
/// A named way to run a model: one execution provider plus the session settings that go with it. Every setting is
/// recorded in the results so a figure can be reproduced.
/// </summary>
/// <param name="Name">What <c>--providers</c> calls it (<c>cpu</c>, <c>edge</c>, <c>cuda</c>, …).</param>
/// <param name="Provider">The execution provider it appends (<see cref="ProviderRegistry"/>).</param>
/// <param name="Description">One line for help and reports.</param>
/// <param name="IntraOpThreads">Threads inside an operator (0: ONNX Runtime's default).</param>
/// <param name="InterOpThreads">Threads across operators (used in parallel mode only).</param>
/// <param name="Mode">Sequential or parallel execution of independent nodes.</param>
/// <param name="Optimization">Graph optimisation level.</param>
/// <param name="MemoryArena">Whether the CPU memory arena is on.</param>
/// <param name="MemoryPattern">Whether memory-pattern planning is on.</param>
/// <param name="DeviceId">Accelerator index (CUDA, TensorRT).</param>
/// <param name="OutputsOnDevice">Outputs bound to device memory, so no device-to-host copy is timed.</param>
/// <param name="PreferInt8">Use a model's int8 variant (<c>NAME.int8.onnx</c>) when one exists.</param>
/// <param name="ProviderOptions">Provider-specific options passed to the provider as they are (CUDA's <c>use_tf32</c>, …).</param>
public sealed record EvaluationProfile(
    string Name,
    string Provider,
    string Description,
    int IntraOpThreads,
    int InterOpThreads = 1,
    ExecutionMode Mode = ExecutionMode.ORT_SEQUENTIAL,
    GraphOptimizationLevel Optimization = GraphOptimizationLevel.ORT_ENABLE_ALL,
    bool MemoryArena = true,
    bool MemoryPattern = true,
    int DeviceId = 0,
    bool OutputsOnDevice = false,
    bool PreferInt8 = false,
    IReadOnlyDictionary<string, string>? ProviderOptions = null)
{
    /// <summary>Whether the provider captures and replays CUDA graphs (<c>enable_cuda_graph=1</c>): see Measurement.GraphRuns.</summary>
    public bool CapturesGraph => ProviderOptions?.GetValueOrDefault("enable_cuda_graph") == "1";

    /// <summary>This profile on accelerator <paramref name="deviceId"/> where its provider runs on one (CUDA, TensorRT); others as they are.</summary>
    public EvaluationProfile OnDevice(int deviceId) => Provider is "cuda" or "tensorrt" ? this with { DeviceId = deviceId } : this;

    /// <summary>The profiles <c>--providers</c> knows, in the order they are listed.</summary>
    public static IReadOnlyList<EvaluationProfile> Known { get; } =
    [
        new("cpu", "cpu", "CPU provider, one intra-op thread per logical processor, graph optimisations on", Environment.ProcessorCount),
        new("edge", "cpu", "embedded-class budget: CPU provider, 1 thread, sequential, memory arena and patterns off, int8 weights where available",
            1, MemoryArena: false, MemoryPattern: false, PreferInt8: true),
        // spikes are thresholds: TF32's 10-bit mantissa flips some, so the default keeps the exported model's fp32 semantics
        new("cuda", "cuda", "CUDA provider on GPU 0, exact fp32 (TF32 off), outputs kept on the device", 1, OutputsOnDevice: true,
            ProviderOptions: new SortedDictionary<string, string>(StringComparer.Ordinal) { ["use_tf32"] = "0" }),
        // a small network at batch 1 is launch-bound on a GPU: one captured graph replaces its hundreds of kernel launches
        new("cuda-graph", "cuda", "CUDA provider on GPU 0 with CUDA graph capture (one graph launch per run), exact fp32, input and outputs kept on the device", 1,
            OutputsOnDevice: true,
            ProviderOptions: new SortedDictionary<string, string>(StringComparer.Ordinal) { ["enable_cuda_graph"] = "1", ["use_tf32"] = "0" }),
        new("cuda-tf32", "cuda", "CUDA provider on GPU 0 with TF32 tensor-core math (faster on Ampere and later, less exact)", 1, OutputsOnDevice: true,
            ProviderOptions: new SortedDictionary<string, string>(StringComparer.Ordinal) { ["use_tf32"] = "1" }),
        new("tensorrt", "tensorrt", "TensorRT provider on GPU 0 (CUDA for what TensorRT cannot take), outputs kept on the device", 1, OutputsOnDevice: true),
        new("xnnpack", "xnnpack", "XNNPACK provider (Arm/x86 mobile kernels), its own pool on all cores, one session thread", 1),
        new("openvino", "openvino", "OpenVINO provider on its CPU device", Environment.ProcessorCount),
        new("qnn", "qnn", "Qualcomm QNN provider, HTP (NPU) backend", 1),
        new("coreml", "coreml", "Apple Core ML provider", 1),
        new("nnapi", "nnapi", "Android NNAPI provider", 1),
    ];

    /// <summary>The default of <c>--providers</c>: every profile, so the table shows what runs here and why the rest cannot.</summary>
    public static string DefaultList => string.Join(',', Known.Select(p => p.Name));

    /// <summary>Finds a profile by name (case-insensitive); throws <see cref="ArgumentException"/> listing the known names.</summary>
    public static EvaluationProfile Find(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return Known.FirstOrDefault(p => string.Equals(p.Name, name.Trim(), StringComparison.OrdinalIgnoreCase))
               ?? throw new SettingsException($"Unknown provider or profile '{name.Trim()}'; known: {DefaultList}.");
    }

    /// <summary>
    /// Parses a comma-separated list (<c>cpu,edge,cuda</c>); duplicates are dropped, order kept. <paramref name="option"/>
    /// is the option or key the list came from, as an empty list's refusal names it.
    /// </summary>
    public static IReadOnlyList<EvaluationProfile> ParseList(string list, string option = "--providers")
    {
        ArgumentNullException.ThrowIfNull(list);
        string[] names = list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (names.Length == 0) throw new SettingsException($"{option} names no provider or profile.");
        return names.Select(Find).Distinct().ToArray();
    }

    /// <summary>Provider options as the CSV writes them: <c>key=value</c> pairs joined by <c>;</c>, sorted.</summary>
    public string ProviderOptionsText =>
        ProviderOptions is null ? "" : string.Join(';', ProviderOptions.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={p.Value}"));

    /// <summary>Execution mode as the CSV writes it.</summary>
    public string ModeText => Mode == ExecutionMode.ORT_PARALLEL ? "parallel" : "sequential";

    /// <summary>Optimisation level as the CSV writes it.</summary>
    public string OptimizationText => Optimization switch
    {
        GraphOptimizationLevel.ORT_DISABLE_ALL => "disabled",
        GraphOptimizationLevel.ORT_ENABLE_BASIC => "basic",
        GraphOptimizationLevel.ORT_ENABLE_EXTENDED => "extended",
        _ => "all",
    };
}
