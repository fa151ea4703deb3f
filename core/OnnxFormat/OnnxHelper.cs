using Google.Protobuf;
using Onnx;

namespace SpiKernel.Core.OnnxFormat;

/// <summary>
/// Small builders in the spirit of Python's <c>onnx.helper</c>: nodes with attributes sorted by name (so the same
/// model always serialises to the same bytes), tensors whose value count must match their shape, value infos with
/// symbolic dimensions, and the model wrapper with IR version and opset.
/// </summary>
public static class OnnxHelper
{
    /// <summary>ONNX IR version written (ONNX 1.12; accepted by the widest range of deployed runtimes).</summary>
    public const long IrVersion = 8;

    /// <summary>Default-domain opset written.</summary>
    public const long Opset = 17;

    /// <summary>A node; attributes are sorted by name.</summary>
    public static NodeProto Node(string opType, IEnumerable<string> inputs, IEnumerable<string> outputs, string name,
        params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = name };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        node.Attribute.AddRange(attributes.OrderBy(a => a.Name, StringComparer.Ordinal));
        return node;
    }

    /// <summary>An integer attribute.</summary>
    public static AttributeProto Attr(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    /// <summary>A float attribute.</summary>
    public static AttributeProto Attr(string name, float value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    /// <summary>An integer-list attribute.</summary>
    public static AttributeProto Ints(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }

    /// <summary>A float32 tensor; throws when <paramref name="values"/> does not fill <paramref name="dims"/>.</summary>
    public static TensorProto FloatTensor(string name, long[] dims, float[] values) => Raw(name, dims, TensorProto.Types.DataType.Float, values);

    /// <summary>An int64 tensor; throws when <paramref name="values"/> does not fill <paramref name="dims"/>.</summary>
    public static TensorProto Int64Tensor(string name, long[] dims, long[] values) => Raw(name, dims, TensorProto.Types.DataType.Int64, values);

    /// <summary>An int32 tensor; throws when <paramref name="values"/> does not fill <paramref name="dims"/>.</summary>
    public static TensorProto Int32Tensor(string name, long[] dims, int[] values) => Raw(name, dims, TensorProto.Types.DataType.Int32, values);

    /// <summary>An int8 tensor; throws when <paramref name="values"/> does not fill <paramref name="dims"/>.</summary>
    public static TensorProto Int8Tensor(string name, long[] dims, sbyte[] values) => Raw(name, dims, TensorProto.Types.DataType.Int8, values);

    /// <summary>A uint8 tensor; throws when <paramref name="values"/> does not fill <paramref name="dims"/>.</summary>
    public static TensorProto UInt8Tensor(string name, long[] dims, byte[] values) => Raw(name, dims, TensorProto.Types.DataType.Uint8, values);

    private static TensorProto Raw<T>(string name, long[] dims, TensorProto.Types.DataType type, T[] values) where T : unmanaged
    {
        TensorProto t = Header(name, dims, type, values.Length);
        t.RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));
        return t;
    }

    private static TensorProto Header(string name, long[] dims, TensorProto.Types.DataType type, long count)
    {
        long expected = dims.Aggregate(1L, (a, d) => a * d);
        if (dims.Any(d => d < 0) || expected != count)
            throw new ArgumentException($"Tensor '{name}': {count} values do not fill shape [{string.Join(", ", dims)}] ({expected} values).");
        var t = new TensorProto { Name = name, DataType = (int)type };
        t.Dims.AddRange(dims);
        return t;
    }

    /// <summary>A tensor value info; a string dimension is symbolic (e.g. "N"), a number fixed.</summary>
    public static ValueInfoProto Value(string name, TensorProto.Types.DataType type, params object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (object d in dims)
        {
            shape.Dim.Add(d switch
            {
                string s => new TensorShapeProto.Types.Dimension { DimParam = s },
                long l => new TensorShapeProto.Types.Dimension { DimValue = l },
                int i => new TensorShapeProto.Types.Dimension { DimValue = i },
                _ => throw new ArgumentException($"Dimension {d} of '{name}' must be a string or an integer."),
            });
        }
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } },
        };
    }

    /// <summary>Wraps a graph into a model of <see cref="IrVersion"/> and <see cref="Opset"/>.</summary>
    public static ModelProto Model(GraphProto graph, string producer, string producerVersion, string docString,
        IEnumerable<KeyValuePair<string, string>> metadata)
    {
        var model = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = producer,
            ProducerVersion = producerVersion,
            DocString = docString,
            Graph = graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        foreach ((string k, string v) in metadata.OrderBy(p => p.Key, StringComparer.Ordinal))
            model.MetadataProps.Add(new StringStringEntryProto { Key = k, Value = v });
        return model;
    }

    /// <summary>Writes <paramref name="model"/> to <paramref name="path"/> atomically (no partial file on failure).</summary>
    public static void Save(ModelProto model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        AtomicFile.Write(path, stream =>
        {
            using var cos = new CodedOutputStream(stream, leaveOpen: true);
            model.WriteTo(cos);
        });
    }
}
