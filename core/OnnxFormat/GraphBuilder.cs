using Onnx;
using static SpiKernel.Core.OnnxFormat.OnnxHelper;

namespace SpiKernel.Core.OnnxFormat;

/// <summary>
/// Accumulates nodes and initializers in emission (topological) order. Every node's single output carries the
/// node's name, so a value in Netron is found by the module path that produced it. <see cref="Build"/> drops
/// whatever the graph outputs do not depend on (for example the membrane update after a layer's last timestep).
/// </summary>
public sealed class GraphBuilder
{
    private readonly List<NodeProto> _nodes = [];
    private readonly List<TensorProto> _initializers = [];
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _constants = new(StringComparer.Ordinal);

    /// <summary>A name not used yet, derived from <paramref name="wanted"/>.</summary>
    public string Unique(string wanted)
    {
        if (_names.Add(wanted)) return wanted;
        for (int i = 2; ; i++)
        {
            string candidate = $"{wanted}_{i}";
            if (_names.Add(candidate)) return candidate;
        }
    }

    /// <summary>Adds a one-output node named (and with output named) after <paramref name="name"/>.</summary>
    public string Op(string opType, string name, IEnumerable<string> inputs, params AttributeProto[] attributes)
    {
        string output = Unique(name);
        _nodes.Add(Node(opType, inputs, [output], output, attributes));
        return output;
    }

    /// <summary>Adds a node whose outputs are given explicitly (graph outputs, multi-output ops).</summary>
    public void OpTo(string opType, string name, IEnumerable<string> inputs, IReadOnlyList<string> outputs, params AttributeProto[] attributes)
    {
        foreach (string o in outputs) _names.Add(o);
        _nodes.Add(Node(opType, inputs, outputs, Unique(name), attributes));
    }

    /// <summary>Adds an initializer under its own name (which must be new).</summary>
    public string Initializer(TensorProto tensor)
    {
        if (!_names.Add(tensor.Name)) throw new InvalidOperationException($"Initializer name '{tensor.Name}' is used twice.");
        _initializers.Add(tensor);
        return tensor.Name;
    }

    /// <summary>A float32 scalar constant, shared by every node that needs the same value under the same name.</summary>
    public string Scalar(string name, float value)
    {
        string key = $"{name}={BitConverter.SingleToInt32Bits(value)}";
        if (_constants.TryGetValue(key, out string? existing)) return existing;
        string n = Unique(name);
        _initializers.Add(FloatTensor(n, [], [value]));
        _constants[key] = n;
        return n;
    }

    /// <summary>An int64 vector constant, shared like <see cref="Scalar"/>.</summary>
    public string Int64s(string name, params long[] values)
    {
        string key = $"{name}=[{string.Join(',', values)}]";
        if (_constants.TryGetValue(key, out string? existing)) return existing;
        string n = Unique(name);
        _initializers.Add(Int64Tensor(n, [values.Length], values));
        _constants[key] = n;
        return n;
    }

    /// <summary>The graph with unused nodes and initializers removed.</summary>
    public GraphProto Build(string name, IEnumerable<ValueInfoProto> inputs, IReadOnlyList<ValueInfoProto> outputs)
    {
        var needed = new HashSet<string>(outputs.Select(o => o.Name), StringComparer.Ordinal);
        var keep = new bool[_nodes.Count];
        for (int i = _nodes.Count - 1; i >= 0; i--)
        {
            if (!_nodes[i].Output.Any(needed.Contains)) continue;
            keep[i] = true;
            foreach (string input in _nodes[i].Input) needed.Add(input);
        }
        var graph = new GraphProto { Name = name };
        graph.Input.AddRange(inputs);
        graph.Output.AddRange(outputs);
        graph.Node.AddRange(_nodes.Where((_, i) => keep[i]));
        graph.Initializer.AddRange(_initializers.Where(t => needed.Contains(t.Name)));
        return graph;
    }
}
