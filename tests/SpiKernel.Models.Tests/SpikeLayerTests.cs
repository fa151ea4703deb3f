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

        // neurons per timestep = elements each LIF layer sees for one image; steps = the calls it gets per inference
        var seen = new Dictionary<string, long>();
        var calls = net.LifLayers().ToDictionary(l => l.Path, _ => 0);
        foreach ((string path, var lif) in net.LifLayers())
            lif.SpikeObserver = (_, spikes) => { seen[path] = spikes.numel() / spikes.shape[0]; calls[path]++; };
        net.eval();
        using (no_grad())
        using (Tensor x = randn(3, 1, 28, 28))
            net.forward(x).Dispose();
        Assert.Equal(layers.Select(l => l.Neurons), net.LifLayers().Select(l => seen[l.Path]));
        Assert.Equal(layers.Select(l => l.Steps), net.LifLayers().Select(l => calls[l.Path]));

        // every MAC after the stem is driven by one layer's spikes, on the timesteps it runs
        double synapses = layers.Sum(l => l.Neurons * l.FanOut * l.Steps);
        Assert.Equal(arch.MacCount() - arch.StemMacCount(), synapses, 6);
        // the non-spiking network: every layer once, feedback edges included
        Assert.Equal(arch.StemMacCount() + layers.Sum(l => l.Neurons * l.FanOut), arch.AnnMacCount(), 6);
    }

    [Fact]
    public void Should_CountFeedbackEdgesOneTimestepLess_When_TheCellIsBackward()
    {
        // SNASNet's cell: feedback convolutions 2 → 0 (1×1) and 3 → 1 (1×1)
        SnnArchitecture arch = SnnArchitecture.FashionMnistSmall;
        int t = arch.Macro.Timesteps;
        IReadOnlyList<SpikeLayer> layers = arch.SpikeLayers();
        Assert.Equal(["cell1.o20.lif", "cell1.o31.lif", "cell2.o20.lif", "cell2.o31.lif"], layers.Where(l => l.Steps == t - 1).Select(l => l.Path));
        Assert.All(layers.Where(l => l.Steps != t - 1), l => Assert.Equal(t, l.Steps));
        long c1 = arch.Macro.Cell1Channels, c2 = arch.Macro.Cell2Channels;
        (int h1, int w1) = arch.Macro.StemSize;
        (int h2, int w2) = arch.Macro.Cell2Size;
        long feedbackPerStep = 2 * c1 * c1 * h1 * w1 + 2 * c2 * c2 * h2 * w2; // two 1×1 feedback convolutions per cell
        Assert.Equal(arch.StemMacCount() + t * (arch.AnnMacCount() - arch.StemMacCount()) - feedbackPerStep, arch.MacCount());
    }
}
