using SpiKernel.Core;
using TorchSharp;
using SpiKernel.Models.Lif;
using static TorchSharp.torch;

namespace SpiKernel.Models.Tests;

public class LifNodeTests
{
    [Theory] // the tensor path (no kernel): each reset form, and the sigmoid surrogate the kernel does not take
    [InlineData("hard")]
    [InlineData("hard-attached")]
    [InlineData("hard-v-reset")]
    [InlineData("soft")]
    [InlineData("sigmoid")]
    public void Should_LeaveNoMembraneInTheStepsScope_When_TheTensorPathRunsForwardAndBackward(string form)
    {
        // a charged membrane per LIF call, and a spike-sized output copy, were held until the training step ended
        LifOptions o = form switch
        {
            "hard-attached" => LifOptions.Default with { DetachReset = false },
            "hard-v-reset" => LifOptions.Default with { VReset = -0.5 },
            "soft" => LifOptions.Default with { Reset = ResetMode.Soft },
            "sigmoid" => LifOptions.Default with { Surrogate = SurrogateKind.Sigmoid, Alpha = 4 },
            _ => LifOptions.Default,
        };
        using var lif = new LifNode("lif", o) { UseKernel = false };
        using Tensor x = randn(64).mul_(2).requires_grad_(true);
        TensorAssert.LeavesFewHandles(() =>
        {
            var spikes = new List<Tensor>();
            for (int t = 0; t < 4; t++) spikes.Add(lif.forward(x));
            using Tensor all = stack(spikes);
            using Tensor loss = all.sum();
            loss.backward();
            spikes.ForEach(s => s.Dispose());
            lif.ResetState();
        });
    }

    [Fact]
    public void Should_FireEveryOtherStep_When_ConstantInputIs1Point2()
    {
        // v1 = 0.75·1.2 = 0.9 (silent); v2 = 0.25·0.9 + 0.9 = 1.125 (fires, reset to 0); v3 = 0.9; v4 = 1.125 …
        using var lif = new LifNode("lif", LifOptions.Default);
        using Tensor x = full(new long[] { 1 }, 1.2f);
        float[] spikes = Enumerable.Range(0, 4).Select(_ => lif.forward(x).ToSingle()).ToArray();
        Assert.Equal(new[] { 0f, 1f, 0f, 1f }, spikes);
    }

    [Fact]
    public void Should_FireAtExactlyThreshold_When_MembraneEqualsVth()
    {
        // H(0) = 1: with τ = 1 the membrane takes the input, so x = 1 puts it exactly on the threshold
        using var lif = new LifNode("lif", LifOptions.Default with { Tau = 1.0 });
        using Tensor x = full(new long[] { 1 }, 1.0f);
        Assert.Equal(1f, lif.forward(x).ToSingle());
    }

    [Fact]
    public void Should_KeepExcessCharge_When_ResetIsSoft()
    {
        // inputs 4 then 1: h1 = 3 fires in both; hard reset → h2 = 0.75 (silent),
        // soft reset keeps 3 − 1 = 2 → h2 = 0.5 + 0.75 = 1.25 (fires)
        using Tensor four = full(new long[] { 1 }, 4f), one = full(new long[] { 1 }, 1f);
        using var soft = new LifNode("lif", LifOptions.Default with { Reset = ResetMode.Soft });
        using var hard = new LifNode("lif", LifOptions.Default);
        Assert.Equal(1f, soft.forward(four).ToSingle());
        Assert.Equal(1f, hard.forward(four).ToSingle());
        Assert.Equal(1f, soft.forward(one).ToSingle());
        Assert.Equal(0f, hard.forward(one).ToSingle());
    }

    [Fact]
    public void Should_StartFromRest_When_StateIsReset()
    {
        using var lif = new LifNode("lif", LifOptions.Default);
        using Tensor x = full(new long[] { 1 }, 1.2f);
        lif.forward(x);
        Assert.Equal(1f, lif.forward(x).ToSingle());
        lif.ResetState();
        Assert.Equal(0f, lif.forward(x).ToSingle());
    }

    [Theory]
    [InlineData(SurrogateKind.ATan, 2.0)]
    [InlineData(SurrogateKind.ATan, 4.0)]
    [InlineData(SurrogateKind.Sigmoid, 4.0)]
    public void Should_BackpropagateSurrogateDerivative_When_SpikeIsDifferentiated(SurrogateKind kind, double alpha)
    {
        // one step from rest: s = H(x/τ − v_th), so ds/dx = surrogate'(x/τ − v_th) / τ
        var options = LifOptions.Default with { Surrogate = kind, Alpha = alpha };
        using var lif = new LifNode("lif", options);
        float[] values = [-1f, 0.5f, 1.2f, 1.3333334f, 3f];
        using Tensor x = tensor(values).requires_grad_(true);
        using Tensor s = lif.forward(x);
        s.sum().backward();
        float[] grad = x.grad!.data<float>().ToArray();
        for (int i = 0; i < values.Length; i++)
        {
            double u = values[i] / options.Tau - 1.0;
            double expected = kind == SurrogateKind.ATan
                ? alpha / (2 * (1 + Math.Pow(Math.PI / 2 * alpha * u, 2)))
                : alpha * Sigmoid(alpha * u) * (1 - Sigmoid(alpha * u));
            Assert.Equal(expected / options.Tau, grad[i], 5);
        }
    }

    private static double Sigmoid(double z) => 1 / (1 + Math.Exp(-z));

    [Fact]
    public void Should_RejectConstants_When_TheyMakeNoNeuron()
    {
        Assert.Contains("tau", Assert.Throws<SettingsException>(() => new LifNode("l", LifOptions.Default with { Tau = 0.5 })).Message);
        Assert.Contains("v_threshold", Assert.Throws<SettingsException>(() => new LifNode("l", LifOptions.Default with { VThreshold = -1 })).Message);
    }
}
