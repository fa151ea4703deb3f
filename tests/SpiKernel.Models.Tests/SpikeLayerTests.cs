using SpiKernel.Models.Architecture;
using SpiKernel.Models.Network;
using SpiKernel.Models.Search;
using static TorchSharp.torch;

namespace SpiKernel.Models.Tests;

public class SpikeLayerTests
{
    public static TheoryData<int> Seeds => new() { 1, 2, 3, 4, 5, 6 };

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Should_MatchTheBuiltNetworksLifLayers_When_ArchitectureIsSampled(int seed)
    {
        var rng = new Random(seed);
        KernelSet kernels = seed % 2 == 0 ? KernelSet.Parse("1,3,5,7") : KernelSet.Snasnet;
        CellTopology cell = CellSampler.Sample(rng, kernels, seed % 3 == 0 ? CellKind.Backward : CellKind.Forward);
        SnnArchitecture arch = SnnArchitecture.Default with
        {
            Cell = cell,
            Kernels = kernels,
            Macro = SnnArchitecture.Default.Macro with { BaseChannels = 4, Hidden = 8, Timesteps = 2, SecondPool = 1 + seed % 2 },
        };
        using var net = new SpikingNetwork(arch);
        IReadOnlyList<SpikeLayer> layers = arch.SpikeLayers();
        Assert.Equal(net.LifLayers().Select(l => l.Path), layers.Select(l => l.Path));

        // neurons per timestep = elements each LIF layer sees for one image
        var seen = new Dictionary<string, long>();
        foreach ((string path, var lif) in net.LifLayers())
            lif.SpikeObserver = (_, spikes) => seen[path] = spikes.numel() / spikes.shape[0];
        net.eval();
        using (no_grad())
        using (Tensor x = randn(3, 1, 28, 28))
            net.forward(x).Dispose();
        Assert.Equal(layers.Select(l => l.Neurons), net.LifLayers().Select(l => seen[l.Path]));

        // every MAC after the stem is driven by one layer's spikes
        double synapses = layers.Sum(l => l.Neurons * l.FanOut) * arch.Macro.Timesteps;
        Assert.Equal(arch.MacCount() - arch.StemMacCount(), synapses, 6);
        Assert.Equal(arch.StemMacCount() + (arch.MacCount() - arch.StemMacCount()) / arch.Macro.Timesteps, arch.AnnMacCount());
    }
}
