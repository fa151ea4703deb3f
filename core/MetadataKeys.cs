namespace SpiKernel.Core;

/// <summary>
/// The <c>spikernel.*</c> metadata keys of an exported ONNX file: the exporter writes them, the evaluator reads
/// them; both use these constants, so the two sides cannot drift apart.
/// </summary>
public static class MetadataKeys
{
    /// <summary>Prefix of every key.</summary>
    public const string Prefix = "spikernel.";

    /// <summary>Canonical architecture text (<c>SnnArchitecture.ToString()</c>).</summary>
    public const string Architecture = "spikernel.architecture";

    /// <summary>Short stable id of the architecture (<see cref="SpiKernel.Core.CandidateId"/>).</summary>
    public const string CandidateId = "spikernel.candidate_id";

    /// <summary>Kernel-size set, e.g. 1,3.</summary>
    public const string Kernels = "spikernel.kernels";

    /// <summary>Cell connection matrix.</summary>
    public const string Cell = "spikernel.cell";

    /// <summary>forward or backward.</summary>
    public const string CellType = "spikernel.cell_type";

    /// <summary>Timesteps T.</summary>
    public const string Timesteps = "spikernel.timesteps";

    /// <summary>Exact trainable parameter count.</summary>
    public const string Parameters = "spikernel.parameters";

    /// <summary>LIF constants, key=value separated by spaces.</summary>
    public const string Lif = "spikernel.lif";

    /// <summary>batched or step.</summary>
    public const string Layout = "spikernel.layout";

    /// <summary>float32 or int8.</summary>
    public const string Precision = "spikernel.precision";

    /// <summary>LIF layer paths in <c>spike_counts</c> order, comma-separated.</summary>
    public const string SpikeLayers = "spikernel.spike_layers";

    /// <summary>Neurons per timestep of each spike layer, comma-separated.</summary>
    public const string SpikeLayerNeurons = "spikernel.spike_layer_neurons";

    /// <summary>Synaptic operations per spike of each spike layer, comma-separated.</summary>
    public const string SpikeLayerFanOut = "spikernel.spike_layer_fanout";

    /// <summary>
    /// Timesteps each spike layer runs per inference, comma-separated: T, or T − 1 for a backward cell's feedback edges
    /// (absent in files exported before it was recorded: read as T for every layer).
    /// </summary>
    public const string SpikeLayerSteps = "spikernel.spike_layer_steps";

    /// <summary>MACs of the stem (real-valued input).</summary>
    public const string FirstLayerMacs = "spikernel.first_layer_macs";

    /// <summary>MACs of the equivalent non-spiking network per image.</summary>
    public const string AnnMacs = "spikernel.ann_macs";

    /// <summary>The SpiKernel.Onnx version that wrote the file.</summary>
    public const string ToolVersion = "spikernel.tool_version";

    /// <summary>The exporter's format (<c>SnnOnnxExporter.FormatVersion</c>): which graph and numbers it writes.</summary>
    public const string ExportFormat = "spikernel.export_format";

    /// <summary>A sentence on how to feed the input.</summary>
    public const string InputLayout = "spikernel.input_layout";

    /// <summary>Input normalisation mean per channel, comma-separated.</summary>
    public const string NormalizationMean = "spikernel.normalization.mean";

    /// <summary>Input normalisation std per channel, comma-separated.</summary>
    public const string NormalizationStd = "spikernel.normalization.std";

    /// <summary>Class names by label, newline-separated.</summary>
    public const string ClassNames = "spikernel.class_names";

    /// <summary>The data the model was trained on (<c>embedded</c> or a folder).</summary>
    public const string Dataset = "spikernel.dataset";

    /// <summary>TorchSharp test accuracy of the trained float network at training time (0–1); an int8 file carries the same value, the accuracy its quantisation starts from.</summary>
    public const string TestAccuracy = "spikernel.test_accuracy";
}
