using SpiKernel.Models.Architecture;
using SpiKernel.Models.Network;
using TorchSharp;
using static TorchSharp.torch;

namespace SpiKernel.Models.Tests;

public class TimestepBatchNormTests
{
    [Fact]
    public void Should_KeepStatisticsPerTimestep_When_Training()
    {
        random.manual_seed(3);
        using var bn = new TimestepBatchNorm("bn", 2, steps: 2, momentum: 1.0); // momentum 1: running = last batch
        using Tensor x0 = randn(8, 2, 4, 4) + 5;
        using Tensor x1 = randn(8, 2, 4, 4) * 3 - 2;
        bn.train();
        bn.Timestep = 0;
        bn.forward(x0).Dispose();
        bn.Timestep = 1;
        bn.forward(x1).Dispose();

        using Tensor m0 = bn.RunningMean(0), m1 = bn.RunningMean(1), v1 = bn.RunningVar(1);
        using Tensor want0 = x0.mean([0L, 2L, 3L]), want1 = x1.mean([0L, 2L, 3L]), wantVar1 = x1.var([0L, 2L, 3L]);
        Assert.True(m0.allclose(want0, rtol: 1e-5, atol: 1e-5));
        Assert.True(m1.allclose(want1, rtol: 1e-5, atol: 1e-5));
        Assert.True(v1.allclose(wantVar1, rtol: 1e-4, atol: 1e-4));

        // eval: timestep t is normalised with t's statistics; later timesteps reuse the last set
        bn.eval();
        bn.Timestep = 5;
        using Tensor y = bn.forward(x1);
        using Tensor expected = (x1 - want1.reshape(1, 2, 1, 1)) / (wantVar1.reshape(1, 2, 1, 1) + 1e-5).sqrt();
        Assert.True(y.allclose(expected, rtol: 1e-4, atol: 1e-4));
    }

    [Fact]
    public void Should_StoreStatisticsAsStepsByChannels_When_SavedInANetwork()
    {
        SnnArchitecture arch = SnnArchitecture.Default with { Macro = SnnArchitecture.Default.Macro with { Timesteps = 3 } };
        using var net = new SpikingNetwork(arch);
        var state = net.state_dict();
        Assert.Equal([3L, 16L], state["cell1.o01.bn.running_mean"].shape);
        Assert.Equal([3L, 32L], state["last.bn.running_var"].shape);
        Assert.Equal([1L, 16L], state["stem.bn.running_mean"].shape); // the stem runs once: one set
        Assert.Equal([16L], state["cell1.o01.bn.weight"].shape); // affine shared by all timesteps
        Assert.Equal(arch.ParameterCount(), net.parameters().Sum(p => p.numel()));
    }
}
