using System.Runtime.InteropServices;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime.Tensors;
using Onnx;

namespace SpiKernel.Evaluators.Inputs;

/// <summary>
/// Reads ONNX <c>TensorProto</c> files (<c>input_0.pb</c>, <c>output_0.pb</c> of the ONNX backend tests and of
/// <c>onnxruntime_perf_test</c>): elements from <c>raw_data</c> or from the typed fields the format defines for each
/// type. Data stored in external files is not read.
/// </summary>
internal static class TensorProtoReader
{
    /// <summary>The tensor in <paramref name="path"/>; <see cref="InvalidDataException"/> naming the file when it is not one.</summary>
    public static HostTensor Read(string path)
    {
        TensorProto proto;
        try
        {
            proto = TensorProto.Parser.ParseFrom(File.ReadAllBytes(path));
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new InvalidDataException($"{path}: not an ONNX TensorProto ({ex.Message.TrimEnd('.')})", ex);
        }
        try
        {
            return From(proto);
        }
        catch (InvalidDataException ex)
        {
            throw new InvalidDataException($"{path}: {ex.Message}", ex);
        }
    }

    /// <summary>The elements of <paramref name="t"/> as a host tensor.</summary>
    public static HostTensor From(TensorProto t)
    {
        ArgumentNullException.ThrowIfNull(t);
        if (t.DataLocation == TensorProto.Types.DataLocation.External)
            throw new InvalidDataException("the tensor's data are in an external file, which is not read");
        var type = (TensorElementType)t.DataType;
        int size = TensorElements.Size(type);
        long[] shape = t.Dims.ToArray();
        if (shape.Any(d => d < 0)) throw new InvalidDataException($"negative dimension in [{string.Join(", ", shape)}]");
        long count;
        try
        {
            count = HostTensor.Elements(shape);
            _ = checked(count * size); // and the bytes they take
        }
        catch (OverflowException)
        {
            // what a SequenceProto or OptionalProto read as a tensor gives: its name's bytes as dimensions
            throw new InvalidDataException($"not a tensor: dimensions [{string.Join(", ", shape)}] (sequence, map and optional test data are not read)");
        }
        byte[] data = !t.RawData.IsEmpty ? t.RawData.ToByteArray() : type switch
        {
            TensorElementType.Float => MemoryMarshal.AsBytes<float>(t.FloatData.ToArray()).ToArray(),
            TensorElementType.Double => MemoryMarshal.AsBytes<double>(t.DoubleData.ToArray()).ToArray(),
            TensorElementType.Int64 => MemoryMarshal.AsBytes<long>(t.Int64Data.ToArray()).ToArray(),
            TensorElementType.UInt64 => MemoryMarshal.AsBytes<ulong>(t.Uint64Data.ToArray()).ToArray(),
            TensorElementType.UInt32 => MemoryMarshal.AsBytes<uint>(t.Uint64Data.Select(v => (uint)v).ToArray()).ToArray(),
            // int32_data carries every type of 32 bits or fewer; float16 and bfloat16 as their bit patterns
            TensorElementType.Float16 or TensorElementType.BFloat16 => MemoryMarshal.AsBytes<ushort>(t.Int32Data.Select(v => (ushort)v).ToArray()).ToArray(),
            _ => Narrowed(t.Int32Data.Select(v => (double)v).ToArray(), type),
        };
        if (data.LongLength != count * size)
            throw new InvalidDataException($"{data.LongLength} bytes of data for {TensorElements.Name(type)}[{HostTensor.ShapeText(shape)}], which needs {count * size}");
        return new HostTensor(t.Name, type, shape, data);
    }

    private static byte[] Narrowed(double[] values, TensorElementType type)
    {
        var data = new byte[values.Length * TensorElements.Size(type)];
        for (int i = 0; i < values.Length; i++) TensorElements.Set(data, type, i, values[i]);
        return data;
    }
}
