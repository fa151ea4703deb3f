using SpiKernel.Core.Csv;
using SpiKernel.Evaluators.Results;
using SpiKernel.Pipeline.Ranking;

namespace SpiKernel.Pipeline.Tests;

/// <summary>What <c>spikernel rank</c> prints: a readable summary of ranking.csv, however many rows it has.</summary>
public class RankCommandTests
{
    [Fact]
    public void Should_PrintTheFirstRowsAndCountTheRest_When_ManyModelsAreRanked()
    {
        // a predictor's candidates made rank print every row (200 on the quick run's search) and one line per unmeasured model
        using var dir = new TempDir();
        IEnumerable<EvaluationRow> rows = Enumerable.Range(0, 14).Select(i => RankingTests.M($"m{i:00}", "cpu", 0.5 + i * 0.01, 1.0 + i, 100 + i).Row)
            .Concat(Enumerable.Range(0, 5).Select(i => RankingTests.M($"m{i:00}", "edge", 0, 0, 0, status: EvaluationStatus.Failed, reason: "broken").Row));
        CsvFile.WriteAll(dir.File("r.csv"), rows);
        var r = CliTests.Run("rank", dir.File("r.csv"), "--objective", "latency_p50_ms:min", "--objective", "accuracy_top1:max", "--out", dir.File("ranking.csv"));
        Assert.True(r.Code == 0, r.Err);
        string[] table = r.Out.Split('\n').Where(l => l.Contains("│ cpu ", StringComparison.Ordinal)).ToArray();
        Assert.Equal(10, table.Length);
        Assert.Contains("has every row: 4 more on cpu batch 1", r.Out);
        // 14 unmeasured on edge (five failed, nine without rows there): three named, the rest counted
        Assert.Equal(3, r.Out.Split('\n').Count(l => l.StartsWith("unmeasured m", StringComparison.Ordinal)));
        Assert.Contains("unmeasured on edge: 11 more models", r.Out);
        Assert.Equal(14 + 5 + 9, CsvFile.ReadAll<RankingRow>(dir.File("ranking.csv")).Count);
    }
}
