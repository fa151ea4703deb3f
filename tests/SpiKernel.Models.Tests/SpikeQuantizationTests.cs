using SpiKernel.Models.Network;
using static TorchSharp.torch;

namespace SpiKernel.Models.Tests;

public class SpikeQuantizationTests
{
    [Fact]
    public void Should_MapEachChannelsLargestWeightTo127_When_WeightsAreQuantized()
    {
        float[] w = [1.0f, -0.3f, 0.2f, 0.6f, /* all zero: */ 0f, 0f, 0f, 0f, /* not finite: */ float.NaN, -2f, 0.3f, 0.9f];
        (sbyte[] q, float[] scales) = SpikeQuantization.Weights(w, 3);

        Assert.Equal(new[] { 1f / 127, 1f, 2f / 127 }, scales);
        Assert.Equal(new sbyte[] { 127, -38, 25, 76, 0, 0, 0, 0, 0, -127, 19, 57 }, q); // -38.1, 25.4, 76.2; 19.05, 57.15; NaN → 0
    }

    [Fact]
    public void Should_FoldTheBatchNormIntoMultiplierAndBias_When_AConvolutionIsRequantized()
    {
        using var bn = new TimestepBatchNorm("bn", 3, steps: 2);
        using (no_grad())
        {
            bn.Weight.copy_(tensor(new[] { 2f, -0.5f, 0f }));
            bn.Bias.copy_(tensor(new[] { 0.5f, 1f, 3f }));
            using Tensor mean = bn.RunningMean(1), var = bn.RunningVar(1);
            mean.copy_(tensor(new[] { 1f, 2f, 3f }));
            var.copy_(tensor(new[] { 4f, 1f, 1f }));
        }
        float[] weightScales = [0.01f, 0.02f, 0.03f];

        SpikeRequantization r = SpikeQuantization.ConvBn(weightScales, bn, slot: 1);
        (float[] scale, float[] shift) = BatchNormFold.Affine(bn, 1);

        // one step for the layer: the widest channel range |β| + 6|γ| (channel 0: 0.5 + 12) over 127
        Assert.Equal((float)(12.5 / 127), r.Step);
        for (int o = 0; o < 2; o++)
        {
            double a = Math.Abs((double)weightScales[o] * scale[o]); // one accumulator unit after the BatchNorm
            Assert.Equal((float)(a / r.Step), r.Multiplier[o]);
            Assert.Equal((int)Math.Round(shift[o] / a, MidpointRounding.ToEven), r.Bias[o]);
        }
        Assert.All(r.Multiplier, m => Assert.True(m > 0)); // γ < 0 (channel 1): the weights are negated instead, the scales stay positive
        // γ = 0: the channel is its shift alone — zero weights (ConvWeights), multiplier 1, the shift in steps as bias
        Assert.Equal(1f, r.Multiplier[2]);
        Assert.Equal((int)Math.Round(shift[2] / r.Step, MidpointRounding.ToEven), r.Bias[2]);
        (sbyte[] q, _) = SpikeQuantization.ConvWeights(Enumerable.Repeat(0.5f, 3 * 4).ToArray(), 3, bn);
        Assert.All(q[..4], v => Assert.Equal(127, v));
        Assert.All(q[4..8], v => Assert.Equal(-127, v)); // γ < 0: negated
        Assert.All(q[8..], v => Assert.Equal(0, v));
    }

    [Fact]
    public void Should_ApproximateTheFloatBlock_When_ComputedAsIntegers()
    {
        manual_seed(5);
        using var conv = nn.Conv2d(4, 3, 3, padding: 1, bias: false);
        using var bn = new TimestepBatchNorm("bn", 3, steps: 1);
        using (no_grad())
        {
            bn.Weight.copy_(tensor(new[] { 1.5f, -0.7f, 0f }));
            bn.Bias.copy_(tensor(new[] { 0.2f, -0.4f, 0.9f }));
        }
        bn.eval();
        using Tensor spikes = (rand(2, 4, 6, 6) > 0.7).to_type(ScalarType.Float32);
        using var integer = new QuantizedConvBn(conv, bn, padding: 1);
        using var exact = new DeployedConvBn(conv, bn, 1, 1);

        using Tensor got = integer.Forward(spikes), want = exact.Forward(spikes);
        using Tensor err = (got - want).abs();
        // each output level is 1/127 of the widest range (0.2 + 6·1.5); rounding costs at most half a level, the
        // int8 weights a little more; the γ = 0 channel is its shift, to half a level
        float step = (float)((0.2 + 6 * 1.5) / 127);
        Assert.True(err.max().item<float>() <= step, $"max error {err.max().item<float>()} against a step of {step}");
        using Tensor constant = got.select(1, 2);
        Assert.True(constant.eq(constant.flatten()[0]).all().item<bool>());
        Assert.True(Math.Abs(constant.flatten()[0].item<float>() - 0.9f) <= step / 2);
    }

    [Fact]
    public void Should_KeepTheShiftTheBiasCannotHold_When_AnAccumulatorUnitIsCoarserThanAStep()
    {
        // slot 0 saw a constant input (an edge whose node is empty at t0): variance ≈ 0, so one accumulator unit after the
        // BatchNorm is worth ~60 steps and the shift 0.3 rounds to a bias of 0 units
        using var conv = nn.Conv2d(2, 2, 1, bias: false);
        using var bn = new TimestepBatchNorm("bn", 2, steps: 2);
        using (no_grad())
        {
            conv.weight!.copy_(tensor(new[] { 0.5f, 0f, 0f, 0.5f }).reshape(2, 2, 1, 1));
            bn.Weight.copy_(tensor(new[] { 1f, 1f }));
            bn.Bias.copy_(tensor(new[] { 0.3f, -0.2f }));
            using Tensor var0 = bn.RunningVar(0), mean0 = bn.RunningMean(0);
            var0.copy_(tensor(new[] { 1e-6f, 1e-6f }));
            mean0.copy_(tensor(new[] { 0f, 0f }));
        }
        bn.eval();
        bn.Timestep = 0;
        (_, float[] scales) = SpikeQuantization.ConvWeights(BatchNormFold.Values(conv.weight!), 2, bn);
        SpikeRequantization r = SpikeQuantization.ConvBn(scales, bn, slot: 0);
        Assert.All(r.Multiplier, m => Assert.True(m > 1, $"multiplier {m}"));
        Assert.Equal([0, 0], r.Bias);
        Assert.NotNull(r.Residual);

        using Tensor silent = zeros(1, 2, 3, 3); // no spikes: the output is the shift alone
        using var integer = new QuantizedConvBn(conv, bn, padding: 0);
        using var exact = new DeployedConvBn(conv, bn, 1, 0);
        using Tensor got = integer.Forward(silent), want = exact.Forward(silent);
        Assert.True((got - want).abs().max().item<float>() <= r.Step / 2, $"{got.flatten()[0].item<float>()} vs {want.flatten()[0].item<float>()}");
    }
}
