using SpiKernel.Models.Architecture;
using SpiKernel.Models.Lif;
using SpiKernel.Models.Network;
using TorchSharp;
using static TorchSharp.torch;

namespace SpiKernel.Models.Tests;

public class NetworkTests
{
    private static SnnArchitecture Tiny(string cell, string kernels = "1,3", int timesteps = 3, int channels = 4) =>
        SnnArchitecture.Parse($"cell=\"{cell}\" kernels={kernels} input=1x12x12 channels={channels} hidden=16 classes=3 cluster=2 sap=2 timesteps={timesteps} dropout=0.5");

    [Fact]
    public void Should_CountParametersAnalytically_When_CellsAreRandom()
    {
        var rng = new Random(11);
        var sets = new[] { KernelSet.Snasnet, KernelSet.Parse("3,5,7"), KernelSet.Parse("1,3,5,7") };
        int checkedCount = 0;
        while (checkedCount < 25)
        {
            KernelSet k = sets[rng.Next(sets.Length)];
            var m = new int[4, 4];
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 4; j++)
                    if (i != j && rng.NextDouble() < 0.5) m[i, j] = rng.Next(k.OperationCount);
            var cell = new CellTopology(m);
            if (!cell.OutputReachable) continue;
            var arch = new SnnArchitecture(cell, k, new MacroConfig(3, 16, 16, 4, 2, 1, 8, 5, 2, 2, 2, 0.1), LifOptions.Default);
            using var net = new SpikingNetwork(arch);
            Assert.Equal(arch.ParameterCount(), net.parameters().Sum(p => p.numel()));
            checkedCount++;
        }
    }

    [Fact]
    public void Should_NameParametersByModulePath_When_Built()
    {
        using var net = new SpikingNetwork(SnnArchitecture.FashionMnistSmall);
        string[] names = net.named_parameters().Select(p => p.name).ToArray();
        Assert.Contains("stem.conv.weight", names);
        Assert.Contains("cell1.o12.conv.weight", names);
        Assert.Contains("cell2.o20.bn.bias", names);
        Assert.Contains("down.conv.weight", names);
        Assert.Contains("fc2.bias", names);
        // 6 convolution edges per cell, plus down_act, last and fc_lif
        Assert.Equal(15, net.LifLayers().Count);
    }

    [Fact]
    public void Should_ReturnClassLogits_When_Forwarded()
    {
        manual_seed(1);
        using var net = new SpikingNetwork(Tiny("0303 0030 2002 0200"));
        using Tensor x = randn(5, 1, 12, 12);
        using Tensor y = net.forward(x);
        Assert.Equal(new long[] { 5, 3 }, y.shape);
    }

    [Fact]
    public void Should_GiveEveryLiveWeightAGradient_When_LossIsBackpropagatedThroughTime()
    {
        // 16 channels: with fewer, libtorch's CPU convolution backward can return NaN (docs/train.md#known-defect-nan-gradients-in-tiny-networks)
        manual_seed(2);
        using var net = new SpikingNetwork(Tiny("0303 0030 2002 0200", timesteps: 4, channels: 16));
        using Tensor x = randn(8, 1, 12, 12) * 3;
        using Tensor y = tensor(new long[] { 0, 1, 2, 0, 1, 2, 0, 1 });
        using Tensor loss = nn.functional.cross_entropy(net.forward(x), y);
        loss.backward();
        foreach ((string name, TorchSharp.Modules.Parameter p) in net.named_parameters())
        {
            Assert.NotNull(p.grad);
            Assert.True(p.grad!.isfinite().all().ToBoolean(), $"{name} has a non-finite gradient");
        }
        Assert.True(net.named_parameters().Where(p => p.name.EndsWith("conv.weight")).All(p => p.parameter.grad!.abs().sum().ToSingle() > 0),
            "every convolution should receive a surrogate gradient");
    }

    [Fact]
    public void Should_BeDeterministic_When_SeedIsFixed()
    {
        float[] Run()
        {
            manual_seed(5);
            using var net = new SpikingNetwork(Tiny("0332 0003 0003 0000"));
            using Tensor x = randn(4, 1, 12, 12);
            using Tensor y = net.forward(x); // train mode: dropout drawn from the seeded generator
            return y.data<float>().ToArray();
        }
        Assert.Equal(Run(), Run());
    }

    [Fact]
    public void Should_UseOneDropoutMaskForAllTimesteps_When_Training()
    {
        manual_seed(9);
        using var net = new SpikingNetwork(Tiny("0332 0003 0003 0000", timesteps: 4));
        var calls = new List<(Tensor In, Tensor Out)>();
        var hook = net.Dropout.register_forward_hook((_, input, output) =>
        {
            calls.Add((input.detach().clone(), output.detach().clone()));
            return output;
        });
        using Tensor x = randn(6, 1, 12, 12) * 4;
        net.forward(x);

        Assert.Equal(4, calls.Count);
        // implied mask where the input is non-zero: 0 (dropped) or 1/(1-p) = 2 (kept); it must agree across steps
        using Tensor seen = stack(calls.Select(c => c.In.ne(0)).ToArray()).any(0);
        Tensor? mask = null;
        foreach ((Tensor i, Tensor o) in calls)
        {
            using Tensor nz = i.ne(0);
            Tensor implied = where(nz, o / where(nz, i, ones_like(i)), full_like(i, -1.0));
            mask = mask is null ? implied : where(implied.ge(0), implied, mask);
            using Tensor both = implied.ge(0).logical_and(mask.ge(0));
            Assert.True(implied.masked_select(both).allclose(mask.masked_select(both)), "the mask changed between timesteps");
        }
        using Tensor kept = mask!.masked_select(seen);
        Assert.True(kept.eq(0).any().ToBoolean() && kept.eq(2).any().ToBoolean(), "expected both dropped and kept features");
    }

    [Fact]
    public void Should_ComputeSameLogitsEachCall_When_InEvalMode()
    {
        manual_seed(9);
        using var net = new SpikingNetwork(Tiny("0303 0030 2002 0200"));
        net.eval();
        using Tensor x = randn(6, 1, 12, 12);
        using Tensor a = net.forward(x), b = net.forward(x);
        Assert.True(a.allclose(b, rtol: 0, atol: 0), "no dropout and no membrane state may leak from one batch into the next");
    }

    [Fact]
    public void Should_KeepLogits_When_BatchNormIsFoldedForInference()
    {
        manual_seed(21);
        using var net = new SpikingNetwork(Tiny("0303 0030 2002 0200"));
        using (no_grad())
        {
            foreach ((string name, TorchSharp.Modules.Parameter p) in net.named_parameters())
                if (name.StartsWith("fc")) p.normal_(0, 0.5); // make logits depend on the spikes
        }
        using (Tensor warm = randn(16, 1, 12, 12) * 3)
            net.forward(warm); // train mode: running statistics move away from 0/1
        net.eval();
        using Tensor x = randn(6, 1, 12, 12) * 3;
        using Tensor plain = net.forward(x);
        net.Fuse();
        using Tensor fused = net.forward(x);
        net.train();
        using Tensor trainMode = net.forward(x);
        net.Unfuse();
        net.eval();
        using Tensor again = net.forward(x);

        Assert.True(plain.abs().sum().ToSingle() > 0, "the logits should depend on the input");
        Assert.True(fused.allclose(plain, rtol: 0, atol: 1e-4), "folding BatchNorm must not change what the network computes");
        Assert.False(trainMode.allclose(plain, rtol: 0, atol: 1e-3), "train mode uses batch statistics, not the folded weights");
        Assert.True(again.allclose(plain, rtol: 0, atol: 0));
    }

    [Theory]
    [InlineData("0001 3000 0000 0100", "1,3")] // node 3 = skip of the input, fed back to node 1 by a skip: a state that is the input itself
    [InlineData("0215 0002 0100 0060", "1,3,5,7")]
    public void Should_RunEveryTimestep_When_FeedbackStateIsTheCellInput(string cell, string kernels)
    {
        manual_seed(4);
        using var net = new SpikingNetwork(Tiny(cell, kernels, timesteps: 4));
        var calls = new Dictionary<string, int>();
        foreach ((string path, var lif) in net.LifLayers()) lif.SpikeObserver = (_, _) => calls[path] = calls.GetValueOrDefault(path) + 1;
        using Tensor x = randn(3, 1, 12, 12);
        using Tensor y = net.forward(x);
        Assert.True(y.isfinite().all().ToBoolean());
        // every LIF at every timestep; a feedback edge's (cellN.oIJ with I > J) skips the last, which no later step reads
        static bool Feedback(string path) => System.Text.RegularExpressions.Regex.Match(path, @"\.o(\d)(\d)\.") is { Success: true } m && m.Groups[1].Value[0] > m.Groups[2].Value[0];
        Assert.All(net.LifLayers(), l => Assert.Equal(Feedback(l.Path) ? 3 : 4, calls.GetValueOrDefault(l.Path)));
    }
}
