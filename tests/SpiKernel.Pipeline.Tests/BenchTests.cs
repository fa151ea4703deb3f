using SpiKernel.Core;
using SpiKernel.Models.Search;
using SpiKernel.Pipeline.Bench;

namespace SpiKernel.Pipeline.Tests;

public class BenchTests
{
    [Fact]
    public void Should_WriteQualityCsvWithCandidateIds_When_SearchQualityBenchRunsInProcess()
    {
        using var dir = new TempDir();
        var options = new SearchQualityBenchOptions(TrainerTests.Tiny, dir.Path, Candidates: 2, Epochs: 1, Kernels: "1,3",
            Cell: CellKind.Forward, Data: TrainerTests.Small());

        SearchQualityBenchResult result = SearchQualityBench.Run(options, NullProgress.Instance, CancellationToken.None);

        Assert.Equal(2, result.Rows.Count);
        Assert.Equal(1, result.Rows.Min(r => r.Rank));
        Assert.All(result.Rows, r => Assert.True(Directory.Exists(Path.Combine(dir.Path, $"rank{r.Rank}"))));
        string[] lines = File.ReadAllLines(Path.Combine(dir.Path, SearchQualityBench.QualityFile));
        Assert.Equal("candidate_id,rank,cell,parameters,score,test_accuracy", lines[0]);
        Assert.Equal(3, lines.Length);
        Assert.All(result.Rows, r => Assert.Contains(lines, l => l.StartsWith(r.CandidateId + ",", StringComparison.Ordinal)));
        Assert.True(double.IsNaN(result.KendallTau) || Math.Abs(result.KendallTau) <= 1); // NaN when the two accuracies tie
    }
}
