using System.Globalization;
using System.Security.Cryptography;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using SpiKernel.Evaluators.Providers;
using Microsoft.ML.OnnxRuntime.Tensors;
using Onnx;
using SpiKernel.Core;

namespace SpiKernel.Evaluators.Models;

/// <summary>
/// What an ONNX file is, read once before any measurement: its size, weights, inputs and outputs, precision and —
/// for models exported by SpiKernel — the facts in its metadata. Loading it proves ONNX Runtime accepts the file.
/// </summary>
public sealed record ModelInfo
{
    /// <summary>The file.</summary>
    public required string Path { get; init; }

    /// <summary>File name without <c>.onnx</c> (and without <c>.int8</c> for int8 variants).</summary>
    public required string Name { get; init; }

    /// <summary>File size in bytes.</summary>
    public required long FileBytes { get; init; }

    /// <summary>First 12 hex digits of the file's SHA-256, with its external data files (<see cref="HashOf(string)"/>).</summary>
    public required string Sha256 { get; init; }

    /// <summary>Weights: elements of the initializers that are weights (quantisation scales and zero points excluded).</summary>
    public required long Parameters { get; init; }

    /// <summary>Bytes of all initializer data.</summary>
    public required long WeightBytes { get; init; }

    /// <summary><c>fp32</c>, <c>fp16</c> or <c>int8</c> (the storage of the largest weights).</summary>
    public required string Precision { get; init; }

    /// <summary>Every input ONNX Runtime asks for (initializers excluded), in graph order.</summary>
    public required IReadOnlyList<TensorSpec> Inputs { get; init; }

    /// <summary>The first input (the image input of a classifier); "" for a model without inputs.</summary>
    public string InputName => Inputs.Count > 0 ? Inputs[0].Name : "";

    /// <summary>The first input's dimensions, -1 where symbolic.</summary>
    public long[] InputDims => Inputs.Count > 0 ? Inputs[0].Dims : [];

    /// <summary>The class-score output (<c>logits</c> where present, else the first output).</summary>
    public required string LogitsName { get; init; }

    /// <summary>Every output name, in graph order.</summary>
    public required IReadOnlyList<string> OutputNames { get; init; }

    /// <summary>Outputs whose type is an optional value: not fetched, so such a model is a failed row.</summary>
    public IReadOnlyList<string> OptionalOutputs { get; init; } = [];

    /// <summary>The per-layer spike-count output, when the model has one.</summary>
    public string? SpikeCountsName { get; init; }

    /// <summary>Metadata properties.</summary>
    public required IReadOnlyDictionary<string, string> Metadata { get; init; }

    /// <summary>SpiKernel facts from the metadata, null for other models.</summary>
    public SnnFacts? Snn { get; init; }

    /// <summary>
    /// The file's <see cref="Sha256"/>: the first 12 hex digits of the SHA-256 of its bytes, followed — where its tensors
    /// keep their data in external files beside it — by each such file's name and bytes (<see cref="ExternalData"/>).
    /// </summary>
    public static string HashOf(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        byte[] bytes = File.ReadAllBytes(path);
        ModelProto? proto = null; // not a model, or one whose bytes do not hold the key of an external data file: its bytes alone
        if (bytes.AsSpan().IndexOf("location"u8) >= 0)
        {
            try
            {
                proto = ModelProto.Parser.ParseFrom(bytes);
            }
            catch (InvalidProtocolBufferException)
            {
            }
        }
        return HashOf(path, bytes, proto);
    }

    // a model whose weights lie in a file beside it and changed there is another model, though its .onnx bytes are the same
    private static string HashOf(string path, byte[] bytes, ModelProto? proto)
    {
        string[] external = proto is null ? [] : ExternalData(proto);
        if (external.Length == 0) return Convert.ToHexStringLower(SHA256.HashData(bytes))[..12];
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(bytes);
        string folder = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;
        byte[] buffer = new byte[1 << 16];
        foreach (string location in external)
        {
            hash.AppendData(System.Text.Encoding.UTF8.GetBytes(location + "\0"));
            string file = System.IO.Path.Combine(folder, location);
            if (!File.Exists(file)) continue; // loading the model names what is missing
            using FileStream data = File.OpenRead(file);
            for (int n; (n = data.Read(buffer)) > 0;) hash.AppendData(buffer, 0, n);
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset())[..12];
    }

    /// <summary>The external data files (ONNX <c>location</c>, relative to the model's folder) the model's tensors name, in ordinal order.</summary>
    private static string[] ExternalData(ModelProto proto)
    {
        var files = new SortedSet<string>(StringComparer.Ordinal);
        void Tensor(TensorProto t)
        {
            if (t.DataLocation != TensorProto.Types.DataLocation.External) return;
            foreach (StringStringEntryProto e in t.ExternalData)
                if (e.Key == "location") files.Add(e.Value);
        }
        void Sparse(SparseTensorProto? s)
        {
            if (s?.Values is { } values) Tensor(values);
            if (s?.Indices is { } indices) Tensor(indices);
        }
        void Nodes(IEnumerable<NodeProto> nodes)
        {
            foreach (AttributeProto a in nodes.SelectMany(n => n.Attribute))
            {
                if (a.T is { } t) Tensor(t);
                foreach (TensorProto each in a.Tensors) Tensor(each);
                Sparse(a.SparseTensor);
                foreach (SparseTensorProto each in a.SparseTensors) Sparse(each);
                Graph(a.G);
                foreach (GraphProto sub in a.Graphs) Graph(sub);
            }
        }
        void Graph(GraphProto? g)
        {
            if (g is null) return;
            foreach (TensorProto t in g.Initializer) Tensor(t);
            foreach (SparseTensorProto s in g.SparseInitializer) Sparse(s);
            Nodes(g.Node);
        }
        Graph(proto.Graph);
        foreach (FunctionProto f in proto.Functions) Nodes(f.Node);
        return [.. files];
    }

    /// <summary>
    /// Reads and validates <paramref name="path"/>. Throws <see cref="InvalidDataException"/> with one sentence naming
    /// the file when it is not an ONNX model ONNX Runtime can load, <see cref="FileNotFoundException"/> when missing.
    /// </summary>
    public static ModelInfo Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: file not found", path);
        byte[] bytes = File.ReadAllBytes(path);
        QuietOrtEnvironment.Get();
        ModelProto proto;
        try
        {
            proto = ModelProto.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new InvalidDataException($"{path}: not an ONNX model ({ex.Message.TrimEnd('.')}); is the file truncated?", ex);
        }
        if (proto.Graph is null || proto.IrVersion <= 0 || proto.OpsetImport.Count == 0)
            throw new InvalidDataException($"{path}: not an ONNX model (no graph, IR version or opset)");

        // ONNX Runtime is the judge of loadability; a CPU session without optimisation is cheap.
        List<TensorSpec> inputs;
        string logits;
        List<string> outputs, optional;
        string? spikes;
        try
        {
            using var options = new SessionOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL, GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL };
            using var session = new InferenceSession(path, options); // by path: weights in external data files lie beside it
            Dictionary<string, long> limits = TensorSpec.IndexLimits(proto.Graph);
            inputs = session.InputMetadata.Select(i => TensorSpec.Of(i.Key, i.Value, limits)).ToList();
            outputs = session.OutputNames.ToList();
            optional = session.OutputMetadata.Where(o => o.Value.OnnxValueType == OnnxValueType.ONNX_TYPE_OPTIONAL).Select(o => o.Key).ToList();
            logits = outputs.Contains("logits") ? "logits" : outputs.FirstOrDefault() ?? "";
            spikes = session.OutputMetadata.TryGetValue("spike_counts", out NodeMetadata? s) && s.IsTensor && s.ElementDataType == TensorElementType.Int64 ? "spike_counts" : null;
        }
        catch (OnnxRuntimeException ex)
        {
            throw new InvalidDataException($"{path}: ONNX Runtime cannot load it: {Messages.OneLine(ex.Message)}", ex);
        }

        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (StringStringEntryProto entry in proto.MetadataProps) metadata[entry.Key] = entry.Value; // a key given twice: the last, as a map keeps it
        (long parameters, long weightBytes, string precision) = Weights(proto.Graph);
        if (metadata.TryGetValue(MetadataKeys.Parameters, out string? p) && long.TryParse(p, NumberStyles.Integer, CultureInfo.InvariantCulture, out long exact))
            parameters = exact;
        string name = System.IO.Path.GetFileName(path);
        foreach (string suffix in new[] { ".onnx", ".int8", ".fp16" })
            if (name.EndsWith(suffix, StringComparison.OrdinalIgnoreCase)) name = name[..^suffix.Length];

        return new ModelInfo
        {
            Path = path,
            Name = name,
            FileBytes = bytes.LongLength,
            Sha256 = HashOf(path, bytes, proto),
            Parameters = parameters,
            WeightBytes = weightBytes,
            Precision = precision,
            Inputs = inputs,
            LogitsName = logits,
            OutputNames = outputs,
            OptionalOutputs = optional,
            SpikeCountsName = spikes,
            Metadata = metadata,
            Snn = ReadFacts(path, metadata),
        };
    }

    private static SnnFacts? ReadFacts(string path, IReadOnlyDictionary<string, string> metadata)
    {
        try
        {
            return SnnFacts.FromMetadata(metadata);
        }
        catch (InvalidDataException ex)
        {
            throw new InvalidDataException($"{path}: {ex.Message}", ex);
        }
    }

    private static (long Parameters, long Bytes, string Precision) Weights(GraphProto graph)
    {
        // scales and zero points of DequantizeLinear are bookkeeping, not weights
        var quantParams = new HashSet<string>(graph.Node.Where(n => n.OpType == "DequantizeLinear").SelectMany(n => n.Input.Skip(1)), StringComparer.Ordinal);
        long parameters = 0, bytes = 0, int8 = 0, fp16 = 0, fp32 = 0;
        foreach (TensorProto t in graph.Initializer)
        {
            long count = t.Dims.Aggregate(1L, (a, d) => a * d);
            var type = (TensorProto.Types.DataType)t.DataType;
            long size = ElementSize(type);
            bytes += t.RawData.Length > 0 ? t.RawData.Length : count * size;
            if (quantParams.Contains(t.Name) || type is TensorProto.Types.DataType.Int64 or TensorProto.Types.DataType.Int32 or TensorProto.Types.DataType.Bool)
                continue;
            parameters += count;
            switch (type)
            {
                case TensorProto.Types.DataType.Int8 or TensorProto.Types.DataType.Uint8: int8 += count; break;
                case TensorProto.Types.DataType.Float16 or TensorProto.Types.DataType.Bfloat16: fp16 += count; break;
                default: fp32 += count; break;
            }
        }
        string precision = int8 > fp32 && int8 >= fp16 ? "int8" : fp16 > fp32 ? "fp16" : "fp32";
        return (parameters, bytes, precision);
    }

    private static long ElementSize(TensorProto.Types.DataType type) => type switch
    {
        TensorProto.Types.DataType.Int8 or TensorProto.Types.DataType.Uint8 or TensorProto.Types.DataType.Bool => 1,
        TensorProto.Types.DataType.Float16 or TensorProto.Types.DataType.Bfloat16 or TensorProto.Types.DataType.Int16 or TensorProto.Types.DataType.Uint16 => 2,
        TensorProto.Types.DataType.Int64 or TensorProto.Types.DataType.Double or TensorProto.Types.DataType.Uint64 => 8,
        _ => 4,
    };
}
