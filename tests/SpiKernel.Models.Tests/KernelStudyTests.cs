using SpiKernel.Models.Architecture;
using SpiKernel.Models.Search;

namespace SpiKernel.Models.Tests;

public class KernelStudyTests
{
    [Fact]
    public void Should_KeepTopologyWithOneConvSize_When_CellIsRewrittenForSizeK()
    {
        // SNASNet's cell under {1,3}: conv3 (3) and conv1 (2) both become conv5 (2 under {5}); avgpool 4 becomes 3
        (CellTopology cell, KernelSet set) = KernelStudy.SingleSize(CellTopology.Parse("0314 0030 2002 0200"), KernelSet.Snasnet, 5);
        Assert.Equal("0213 0020 2002 0200", cell.ToString());
        Assert.Equal("5", set.ToString());
        Assert.Equal(CellOp.Conv(5), set.Operation(2));
        Assert.Equal(CellOp.AvgPool, set.Operation(3));
    }

    [Fact]
    public void Should_RankByAccuracyGainedPerParameter_When_ProposingSets()
    {
        KernelStudyPoint[] points =
        [
            new("k1", 1, 1000, 0, 0.80, 1), // cheapest: the baseline
            new("k3", 3, 2000, 0, 0.86, 1), // +6 points for 1000 parameters
            new("k5", 5, 4000, 0, 0.87, 1), // +7 points for 3000
            new("k7", 7, 7000, 0, 0.865, 1), // +6.5 points for 6000
        ];
        IReadOnlyList<ProposedSet> sets = KernelStudy.Propose(points);
        Assert.Equal(["efficient-2", "efficient-3", "efficient-4", "most-accurate-2", "within-1pt"], sets.Select(s => s.Name));
        Assert.Equal("1,3", sets[0].Set.ToString());
        Assert.Equal("1,3,5", sets[1].Set.ToString());
        Assert.Equal("1,3,5,7", sets[2].Set.ToString()); // every size, in that order of gain per parameter
        Assert.Equal("5,7", sets[3].Set.ToString());
        Assert.Equal("3,5,7", sets[4].Set.ToString());
    }

    [Fact]
    public void Should_RoundTripProposals_When_WrittenAndReadBackAsSearchFile()
    {
        string path = Path.GetTempFileName();
        try
        {
            ProposedSet[] sets = [new("a", KernelSet.Parse("1,3"), "why a"), new("b", KernelSet.Parse("3,5,7"), "why b")];
            File.WriteAllText(path, "# header\n" + KernelStudy.Format(sets));
            var back = KernelStudy.ParseFile(path);
            Assert.Equal([("a", "1,3"), ("b", "3,5,7")], back.Select(s => (s.Name, s.Set.ToString())));
            File.WriteAllText(path, "broken line\n");
            Assert.Contains("line 1: expected 'name: sizes'", Assert.Throws<InvalidDataException>(() => KernelStudy.ParseFile(path)).Message);
            File.WriteAllText(path, "x: 2,4\n");
            Assert.Contains("Kernel size 2 is not allowed", Assert.Throws<InvalidDataException>(() => KernelStudy.ParseFile(path)).Message);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
