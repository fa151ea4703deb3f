using SpiKernel.Models.Lif;
using TorchSharp;
using static TorchSharp.torch;

namespace SpiKernel.Models.Tests;

/// <summary>The in-place surrogate derivative against the plain expressions it replaced: the same bits.</summary>
public class SurrogateSpikeTests
{
    [Theory]
    [InlineData(SurrogateKind.ATan, 2.0)]
    [InlineData(SurrogateKind.ATan, 4.0)]
    [InlineData(SurrogateKind.ATan, 1.5)]
    [InlineData(SurrogateKind.Sigmoid, 2.0)]
    [InlineData(SurrogateKind.Sigmoid, 5.0)]
    public void Derivative_is_the_plain_expression_to_the_last_bit(SurrogateKind kind, double alpha)
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(11);
        Tensor x = randn([4, 8, 9, 9], generator: generator).mul_(exp(randn([4, 8, 9, 9], generator: generator).mul_(2)));
        Tensor expected = kind == SurrogateKind.ATan
            ? (alpha / 2.0) / (1.0 + (Math.PI / 2.0 * alpha * x).square())
            : alpha * (alpha * x).sigmoid() * (1.0 - (alpha * x).sigmoid());
        Tensor before = x.clone();
        Tensor actual = SurrogateSpike.Derivative(x, kind, alpha);
        Assert.True(expected.equal(actual).all().ToBoolean(), $"differs by up to {(expected - actual).abs().max().ToDouble()}");
        Assert.True(x.equal(before).all().ToBoolean(), "the input changed");
        Assert.False(ReferenceEquals(actual, x));
    }
}
