using TorchSharp;
using SpiKernel.Models.Network;
using static TorchSharp.torch;

namespace SpiKernel.Models.Tests;

/// <summary>The macro network's pooling against libtorch's avg_pool2d: the same bits forward and backward.</summary>
public class WindowAveragePoolTests
{
    [Theory]
    [InlineData(2, 28, 28)]
    [InlineData(2, 7, 7)]   // odd: floor mode drops the last row and column
    [InlineData(2, 14, 9)]
    [InlineData(3, 14, 14)]
    [InlineData(4, 7, 8)]
    [InlineData(1, 5, 5)]
    public void Forward_and_gradient_are_avg_pool2d_to_the_last_bit(int k, int h, int w) => Compare(k, null, 0, h, w);

    [Theory]
    [InlineData(3, 1, 28, 28)] // the cells' pooling edge
    [InlineData(3, 1, 7, 5)]
    [InlineData(3, 0, 6, 6)]
    [InlineData(5, 2, 9, 9)]
    public void Overlapping_windows_with_padding_are_avg_pool2d_to_the_last_bit(int k, int padding, int h, int w) => Compare(k, 1, padding, h, w);

    private static void Compare(int k, int? stride, int padding, int h, int w)
    {
        using var scope = NewDisposeScope();
        var generator = new Generator((ulong)(k * 1000 + h * 10 + w));
        // currents with many magnitudes, so a different summation order would round differently
        Tensor x = randn([3, 5, h, w], generator: generator).mul_(exp(randn([3, 5, h, w], generator: generator).mul_(3)));
        

        Tensor a = x.detach().requires_grad_(true), b = x.detach().requires_grad_(true);
        Tensor expected = nn.functional.avg_pool2d(a, [k, k], [stride ?? k, stride ?? k], [padding, padding]);
        Tensor actual = WindowAveragePool.Apply(b, k, stride, padding);
        Tensor gradOut = randn(expected.shape, generator: generator);
        Assert.Equal(expected.shape, actual.shape);
        TensorAssert.SameBits(expected, actual, "forward");

        expected.backward([gradOut]);
        actual.backward([gradOut]);
        TensorAssert.SameBits(a.grad!, b.grad!, "gradient");
    }

    [Fact]
    public void Strided_float64_inputs_zeros_and_a_broadcast_gradient_match_too()
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(7);
        // [N, C, W, H] transposed: a non-contiguous input; float64; windows of −0 and a sum().backward() gradient
        Tensor x = randn([2, 3, 9, 12], dtype: ScalarType.Float64, generator: generator).transpose(2, 3);
        x[TensorIndex.Colon, 0].fill_(-0.0);
        foreach ((int k, int? stride, int padding) in new (int, int?, int)[] { (2, null, 0), (3, 1, 1) })
        {
            Tensor a = x.detach().requires_grad_(true), b = x.detach().requires_grad_(true);
            Tensor expected = nn.functional.avg_pool2d(a, [k, k], [stride ?? k, stride ?? k], [padding, padding]);
            Tensor actual = WindowAveragePool.Apply(b, k, stride, padding);
            TensorAssert.SameBits(expected, actual, $"k {k} forward");
            expected.sum().backward();
            actual.sum().backward();
            TensorAssert.SameBits(a.grad!, b.grad!, $"k {k} gradient");
            using (no_grad())
                TensorAssert.SameBits(nn.functional.avg_pool2d(x, [k, k], [stride ?? k, stride ?? k], [padding, padding]), WindowAveragePool.Apply(x, k, stride, padding), $"k {k} without autograd");
        }
    }

    [Fact]
    public void Without_autograd_the_input_is_not_changed()
    {
        using var scope = NewDisposeScope();
        Tensor x = arange(16, dtype: ScalarType.Float32).reshape(1, 1, 4, 4);
        Tensor before = x.clone();
        Tensor y = WindowAveragePool.Apply(x, 1);
        y.add_(1);
        Assert.True(x.equal(before).all().ToBoolean());
        Assert.Equal(new float[] { 2.5f, 4.5f, 10.5f, 12.5f }, WindowAveragePool.Apply(x, 2).data<float>().ToArray());
    }

    [Fact]
    public void Its_gradients_and_cached_outputs_do_not_pile_up_in_the_training_steps_scope()
    {
        // a training step is one dispose scope around forward and backward: what a pooling call leaves in it lives until
        // the step ends (a [64, 512, 32, 32] gradient per call and timestep on the CIFAR network)
        using Tensor x = randn(2, 3, 8, 8).requires_grad_(true);
        foreach (int? stride in new int?[] { null, 1 })
            TensorAssert.LeavesFewHandles(() =>
            {
                using Tensor y = WindowAveragePool.Apply(x, stride is null ? 2 : 3, stride, stride is null ? 0 : 1);
                using Tensor loss = y.sum();
                loss.backward();
            });
    }

    [Fact]
    public void A_window_larger_than_the_map_or_an_unsupported_stride_is_refused()
    {
        using Tensor x = zeros(1, 1, 3, 3);
        Assert.Throws<ArgumentException>(() => WindowAveragePool.Apply(x, 4));
        Assert.Throws<ArgumentException>(() => WindowAveragePool.Apply(x, 3, stride: 2, padding: 1));
        Assert.Throws<ArgumentException>(() => WindowAveragePool.Apply(x, 3, stride: 1, padding: 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => WindowAveragePool.Apply(x, 0));
    }
}
