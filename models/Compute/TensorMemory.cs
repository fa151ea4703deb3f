using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace SpiKernel.Models.Compute;

/// <summary>A tensor's own memory as the .NET kernels read and write it.</summary>
internal static unsafe class TensorMemory
{
    /// <summary>The floats of <paramref name="t"/> from its storage offset (contiguous CPU float32: the callers' Supports checks or allocations).</summary>
    public static Span<float> Floats(Tensor t) => MemoryMarshal.Cast<byte, float>(t.bytes);

    /// <summary>The address of <paramref name="t"/>'s first float (libtorch's memory: it stays put while the tensor lives).</summary>
    public static float* Address(Tensor t) => (float*)System.Runtime.CompilerServices.Unsafe.AsPointer(ref MemoryMarshal.GetReference(Floats(t)));
}
