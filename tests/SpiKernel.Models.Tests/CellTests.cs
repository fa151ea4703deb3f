using SpiKernel.Models.Architecture;
using SpiKernel.Models.Lif;
using SpiKernel.Models.Network;
using TorchSharp;
using static TorchSharp.torch;

namespace SpiKernel.Models.Tests;

public class CellTests
{
    private const int Channels = 4;

    /// <summary>method.md's formulas written out literally, zero edges included as x·0, over the cell's own ops.</summary>
    private static List<Tensor> Reference(SpikingCell cell, Tensor x0, int steps)
    {
        CellTopology m = cell.Topology;
        Tensor Op(int i, int j, Tensor x) => m[i, j] switch
        {
            0 => x * 0,
            1 => x,
            _ => cell.Operation(i, j)!.forward(x),
        };
        Tensor l0 = zeros_like(x0), l1 = zeros_like(x0), l2 = zeros_like(x0);
        var outputs = new List<Tensor>();
        for (int t = 0; t < steps; t++)
        {
            Tensor a0 = x0 + l0;
            Tensor x1 = Op(0, 1, a0);
            Tensor a1 = x1 + l1;
            Tensor x2 = Op(0, 2, a0) + Op(1, 2, a1);
            Tensor a2 = x2 + l2;
            Tensor x3 = Op(0, 3, a0) + Op(1, 3, a1) + Op(2, 3, a2);
            l0 = Op(1, 0, a1) + Op(2, 0, a2) + Op(3, 0, x3);
            l1 = Op(2, 1, a2) + Op(3, 1, x3);
            l2 = Op(3, 2, x3);
            outputs.Add(x3);
        }
        return outputs;
    }

    [Theory]
    [InlineData("0303 0030 2002 0200", "1,3")]   // SNASNet's backward cell
    [InlineData("0332 0003 0003 0000", "1,3")]   // forward cell
    [InlineData("0414 0041 1004 0100", "1,3")]   // pooling and skips, with feedback
    [InlineData("0234 0005 3002 0100", "3,5,7")]
    [InlineData("0100 0001 0000 0000", "1,3")]   // skips only: the output is the input itself
    public void Should_MatchLiteralFormulas_When_ZeroEdgesAreSkipped(string matrix, string kernels)
    {
        manual_seed(7);
        using var cell = new SpikingCell("cell", CellTopology.Parse(matrix), KernelSet.Parse(kernels), Channels, LifOptions.Default);
        using Tensor x0 = randn(3, Channels, 6, 6) * 2;

        cell.ResetState();
        var fast = Enumerable.Range(0, 4).Select(_ => cell.Step(x0, computeFeedback: true)).ToList();
        cell.ResetState();
        List<Tensor> slow = Reference(cell, x0, 4);

        for (int t = 0; t < 4; t++)
            Assert.True(fast[t].allclose(slow[t], rtol: 1e-6, atol: 1e-6), $"timestep {t} differs");
    }

    [Theory]
    [InlineData("0320 0003 0000 0000")]   // node 2 cannot reach the output
    [InlineData("0300 0003 0103 0000")]   // node 2 cannot be reached from the input
    public void Should_ComputeSameOutput_When_DeadNodesArePruned(string matrix)
    {
        CellTopology topology = CellTopology.Parse(matrix);
        manual_seed(3);
        using var pruned = new SpikingCell("cell", topology, KernelSet.Snasnet, Channels, LifOptions.Default);
        using var full = new SpikingCell("cell", topology, KernelSet.Snasnet, Channels, LifOptions.Default, prune: false);
        // same weights on the edges both have; the dead node's ops keep their own
        var prunedParams = pruned.state_dict();
        using (no_grad())
        {
            foreach ((string name, Tensor value) in full.state_dict())
                if (prunedParams.TryGetValue(name, out Tensor? p)) value.copy_(p);
        }
        Assert.True(full.parameters().Count() > pruned.parameters().Count());

        using Tensor x0 = randn(2, Channels, 5, 5) * 2;
        pruned.ResetState();
        full.ResetState();
        for (int t = 0; t < 3; t++)
        {
            using Tensor a = pruned.Step(x0, true), b = full.Step(x0, true);
            Assert.True(a.allclose(b, rtol: 0, atol: 0), $"timestep {t} differs");
        }
    }

    [Fact]
    public void Should_BuildModulesOnlyForLiveConvAndPoolEdges_When_CellHasZeroAndSkipEdges()
    {
        using var cell = new SpikingCell("cell", CellTopology.Parse("0314 0020 0001 0000"), KernelSet.Snasnet, Channels, LifOptions.Default);
        string[] names = cell.named_children().Select(c => c.name).ToArray();
        Assert.Equal(new[] { "o01", "o03", "o12" }, names);
        Assert.Equal(new[] { "o01", "o12" }, cell.LifLayers().Select(l => l.Edge).ToArray());
    }
}
