using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace SpiKernel.Models.Compute;

/// <summary>A tensor's own memory as the .NET kernels read and write it.</summary>
internal static class TensorMemory
{
    /// <summary>The floats of <paramref name="t"/> from its storage offset (contiguous CPU float32: the callers' Supports checks or allocations).</summary>
    public static Span<float> Floats(Tensor t) => MemoryMarshal.Cast<byte, float>(t.bytes);
}
