using System.Globalization;
using Onnx;
using SpiKernel.Core;
using SpiKernel.Exporters;
using SpiKernel.Models.Architecture;
using SpiKernel.Models.Network;

namespace SpiKernel.Pipeline.Prediction;

/// <summary>
/// The features a latency predictor sees for one exported model: its architecture (from the <c>spikernel.*</c>
/// metadata the exporter writes: T, input size, channels, hidden width, cell edges per kernel size, MACs, parameters),
/// how it was exported (layout, precision) and its graph (nodes per ONNX operator type). The same function reads a
/// measured file and an architecture exported in memory, so a candidate that was never written to disk gets exactly
/// the features its file would have. <see cref="Names"/> is the schema stored with a trained predictor.
/// </summary>
internal static class LatencyFeatures
{
    /// <summary>The ONNX operator types the exporter emits, each counted as its own feature; anything else is <c>ops_other</c>.</summary>
    public static IReadOnlyList<string> OperatorTypes { get; } =
    [
        "Add", "AveragePool", "Cast", "Concat", "ConstantOfShape", "Conv", "DequantizeLinear", "Div", "Flatten", "Gemm",
        "GreaterOrEqual", "MatMulInteger", "Mul", "QLinearConv", "QuantizeLinear", "ReduceMean", "ReduceSum", "Reshape",
        "Shape", "Slice", "Split", "Sub", "Sum", "Where",
    ];

    private static readonly string[] Fixed =
    [
        "timesteps", "input_pixels", "cell1_channels", "cell2_channels", "cell1_pixels", "cell2_pixels", "hidden",
        "backward_cell", "layout_batched", "precision_int8", "edges_conv1", "edges_conv3", "edges_conv5", "edges_conv7",
        "edges_conv_larger", "edges_skip", "edges_avgpool", "max_kernel", "macs", "parameters", "graph_nodes",
    ];

    /// <summary>Feature names in vector order.</summary>
    public static IReadOnlyList<string> Names { get; } =
        [.. Fixed, .. OperatorTypes.Select(t => "ops_" + CsvName(t)), "ops_other"];

    /// <summary>Index of <c>macs</c> in the vector (the baseline's one feature).</summary>
    public static int MacsIndex { get; } = Array.IndexOf(Fixed, "macs");

    /// <summary>The timestep layouts of the files whose features are <paramref name="features"/>, comma-separated (<c>batched,step</c>).</summary>
    public static string Layouts(IEnumerable<float[]> features)
    {
        int batched = Array.IndexOf(Fixed, "layout_batched");
        return string.Join(',', features.Select(f => f[batched] > 0.5f ? "batched" : "step").Distinct().Order(StringComparer.Ordinal));
    }

    /// <summary>
    /// The features of an exported SpiKernel model. Throws <see cref="InvalidDataException"/> when the model carries no
    /// <c>spikernel.architecture</c> metadata (it is not a SpiKernel export).
    /// </summary>
    public static float[] Of(ModelProto model)
    {
        ArgumentNullException.ThrowIfNull(model);
        Dictionary<string, string> meta = model.MetadataProps.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        if (!meta.TryGetValue(MetadataKeys.Architecture, out string? text))
            throw new InvalidDataException($"no {MetadataKeys.Architecture} metadata: not a SpiKernel export");
        SnnArchitecture arch = SnnArchitecture.Parse(text);
        MacroConfig m = arch.Macro;
        (int h1, int w1) = m.StemSize;
        (int h2, int w2) = m.Cell2Size;
        var edges = new Dictionary<string, int>(StringComparer.Ordinal);
        int maxKernel = 0;
        CellTopology cell = arch.EffectiveCell;
        for (int i = 0; i < CellTopology.Nodes; i++)
            for (int j = 0; j < CellTopology.Nodes; j++)
            {
                CellOp op = arch.Kernels.Operation(cell[i, j]);
                string key = op.Kind switch
                {
                    CellOpKind.Conv when op.Kernel <= 7 => "edges_conv" + op.Kernel.ToString(CultureInfo.InvariantCulture),
                    CellOpKind.Conv => "edges_conv_larger",
                    CellOpKind.Skip => "edges_skip",
                    CellOpKind.AvgPool => "edges_avgpool",
                    _ => "",
                };
                if (key.Length > 0) edges[key] = edges.GetValueOrDefault(key) + 1;
                if (op.Kind == CellOpKind.Conv) maxKernel = Math.Max(maxKernel, op.Kernel);
            }

        var values = new Dictionary<string, double>(StringComparer.Ordinal)
        {
            ["timesteps"] = m.Timesteps,
            ["input_pixels"] = (double)m.InChannels * m.Height * m.Width,
            ["cell1_channels"] = m.Cell1Channels,
            ["cell2_channels"] = m.Cell2Channels,
            ["cell1_pixels"] = (double)h1 * w1,
            ["cell2_pixels"] = (double)h2 * w2,
            ["hidden"] = m.Hidden,
            ["backward_cell"] = cell.IsBackward ? 1 : 0,
            ["layout_batched"] = meta.GetValueOrDefault(MetadataKeys.Layout) == "step" ? 0 : 1,
            ["precision_int8"] = meta.GetValueOrDefault(MetadataKeys.Precision) == "int8" ? 1 : 0,
            ["max_kernel"] = maxKernel,
            ["macs"] = arch.MacCount(),
            ["parameters"] = arch.ParameterCount(),
            ["graph_nodes"] = model.Graph.Node.Count,
        };
        foreach ((string key, int count) in edges) values[key] = count;
        foreach (NodeProto node in model.Graph.Node)
        {
            string key = OperatorTypes.Contains(node.OpType) ? "ops_" + CsvName(node.OpType) : "ops_other";
            values[key] = values.GetValueOrDefault(key) + 1;
        }
        return Names.Select(n => (float)values.GetValueOrDefault(n)).ToArray();
    }

    /// <summary>The features <paramref name="arch"/> would have exported with <paramref name="options"/> (fresh weights, exported in memory).</summary>
    public static float[] Of(SnnArchitecture arch, ExportOptions options)
    {
        ArgumentNullException.ThrowIfNull(arch);
        using var net = new SpikingNetwork(arch.Validated());
        return Of(SnnOnnxExporter.Export(net, options));
    }

    /// <summary>The features of the ONNX file at <paramref name="path"/>.</summary>
    public static float[] OfFile(string path)
    {
        ModelProto model;
        try
        {
            model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        }
        catch (Google.Protobuf.InvalidProtocolBufferException ex)
        {
            throw new InvalidDataException($"{path}: not an ONNX model ({ex.Message})", ex);
        }
        try
        {
            return Of(model);
        }
        catch (InvalidDataException ex)
        {
            throw new InvalidDataException($"{path}: {ex.Message}", ex);
        }
    }

    private static string CsvName(string opType) => Core.Csv.CsvFormat.ToSnakeCase(opType);
}
