using TorchSharp;
using static TorchSharp.torch;

namespace SpiKernel.Models.Tests;

/// <summary>Tensor assertions shared by the bit-identity tests.</summary>
internal static class TensorAssert
{
    /// <summary>Equal values and equal signs of zero (equal() alone treats −0 and +0 as the same).</summary>
    public static void SameBits(Tensor expected, Tensor actual, string what)
    {
        Assert.True(expected.equal(actual).all().ToBoolean(), $"{what} differs by up to {(expected - actual).abs().max().ToDouble()}");
        Assert.True(expected.signbit().equal(actual.signbit()).all().ToBoolean(), $"{what}: a zero's sign differs");
    }
}
