using Onnx;
using static SpiKernel.Core.OnnxFormat.OnnxHelper;

namespace SpiKernel.Pipeline.Bench;

/// <summary>
/// A copy of an exported graph without its convolutions, for <c>bench export --without-conv</c>: what the file costs
/// when every convolution takes no time. Each <c>Conv</c> and <c>QLinearConv</c> that keeps the spatial size (stride 1,
/// "same" padding) becomes an <c>Identity</c> of its input (ONNX Runtime removes those), or — where it changes the
/// channel count — a <c>Slice</c> of the first channel <c>Expand</c>ed to the output channels; everything else (LIF
/// updates, BatchNorm rescaling, dequantisation, casts, pooling, linear layers, spike counts) stays as it was. The stem,
/// which reads the image in both precisions, and any convolution that changes the spatial size are kept. The values
/// are meaningless; the work per node is not, and elementwise work does not depend on values.
/// </summary>
internal static class ConvolutionFreeGraph
{
    /// <summary>The copy, and how many convolutions it removed and kept.</summary>
    public static (ModelProto Model, int Removed, int Kept) Strip(ModelProto model)
    {
        ArgumentNullException.ThrowIfNull(model);
        ModelProto copy = model.Clone();
        GraphProto g = copy.Graph;
        var dims = WeightShapes(g);
        var graphInputs = g.Input.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        var nodes = new List<NodeProto>(g.Node.Count);
        int removed = 0, kept = 0;
        foreach (NodeProto n in g.Node)
        {
            int weight = n.OpType switch { "Conv" => 1, "QLinearConv" => 3, _ => -1 };
            if (weight < 0 || graphInputs.Contains(n.Input[0]) || !dims.ContainsKey(n.Input[weight]) || !KeepsSize(n, dims[n.Input[weight]]))
            {
                if (weight >= 0) kept++;
                nodes.Add(n);
                continue;
            }
            long[] w = dims[n.Input[weight]];
            long inputs = w[1] * Int(n, "group", 1), outputs = w[0];
            if (inputs == outputs)
            {
                nodes.Add(Node("Identity", [n.Input[0]], n.Output, n.Name));
            }
            else
            {
                string first = $"{n.Name}/first_channel";
                nodes.Add(Node("Slice", [n.Input[0], Constant(g, "free.zero", 0), Constant(g, "free.one", 1), Constant(g, "free.one", 1)], [first], first));
                nodes.Add(Node("Expand", [first, Constant(g, $"free.channels.{outputs}", 1, outputs, 1, 1)], n.Output, n.Name));
            }
            removed++;
        }
        g.Node.Clear();
        g.Node.AddRange(nodes);
        var used = nodes.SelectMany(n => n.Input).ToHashSet(StringComparer.Ordinal);
        var unused = g.Initializer.Where(t => !used.Contains(t.Name)).ToList();
        foreach (TensorProto t in unused) g.Initializer.Remove(t);
        return (copy, removed, kept);
    }

    /// <summary>
    /// The shapes of the initializers and of what the exports compute from them in the graph before ONNX Runtime folds
    /// it: a <c>Mul</c> of two known shapes (step layout: weight · that timestep's BatchNorm scale) and a <c>Reshape</c> to
    /// a constant shape (batched layout: the grouped weights of all timesteps). A weight computed otherwise keeps its
    /// convolution, which <c>bench export</c> reports as an error rather than time it as "the rest".
    /// </summary>
    private static Dictionary<string, long[]> WeightShapes(GraphProto g)
    {
        var shapes = g.Initializer.ToDictionary(t => t.Name, t => t.Dims.ToArray(), StringComparer.Ordinal);
        var int64 = g.Initializer.Where(t => t.DataType == (int)TensorProto.Types.DataType.Int64).ToDictionary(t => t.Name, Int64Values, StringComparer.Ordinal);
        foreach (NodeProto n in g.Node)
        {
            if (n.OpType == "Reshape" && int64.TryGetValue(n.Input[1], out long[]? shape) && shape.All(d => d > 0))
                shapes[n.Output[0]] = shape;
            else if (n.OpType == "Mul" && shapes.TryGetValue(n.Input[0], out long[]? a) && shapes.TryGetValue(n.Input[1], out long[]? b)
                && Broadcast(a, b) is { } product)
                shapes[n.Output[0]] = product;
        }
        return shapes;
    }

    /// <summary>The shape two shapes broadcast to (numpy rules), or null when they do not.</summary>
    private static long[]? Broadcast(long[] a, long[] b)
    {
        int rank = Math.Max(a.Length, b.Length);
        var result = new long[rank];
        for (int i = 1; i <= rank; i++)
        {
            long x = i <= a.Length ? a[^i] : 1, y = i <= b.Length ? b[^i] : 1;
            if (x != y && x != 1 && y != 1) return null;
            result[^i] = Math.Max(x, y);
        }
        return result;
    }

    private static long[] Int64Values(TensorProto t) => t.RawData.IsEmpty
        ? t.Int64Data.ToArray()
        : System.Runtime.InteropServices.MemoryMarshal.Cast<byte, long>(t.RawData.Span).ToArray();

    /// <summary>Whether the convolution keeps height and width: odd kernel, stride and dilation 1, padding k/2 on every side.</summary>
    private static bool KeepsSize(NodeProto conv, long[] weight)
    {
        long kh = weight[2], kw = weight[3];
        return kh % 2 == 1 && kw % 2 == 1
            && Ints(conv, "strides", 2).All(s => s == 1) && Ints(conv, "dilations", 2).All(d => d == 1)
            && Ints(conv, "pads", 4).SequenceEqual([kh / 2, kw / 2, kh / 2, kw / 2])
            && !conv.Attribute.Any(a => a.Name == "auto_pad" && a.S.ToStringUtf8() is not ("" or "NOTSET"));
    }

    private static long Int(NodeProto n, string name, long fallback) => n.Attribute.FirstOrDefault(a => a.Name == name)?.I ?? fallback;

    private static long[] Ints(NodeProto n, string name, int count) =>
        n.Attribute.FirstOrDefault(a => a.Name == name) is { } a ? a.Ints.ToArray() : Enumerable.Repeat(name == "pads" ? 0L : 1L, count).ToArray();

    private static string Constant(GraphProto g, string name, params long[] values)
    {
        if (!g.Initializer.Any(t => t.Name == name)) g.Initializer.Add(Int64Tensor(name, [values.Length], values));
        return name;
    }
}
