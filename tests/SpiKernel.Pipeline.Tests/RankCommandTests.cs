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

    [Fact]
    public void Should_RefuseInOneLine_When_AFigureIsOneNoMeasurementGives()
    {
        // an accuracy typed as a percentage was ranked (250 %) and recommended; so was a negative latency
        using var dir = new TempDir();
        string csv = dir.File("r.csv"), ranking = dir.File("ranking.csv");
        EvaluationRow good = RankingTests.M("a", "cpu", 0.8, 1.0, 100).Row;
        foreach ((EvaluationRow bad, string expected) in new[]
        {
            (good with { AccuracyTop1 = 2.5 }, "row 3, accuracy_top1: 2.5 is not a fraction of the test images (0 to 1)"),
            (good with { LatencyP50Ms = -5 }, "row 3, latency_p50_ms: -5 is not a measured figure (negative or not a number)"),
        })
        {
            CsvFile.WriteAll(csv, [good, bad with { Model = "b" }]);
            CliTests.AssertOneLineError(CliTests.Run("rank", csv, "--out", ranking), 1, $"{csv}: {expected}");
            CliTests.AssertOneLineError(CliTests.Run("predictor", "train", csv, "--out", dir.File("p.zip")), 1, $"{csv}: {expected}");
            Assert.False(File.Exists(ranking));
        }
        // a candidates file that is not one joined nothing, and the ranking went on as if none had been given
        File.WriteAllText(dir.File("fake.csv"), "hello world\n");
        CsvFile.WriteAll(csv, [good]);
        CliTests.AssertOneLineError(CliTests.Run("rank", csv, "--candidates", dir.File("fake.csv"), "--out", ranking), 1,
            $"{dir.File("fake.csv")}: not a candidates CSV of spikernel search (missing columns candidate_id, score)");
    }
}
