using System.Buffers.Binary;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace SpiKernel.Evaluators.Inputs;

/// <summary>
/// Element types a tensor can be fed with or compared in (every fixed-size numeric type ONNX Runtime takes, and bool),
/// read and written as doubles in little-endian bytes — the layout of ONNX's <c>raw_data</c>, numpy's <c>&lt;</c> files
/// and ONNX Runtime's host tensors. Integers beyond ±2^53 lose precision as doubles.
/// </summary>
internal static class TensorElements
{
    /// <summary>Bytes per element; <see cref="InvalidDataException"/> for types this tool does not feed (strings, complex, 4- and 8-bit floats).</summary>
    public static int Size(TensorElementType type) => type switch
    {
        TensorElementType.Bool or TensorElementType.UInt8 or TensorElementType.Int8 => 1,
        TensorElementType.Float16 or TensorElementType.BFloat16 or TensorElementType.Int16 or TensorElementType.UInt16 => 2,
        TensorElementType.Float or TensorElementType.Int32 or TensorElementType.UInt32 => 4,
        TensorElementType.Double or TensorElementType.Int64 or TensorElementType.UInt64 => 8,
        _ => throw new InvalidDataException($"{Name(type)} tensors are not supported (numeric and bool tensors are)"),
    };

    /// <summary>Float types: compared with a tolerance and fed normal values.</summary>
    public static bool IsFloating(TensorElementType type) =>
        type is TensorElementType.Float or TensorElementType.Double or TensorElementType.Float16 or TensorElementType.BFloat16;

    /// <summary>ONNX's lower-case name of <paramref name="type"/> (float, float16, int64, bool, …).</summary>
    public static string Name(TensorElementType type) => type switch
    {
        TensorElementType.Float16 => "float16",
        TensorElementType.BFloat16 => "bfloat16",
        _ => type.ToString().ToLowerInvariant(),
    };

    /// <summary>Element <paramref name="i"/> of <paramref name="data"/> as a double.</summary>
    public static double Get(ReadOnlySpan<byte> data, TensorElementType type, long i)
    {
        int size = Size(type);
        ReadOnlySpan<byte> e = data.Slice(checked((int)(i * size)), size);
        return type switch
        {
            TensorElementType.Float => BinaryPrimitives.ReadSingleLittleEndian(e),
            TensorElementType.Double => BinaryPrimitives.ReadDoubleLittleEndian(e),
            TensorElementType.Float16 => (double)BinaryPrimitives.ReadHalfLittleEndian(e),
            TensorElementType.BFloat16 => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(e) << 16),
            TensorElementType.Bool or TensorElementType.UInt8 => e[0],
            TensorElementType.Int8 => (sbyte)e[0],
            TensorElementType.Int16 => BinaryPrimitives.ReadInt16LittleEndian(e),
            TensorElementType.UInt16 => BinaryPrimitives.ReadUInt16LittleEndian(e),
            TensorElementType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(e),
            TensorElementType.UInt32 => BinaryPrimitives.ReadUInt32LittleEndian(e),
            TensorElementType.Int64 => BinaryPrimitives.ReadInt64LittleEndian(e),
            _ => BinaryPrimitives.ReadUInt64LittleEndian(e),
        };
    }

    /// <summary>Writes <paramref name="v"/> as element <paramref name="i"/> (integers truncated toward zero, bool: non-zero is true).</summary>
    public static void Set(Span<byte> data, TensorElementType type, long i, double v)
    {
        int size = Size(type);
        Span<byte> e = data.Slice(checked((int)(i * size)), size);
        switch (type)
        {
            case TensorElementType.Float: BinaryPrimitives.WriteSingleLittleEndian(e, (float)v); break;
            case TensorElementType.Double: BinaryPrimitives.WriteDoubleLittleEndian(e, v); break;
            case TensorElementType.Float16: BinaryPrimitives.WriteHalfLittleEndian(e, (Half)v); break;
            case TensorElementType.BFloat16: BinaryPrimitives.WriteUInt16LittleEndian(e, ToBFloat16((float)v)); break;
            case TensorElementType.Bool: e[0] = v != 0 ? (byte)1 : (byte)0; break;
            case TensorElementType.UInt8: e[0] = (byte)v; break;
            case TensorElementType.Int8: e[0] = (byte)(sbyte)v; break;
            case TensorElementType.Int16: BinaryPrimitives.WriteInt16LittleEndian(e, (short)v); break;
            case TensorElementType.UInt16: BinaryPrimitives.WriteUInt16LittleEndian(e, (ushort)v); break;
            case TensorElementType.Int32: BinaryPrimitives.WriteInt32LittleEndian(e, (int)v); break;
            case TensorElementType.UInt32: BinaryPrimitives.WriteUInt32LittleEndian(e, (uint)v); break;
            case TensorElementType.Int64: BinaryPrimitives.WriteInt64LittleEndian(e, (long)v); break;
            default: BinaryPrimitives.WriteUInt64LittleEndian(e, (ulong)v); break;
        }
    }

    /// <summary>Round to nearest even, as PyTorch and ONNX Runtime convert float32 to bfloat16.</summary>
    private static ushort ToBFloat16(float f)
    {
        if (float.IsNaN(f)) return 0x7FC0;
        uint bits = BitConverter.SingleToUInt32Bits(f);
        bits += 0x7FFFu + ((bits >> 16) & 1u);
        return (ushort)(bits >> 16);
    }
}
