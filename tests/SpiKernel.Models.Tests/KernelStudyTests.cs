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
    public void Should_ProposeTheParetoFrontCheapestFirst_When_ProposingSets()
    {
        KernelStudyPoint[] points =
        [
            new("k1", 1, 1000, 0, 0.80, 1),
            new("k3", 3, 2000, 0, 0.86, 1),
            new("k5", 5, 4000, 0, 0.85, 1), // costs more than k3 and gives less: never in an efficient set
            new("k7", 7, 7000, 0, 0.87, 1),
        ];
        IReadOnlyList<ProposedSet> sets = KernelStudy.Propose(points);
        // within-1pt would be {3,7}, most-accurate-2's set: proposed once
        Assert.Equal([("efficient-2", "1,3"), ("efficient-3", "1,3,7"), ("most-accurate-2", "3,7")], sets.Select(s => (s.Name, s.Set.ToString())));
        Assert.Contains("test accuracy", sets[0].Why); // no validation split: the test accuracy, and it says so
    }

    [Fact]
    public void Should_ChooseOnValidationAccuracy_When_TheStudyHeldSomeOut()
    {
        // by test accuracy k5 would be the best; by validation accuracy k3 is
        KernelStudyPoint[] points =
        [
            new("k1", 1, 1000, 0, 0.80, 1, ValAccuracy: 0.79),
            new("k3", 3, 2000, 0, 0.84, 1, ValAccuracy: 0.88),
            new("k5", 5, 4000, 0, 0.90, 1, ValAccuracy: 0.86),
        ];
        IReadOnlyList<ProposedSet> sets = KernelStudy.Propose(points);
        Assert.Equal(("efficient-2", "1,3"), (sets[0].Name, sets[0].Set.ToString()));
        Assert.DoesNotContain(sets, s => s.Name == "efficient-3"); // k5 is off the validation front
        Assert.Contains("validation accuracy", sets[0].Why);
        // one point exactly, as counts give it (249 and 269 of 2,000, where 269/2000 − 0.01 rounds above 249/2000): within
        KernelStudyPoint[] edge = [new("a", 1, 1000, 0, 269 / 2000.0, 1), new("b", 3, 2000, 0, 249 / 2000.0, 1), new("c", 5, 3000, 0, 260 / 2000.0, 1)];
        Assert.Equal("1,3,5", KernelStudy.Propose(edge).Single(s => s.Name == "within-1pt").Set.ToString());
    }

    [Fact]
    public void Should_SayWhichSizesExceedTheBudget_When_OneIsGiven()
    {
        KernelStudyPoint[] points = [new("k1", 1, 1000, 0, 0.80, 1), new("k3", 3, 2000, 0, 0.86, 1), new("k5", 5, 4000, 0, 0.87, 1)];
        IReadOnlyList<ProposedSet> sets = KernelStudy.Propose(points, budget: 1500);
        Assert.EndsWith("; k=3 alone exceeds the budget of 1,500 parameters, so most cells using it will not fit", sets[0].Why);
        Assert.Contains("k=3, k=5 alone exceed the budget", sets.Single(s => s.Set.ToString() == "1,3,5").Why);
        Assert.DoesNotContain("budget", KernelStudy.Propose(points)[0].Why);
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
