using TorchSharp;
using static TorchSharp.torch;

namespace SpiKernel.Models.Tests;

public class TorchSharpLoadTests
{
    [Fact]
    public void Should_RunConvForwardAndBackward_When_TorchSharpIsLoaded()
    {
        // Given: the natives the build patched (Directory.Build.targets) where libstdc++ lacks GLIBCXX_3.4.32
        manual_seed(1);
        using var conv = nn.Conv2d(2, 3, 3, padding: 1);
        using Tensor x = randn(4, 2, 8, 8);

        // When
        using Tensor y = conv.forward(x);
        using Tensor loss = y.square().sum();
        loss.backward();

        // Then
        Assert.Equal([4L, 3, 8, 8], y.shape);
        Assert.NotNull(conv.weight!.grad);
        Assert.True(conv.weight.grad!.abs().sum().ToSingle() > 0f);
    }
}
