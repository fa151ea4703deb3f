using System.Globalization;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace SpiKernel.Evaluators.Inputs;

/// <summary>
/// A tensor in host memory — name, element type, shape, little-endian bytes — as test data files and seeded values
/// are read or made before ONNX Runtime sees them. <see cref="ToOrtValue"/> copies it into a new
/// <see cref="OrtValue"/> that the caller owns.
/// </summary>
/// <param name="Name">The model input or output it belongs to; empty when the file did not say.</param>
/// <param name="Type">Element type.</param>
/// <param name="Shape">Dimensions (empty for a scalar).</param>
/// <param name="Data">Elements, row-major, little-endian.</param>
internal sealed record HostTensor(string Name, TensorElementType Type, long[] Shape, byte[] Data)
{
    /// <summary>Elements.</summary>
    public long Count => Elements(Shape);

    /// <summary>Element <paramref name="i"/> as a double.</summary>
    public double this[long i] => TensorElements.Get(Data, Type, i);

    /// <summary>A zero-filled tensor.</summary>
    public static HostTensor Zeros(string name, TensorElementType type, long[] shape) =>
        new(name, type, shape, new byte[checked(Elements(shape) * TensorElements.Size(type))]);

    /// <summary>Elements of <paramref name="shape"/>.</summary>
    public static long Elements(IEnumerable<long> shape) => shape.Aggregate(1L, (a, d) => checked(a * d));

    /// <summary>"2x3x7x5", "scalar" for rank 0.</summary>
    public static string ShapeText(IReadOnlyCollection<long> shape) =>
        shape.Count == 0 ? "scalar" : string.Join('x', shape.Select(d => d.ToString(CultureInfo.InvariantCulture)));

    /// <summary>A new host tensor ONNX Runtime allocated, holding a copy of this one's elements; the caller disposes it.</summary>
    public OrtValue ToOrtValue()
    {
        OrtValue value = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, Type, Shape);
        Data.CopyTo(value.GetTensorMutableRawData());
        return value;
    }

    /// <summary>A copy of a host tensor ONNX Runtime produced.</summary>
    public static HostTensor CopyOf(string name, OrtValue value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (!value.IsTensor) throw new InvalidDataException($"output '{name}' is a {value.OnnxType}, not a tensor");
        OrtTensorTypeAndShapeInfo info = value.GetTensorTypeAndShape();
        TensorElements.Size(info.ElementDataType);
        return new HostTensor(name, info.ElementDataType, info.Shape, value.GetTensorMutableRawData().ToArray());
    }

    /// <summary>This tensor with elements of <paramref name="type"/> (numeric conversion; integers truncated), or itself.</summary>
    public HostTensor ConvertedTo(TensorElementType type)
    {
        if (type == Type) return this;
        HostTensor result = Zeros(Name, type, Shape);
        for (long i = 0; i < Count; i++) TensorElements.Set(result.Data, type, i, this[i]);
        return result;
    }
}
