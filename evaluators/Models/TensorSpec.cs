using System.Globalization;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Onnx;

namespace SpiKernel.Evaluators.Models;

/// <summary>One model input as ONNX Runtime declares it.</summary>
/// <param name="Name">Input name.</param>
/// <param name="IsTensor">False for sequence, map and optional inputs (not fed by this tool).</param>
/// <param name="ElementType">Element type (meaningful for tensors).</param>
/// <param name="Dims">Dimensions, -1 where symbolic.</param>
/// <param name="Symbols">The symbolic name of each dimension ("" where fixed or unnamed).</param>
public sealed record TensorSpec(string Name, bool IsTensor, TensorElementType ElementType, long[] Dims, string[] Symbols)
{
    /// <summary>
    /// For an integer input the graph uses as indices into a dimension of known size (the data of a <c>Gather</c> is a
    /// weight, as in an embedding): that size; seeded values stay below it. Null when the graph does not tell.
    /// </summary>
    public long? IndexLimit { get; init; }

    /// <summary>"[batch, 3, 32, 32]": sizes where fixed, names (or ?) where symbolic.</summary>
    public string DimsText => $"[{string.Join(", ", Dims.Select((d, i) => d >= 0 ? d.ToString(CultureInfo.InvariantCulture) : Symbols[i].Length > 0 ? Symbols[i] : "?"))}]";

    /// <summary>The spec of ONNX Runtime's <paramref name="meta"/> for input <paramref name="name"/>.</summary>
    internal static TensorSpec Of(string name, NodeMetadata meta, IReadOnlyDictionary<string, long> indexLimits)
    {
        if (!meta.IsTensor) return new TensorSpec(name, false, default, [], []);
        long[] dims = meta.Dimensions.Select(d => (long)d).ToArray();
        string[] symbols = meta.SymbolicDimensions.Length == dims.Length ? meta.SymbolicDimensions : new string[dims.Length].Select(_ => "").ToArray();
        return new TensorSpec(name, true, meta.ElementDataType, dims, symbols)
        {
            IndexLimit = indexLimits.TryGetValue(name, out long limit) ? limit : null,
        };
    }

    /// <summary>
    /// Graph inputs that are the indices of a <c>Gather</c> whose data is a constant (an initializer or a
    /// <c>Constant</c> node), with the size of the gathered dimension; the smallest when several.
    /// </summary>
    internal static Dictionary<string, long> IndexLimits(GraphProto graph)
    {
        var constants = new Dictionary<string, long[]>(StringComparer.Ordinal);
        foreach (TensorProto t in graph.Initializer) constants[t.Name] = t.Dims.ToArray(); // a name given twice: the last
        foreach (NodeProto n in graph.Node.Where(n => n.OpType == "Constant" && n.Output.Count == 1))
            if (n.Attribute.FirstOrDefault(a => a.Name == "value")?.T is { } t) constants[n.Output[0]] = t.Dims.ToArray();
        var limits = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (NodeProto n in graph.Node.Where(n => n.OpType == "Gather" && n.Domain.Length == 0 && n.Input.Count == 2))
        {
            if (!constants.TryGetValue(n.Input[0], out long[]? data) || data.Length == 0) continue;
            long axis = n.Attribute.FirstOrDefault(a => a.Name == "axis")?.I ?? 0;
            if (axis < 0) axis += data.Length;
            if (axis < 0 || axis >= data.Length) continue;
            long size = data[axis];
            limits[n.Input[1]] = limits.TryGetValue(n.Input[1], out long known) ? Math.Min(known, size) : size;
        }
        return limits;
    }
}
