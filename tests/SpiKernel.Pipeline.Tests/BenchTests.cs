using SpiKernel.Core;
using SpiKernel.Exporters;
using SpiKernel.Models.Architecture;
using SpiKernel.Models.Network;
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
        // two candidates: τ is +1 when the better score trained better, −1 when worse, undefined (NaN) on a tie
        (QualityRow a, QualityRow b) = (result.Rows[0], result.Rows[1]);
        double tau = a.TestAccuracy == b.TestAccuracy || a.Score == b.Score ? double.NaN : Math.Sign(a.Score - b.Score) * Math.Sign(a.TestAccuracy - b.TestAccuracy);
        Assert.Equal(tau, result.KendallTau);
    }

    [Theory]
    [InlineData("0303 0030 2002 0200", 36)] // stem + 2 cells × (4 forward edges × T + 2 feedback edges × (T − 1)) + down × T
    [InlineData("0121 0013 0002 0000", 22)] // stem + 2 cells × 3 convolution edges × T + down × T (skips are no convolution)
    public void Should_TimeEveryConvolutionCallOfAStep_When_TheConvolutionFloorIsMeasured(string cell, int calls)
    {
        SnnArchitecture arch = SnnArchitecture.Parse($"cell=\"{cell}\" kernels=1,3 input=1x16x16 channels=16 stem-stride=2 hidden=24 classes=4 cluster=2 sap=2 timesteps=3");
        using var net = new SpikingNetwork(arch);

        ConvolutionFloorResult floor = ConvolutionFloor.Measure(net, batch: 8, rounds: 2);

        Assert.Equal(calls, floor.Calls);
        Assert.True(floor.MsPerStep > 0);
        Assert.Equal(8 * 1000.0 / floor.MsPerStep, floor.ImagesPerSecondCeiling, 9);
    }

    [Fact]
    public void Should_MeasureFp32AndInt8InBothLayoutsOnEveryProfile_When_ExportBenchRuns()
    {
        var options = new ExportBenchOptions(SmallRuns: 2, LargeRuns: 1, Rounds: 1, Batches: [1], Networks: ["quickstart"]);

        ExportBenchResult result = ExportBench.Run(options, NullProgress.Instance, CancellationToken.None);

        string[] ort = ["ORT fp32 batched", "ORT fp32 step", "ORT int8 batched", "ORT int8 step"];
        Assert.Equal(["TorchSharp eager", .. ort, "TorchSharp eager", .. ort, .. ort], result.Rows.Select(r => r.Engine));
        Assert.Equal(["cpu/1", "cpu/2", "edge/1"], result.Rows.Select(r => $"{r.Profile}/{r.Threads}").Distinct());
        Assert.All(result.Rows, r => Assert.True(r.Network == "quickstart" && r.Batch == 1 && r.P50Ms > 0 && r.P90Ms >= r.P50Ms));
        Assert.All(result.Rows.Where(r => r.Profile == "edge"), r => Assert.Null(r.VsTorchSharp)); // TorchSharp runs with the cpu settings only
        foreach (IGrouping<string, ExportBenchRow> setting in result.Rows.GroupBy(r => $"{r.Profile}/{r.Threads}"))
        {
            // one round: each ratio is the ratio of the two rows' p50s (same layout for int8 vs fp32, same precision for batched vs step)
            ExportBenchRow Row(string engine) => setting.Single(r => r.Engine == engine);
            foreach (string layout in new[] { "batched", "step" })
                Assert.Equal(Row($"ORT fp32 {layout}").P50Ms / Row($"ORT int8 {layout}").P50Ms, Row($"ORT int8 {layout}").Int8VsFp32!.Value, 9);
            Assert.Equal(Row("ORT int8 step").P50Ms / Row("ORT int8 batched").P50Ms, Row("ORT int8 batched").BatchedVsStep!.Value, 9);
            Assert.Null(Row("ORT fp32 batched").Int8VsFp32);
        }
        Assert.Empty(result.Targets); // the forward-cell targets need the forward cell at batch 1

        // the int8 summary: one group per setting, its two layouts' int8 rows in the order measured
        IReadOnlyList<ExportBenchRatios> int8 = result.ByLayout(r => r.Int8VsFp32, _ => true);
        Assert.Equal(["cpu/1", "cpu/2", "edge/1"], int8.Select(g => $"{g.Profile}/{g.Threads}"));
        Assert.All(int8, g => Assert.Equal([TimestepLayout.Batched, TimestepLayout.Step], g.Layouts.Select(l => l.Layout)));
        Assert.Equal(result.Rows.Where(r => r.Int8VsFp32 is not null).Select(r => r.Int8VsFp32!.Value), int8.SelectMany(g => g.Layouts.Select(l => l.Ratio)));
    }

    [Fact]
    public void Should_TimeEveryFileWithoutItsConvolutionsToo_When_ExportBenchRunsWithoutConv()
    {
        using var dir = new TempDir();
        var options = new ExportBenchOptions(SmallRuns: 2, LargeRuns: 1, Rounds: 1, Batches: [1], KeepDirectory: dir.Path, Networks: ["quickstart"],
            WithoutConvolutions: true);

        ExportBenchResult result = ExportBench.Run(options, NullProgress.Instance, CancellationToken.None);

        string[] ort = ["ORT fp32 batched", "ORT fp32 step", "ORT int8 batched", "ORT int8 step"];
        string[] files = [.. ort, .. ort.Select(e => $"{e} without conv")];
        Assert.Equal(["TorchSharp eager", .. files, "TorchSharp eager", .. files, .. files], result.Rows.Select(r => r.Engine));
        Assert.Equal(8, Directory.GetFiles(dir.Path, "quickstart-*.onnx").Length);
        foreach (IGrouping<string, ExportBenchRow> setting in result.Rows.GroupBy(r => $"{r.Profile}/{r.Threads}"))
        {
            ExportBenchRow Row(string engine) => setting.Single(r => r.Engine == engine);
            foreach (string file in new[] { "fp32", "int8" })
                foreach (string layout in new[] { "batched", "step" })
                {
                    ExportBenchRow free = Row($"ORT {file} {layout} without conv");
                    // one round: the fp32 file (same layout, with its convolutions) over this file without them
                    Assert.Equal(Row($"ORT fp32 {layout}").P50Ms / free.P50Ms, free.FreeConvVsFp32!.Value, 9);
                    Assert.Null(free.VsTorchSharp);
                    Assert.Null(free.Int8VsFp32);
                    Assert.Null(Row($"ORT {file} {layout}").FreeConvVsFp32);
                }
        }
    }
}
