using TorchSharp;
using static TorchSharp.torch;

namespace SpiKernel.Models.Tests;

/// <summary>Tensor assertions shared by the bit-identity tests.</summary>
internal static class TensorAssert
{
    /// <summary>
    /// Runs <paramref name="pass"/> (a forward and backward of one autograd function) <paramref name="calls"/> times in
    /// one dispose scope, as a training step does, and asserts that it leaves at most <paramref name="handles"/> tensor
    /// handles there: whatever it leaves lives until the step ends (gradients, cached outputs, saved state per call).
    /// </summary>
    public static void LeavesFewHandles(Action pass, int calls = 10, int handles = 2)
    {
        using var step = NewDisposeScope();
        int before = step.DisposablesCount;
        for (int i = 0; i < calls; i++) pass();
        int left = step.DisposablesCount - before;
        Assert.True(left <= handles, $"{left} tensor handles left in the step's scope by {calls} forward and backward passes");
    }

    /// <summary>Equal values and equal signs of zero (equal() alone treats −0 and +0 as the same).</summary>
    public static void SameBits(Tensor expected, Tensor actual, string what)
    {
        Assert.True(expected.equal(actual).all().ToBoolean(), $"{what} differs by up to {(expected - actual).abs().max().ToDouble()}");
        Assert.True(expected.signbit().equal(actual.signbit()).all().ToBoolean(), $"{what}: a zero's sign differs");
    }
}
