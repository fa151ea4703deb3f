using SpiKernel.Cli;
using SpiKernel.Core;
using SpiKernel.Core.Csv;
using SpiKernel.Evaluators.Results;
using SpiKernel.Pipeline.Ranking;
using SpiKernel.Pipeline.Run;
using SpiKernel.Pipeline.Stages;

namespace SpiKernel.Pipeline.Tests;

/// <summary>The report on hand-made folders: missing inputs become notes, bad inputs one clear line, same inputs the same bytes.</summary>
public class ReportTests
{
    private static EvaluationRow Row(string model, string profile, double acc, double p50, long parameters, string precision = "fp32") => new()
    {
        TimestampUtc = "2026-12-01T00:00:00.000Z", Model = model, CandidateId = "id-" + model, ModelPath = $"/elsewhere/{model}.onnx", Profile = profile,
        Provider = profile == "edge" ? "CPUExecutionProvider" : "CPUExecutionProvider", Precision = precision, BatchSize = 1, Status = EvaluationStatus.Ok,
        AccuracyTop1 = acc, LatencyP50Ms = p50, LatencyP90Ms = p50 * 1.1, LatencyP95Ms = p50 * 1.2, LatencyP99Ms = p50 * 1.5, Parameters = parameters, MeasuredRuns = 100,
        TestSamples = 2000, CpuModel = "Test CPU", Cores = 2, Os = "Linux", OrtVersion = "1.31.0", IntraOpThreads = profile == "edge" ? 1 : 2,
    };

    /// <summary>A folder with only results.csv (measured elsewhere) and the ranking of it, as evaluate + rank leave it.</summary>
    internal static TempDir ResultsOnlyFolder(string firstModel = "fast")
    {
        var dir = new TempDir();
        var layout = new RunLayout(dir.Path);
        CsvFile.WriteAll(layout.Results, new[]
        {
            Row(firstModel, "cpu", 0.80, 1.0, 100), Row("exact", "cpu", 0.90, 3.0, 300), Row("worse", "cpu", 0.79, 3.5, 400),
            Row(firstModel, "edge", 0.79, 2.0, 100, "int8"), Row("exact", "edge", 0.89, 6.0, 300, "int8"),
            Row(firstModel, "cuda", 0, 0, 100) with { Status = EvaluationStatus.Skipped, AccuracyTop1 = null, LatencyP50Ms = null, Reason = "no CUDA libraries here" },
        });
        new RankStage().Run(new RankStageOptions([layout.Results], layout.Ranking, [Constraint.Parse("latency_p50_ms<=5@edge")], Objective.Defaults),
            NullProgress.Instance, default);
        return dir;
    }

    [Theory] // 84.1 % against 83.8 % on 2,000 images: no clear difference, and the report says so; without counts, no bars
    [InlineData(2000)]
    [InlineData(null)]
    public void Should_SayWhenAccuracyDecidedWithoutAClearDifference_When_TheImagesAreCounted(int? samples)
    {
        using var dir = new TempDir();
        var layout = new RunLayout(dir.Path);
        CsvFile.WriteAll(layout.Results, new[] { Row("a", "cpu", 0.841, 2.0, 100), Row("b", "cpu", 0.838, 1.0, 100) }.Select(r => r with { TestSamples = samples }));
        new RankStage().Run(new RankStageOptions([layout.Results], layout.Ranking, [], Objective.Defaults), NullProgress.Instance, default);
        string md = File.ReadAllText(new ReportStage().Run(new ReportStageOptions(dir.Path), NullProgress.Instance, default).MarkdownPath);
        Assert.Equal(samples is not null, md.Contains("not a clear difference on 2,000 test images (p = 0.80, two-proportion z-test)", StringComparison.Ordinal));
        Assert.Equal(samples is not null, md.Contains("Vertical bars", StringComparison.Ordinal));
        Assert.Equal(samples is not null, md.Contains("84.10 % (82.4–85.6)", StringComparison.Ordinal));
        if (samples is null) return;

        // with each image's answer the report compares the two as rank does, image by image
        (string a, string b) = RankingEvidenceTests.Answers(1666, 16, 10);
        CsvFile.WriteAll(layout.Results, new[] { Row("a", "cpu", 0.841, 2.0, 100) with { CorrectBits = a }, Row("b", "cpu", 0.838, 1.0, 100) with { CorrectBits = b } });
        new RankStage().Run(new RankStageOptions([layout.Results], layout.Ranking, [], Objective.Defaults), NullProgress.Instance, default);
        md = File.ReadAllText(new ReportStage().Run(new ReportStageOptions(dir.Path), NullProgress.Instance, default).MarkdownPath);
        Assert.Contains("not a clear difference on 2,000 test images (p = 0.33, McNemar's exact test on the same images)", md, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_HashEachTrainingsCheckpoint_When_TheReportsInputsAreListed()
    {
        // the score section reads a training's test accuracy from its checkpoint.json: a change there is a changed input
        using TempDir dir = ResultsOnlyFolder();
        var layout = new RunLayout(dir.Path);
        string train = layout.TrainFolder("id-fast");
        Directory.CreateDirectory(train);
        File.WriteAllText(Path.Combine(train, "checkpoint.json"), "{}");
        Assert.Contains(Path.Combine(train, "checkpoint.json"), Reports.ReportInputs.Files(layout));
    }

    [Fact]
    public void Should_RenderEverySectionWithANote_When_OnlyResultsAndRankingExist()
    {
        using TempDir dir = ResultsOnlyFolder();
        ReportStageResult result = new ReportStage().Run(new ReportStageOptions(dir.Path), NullProgress.Instance, default);

        Assert.Equal(["recommendations", "tradeoffs", "latency", "size", "mlnet"], result.Present);
        Assert.Equal(["layers", "score-vs-accuracy", "search", "kernel-study", "training", "configuration"], result.Missing.Select(m => m.Split(':')[0]));
        string md = File.ReadAllText(result.MarkdownPath), html = File.ReadAllText(result.HtmlPath);
        Assert.Contains("No selection.csv in the run folder: `spikernel run` writes it", html.Replace("&#96;", "`"));
        Assert.Contains("spikernel search --out RUN/search", md);
        Assert.Contains("exact", md);
        Assert.Contains("decided by accuracy_top1 (0.9 vs 0.8 of fast) among", md); // ten points apart on 2,000 images: no interval note
        Assert.Contains("| 90.00 % (88.6–91.2) |", md); // with its 95 % interval over the 2,000 test images
        Assert.Contains("Vertical bars: each accuracy's 95 % interval", md);
        Assert.Contains("latency_p50_ms<=5@edge excluded 1", html.Replace("&lt;", "<"));
        Assert.Contains("cuda: nothing measured", md); // in the trade-off section, not silently left out
        Assert.Contains("Measured on Test CPU (2 logical processors, Linux), ONNX Runtime 1.31.0, 1 intra-op thread.", md); // edge: a setting of this host
        Assert.Equal(5, CountOf(html, "<svg")); // cpu and edge trade-offs, cpu and edge latency, size — and none for missing sections
        Assert.DoesNotContain("http://", html);
        Assert.DoesNotContain("https://", html);
        Assert.True(new ReportStage().IsComplete(new ReportStageOptions(dir.Path)));
    }

    [Fact]
    public void Should_ShowTheNewestMeasurementAndMarkPredictions_When_ModelsWereEvaluatedAgainOrPredicted()
    {
        using TempDir dir = ResultsOnlyFolder();
        var layout = new RunLayout(dir.Path);
        // exact measured again on cpu (worse now), and fast's layer rows written twice (evaluated twice into one file)
        CsvFile.WriteAll(layout.Results, [.. CsvFile.ReadAll<EvaluationRow>(layout.Results), Row("exact", "cpu", 0.70, 3.0, 300) with { TimestampUtc = "2026-12-02T00:00:00.000Z" }]);
        LayerRow Layer(int i) => new() { Model = "fast", CandidateId = "id-fast", Profile = "cpu", Precision = "fp32", LayerIndex = i, Layer = $"l{i}", Neurons = 10, Timesteps = 2, SpikesPerSample = 3, SynopsPerSample = 30 };
        CsvFile.WriteAll(EvaluateStage.LayersPath(layout.Results), [Layer(0), Layer(1), Layer(0), Layer(1)]);
        new RankStage().Run(new RankStageOptions([layout.Results], layout.Ranking, [], Objective.Defaults), NullProgress.Instance, default);
        // as rank --predictor leaves it: the edge recommendation's latency predicted
        List<RankingRow> ranking = CsvFile.ReadAll<RankingRow>(layout.Ranking);
        CsvFile.WriteAll(layout.Ranking, ranking.Select(r => r.Recommended && r.Profile == "edge" ? r with { LatencySource = LatencySource.Predicted } : r));

        string md = File.ReadAllText(new ReportStage().Run(new ReportStageOptions(dir.Path), NullProgress.Instance, default).MarkdownPath);

        Assert.Contains("most accurate exact (int8): 89.00 %", md); // exact fp32's newest row says 70 %, not its first 90 %
        Assert.Contains("6 spikes per sample in 2 layers", md); // each layer once, the newest
        string[] marked = md.Split('\n').Where(l => l.Contains("(predicted)")).ToArray();
        Assert.True(marked.Length == 2, string.Join('\n', marked)); // the recommendations table and the edge trade-off's caption
        Assert.Contains(marked, l => l.StartsWith("Recommended: ", StringComparison.Ordinal) || l.Contains(" Recommended: "));
    }

    [Fact]
    public void Should_CountTheRowsTheRankingCounts_When_AModelFailedAfterItsMeasurement()
    {
        using TempDir dir = ResultsOnlyFolder();
        var layout = new RunLayout(dir.Path);
        // exact fp32 on cpu failed when measured again: its 90 % row no longer counts, in the ranking or in the report
        EvaluationRow failed = Row("exact", "cpu", 0, 0, 300) with
        {
            TimestampUtc = "2026-12-02T00:00:00.000Z", Status = EvaluationStatus.Failed, Reason = "model file changed",
            AccuracyTop1 = null, LatencyP50Ms = null, LatencyP90Ms = null, LatencyP95Ms = null, LatencyP99Ms = null,
        };
        CsvFile.WriteAll(layout.Results, [.. CsvFile.ReadAll<EvaluationRow>(layout.Results), failed]);
        new RankStage().Run(new RankStageOptions([layout.Results], layout.Ranking, [], Objective.Defaults), NullProgress.Instance, default);
        Assert.Equal(RankStatus.Unmeasured, CsvFile.ReadAll<RankingRow>(layout.Ranking).Single(r => r.Model == "exact" && r.Profile == "cpu").Status);

        string md = File.ReadAllText(new ReportStage().Run(new ReportStageOptions(dir.Path), NullProgress.Instance, default).MarkdownPath);

        Assert.Contains("most accurate exact (int8): 89.00 %", md); // not exact fp32's voided 90 %
        Assert.DoesNotContain("| exact | fp32 |", md);               // nor its latencies
        Assert.Contains("| fast | fp32 |", md);
    }

    [Fact]
    public void Should_WriteTheSameBytes_When_TheInputsAreTheSame()
    {
        using TempDir dir = ResultsOnlyFolder();
        ReportStageResult first = new ReportStage().Run(new ReportStageOptions(dir.Path), NullProgress.Instance, default);
        string md = File.ReadAllText(first.MarkdownPath), html = File.ReadAllText(first.HtmlPath);
        ReportStageResult second = new ReportStage().Run(new ReportStageOptions(dir.Path), NullProgress.Instance, default);

        static string WithoutTime(string s) => string.Join('\n', s.Split('\n').Where(l => !l.Contains("Generated ")));
        Assert.Equal(WithoutTime(md), WithoutTime(File.ReadAllText(second.MarkdownPath)));
        Assert.Equal(WithoutTime(html), WithoutTime(File.ReadAllText(second.HtmlPath)));
    }

    [Fact]
    public void Should_EscapeNamesFromTheCsv_When_TheyLookLikeMarkup()
    {
        using TempDir dir = ResultsOnlyFolder("<script>alert(1)</script>");
        ReportStageResult result = new ReportStage().Run(new ReportStageOptions(dir.Path), NullProgress.Instance, default);

        string html = File.ReadAllText(result.HtmlPath), md = File.ReadAllText(result.MarkdownPath);
        Assert.DoesNotContain("<script", html);
        Assert.Contains("&lt;script&gt;", html);
        Assert.Contains("\\<script\\>", md);
        Assert.DoesNotMatch(@"(?<!\\)<script", md);
    }

    [Fact]
    public void Should_FailWithOneLine_When_TheRunFolderDoesNotExist()
    {
        using var dir = new TempDir();
        CliTests.AssertOneLineError(CliTests.Run("report", dir.File("nowhere")), ExitCodes.InputError, "no such run folder");
    }

    [Fact]
    public void Should_FailWithOneLineAndWriteNothing_When_TheFolderHoldsNoRun()
    {
        using var dir = new TempDir();
        CliTests.AssertOneLineError(CliTests.Run("report", dir.Path), ExitCodes.InputError, "not a run folder (none of run.json");
        Assert.Empty(Directory.GetFileSystemEntries(dir.Path));

        File.WriteAllText(dir.File("run.json"), "{bad json");
        CliTests.AssertOneLineError(CliTests.Run("report", dir.Path), ExitCodes.InputError, "run.json: not valid JSON");
        Assert.False(File.Exists(dir.File("report.html")));
    }

    [Fact]
    public void Should_FailWithOneLine_When_ResultsCsvMissesColumns()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("results.csv"), "model,profile,status\nm,cpu,ok\n");
        CliTests.AssertOneLineError(CliTests.Run("report", dir.Path), ExitCodes.InputError,
            "results.csv: not a results CSV of spikernel evaluate (missing columns precision, batch_size, latency_p50_ms)");
        Assert.False(File.Exists(dir.File("report.html")));
    }

    [Fact]
    public void Should_ReportTheCompleteRows_When_ARunIsStillAppendingToItsResults()
    {
        // a report of a folder whose run is writing (or was killed mid-row): the last line has no newline yet
        using TempDir dir = ResultsOnlyFolder();
        string results = dir.File("results.csv");
        string complete = File.ReadAllText(results);
        File.AppendAllText(results, complete.Split('\n')[1][..40]);
        var r = CliTests.Run("report", dir.Path);
        Assert.True(r.Code == 0, r.Err);
        Assert.True(File.Exists(dir.File("report.html")));
        Assert.EndsWith(complete.Split('\n')[1][..40], File.ReadAllText(results)); // read, not repaired: the run owns the file

    }

    [Fact]
    public void Should_FailWithOneLine_When_ACsvHoldsAValueOfTheWrongType()
    {
        using TempDir dir = ResultsOnlyFolder();
        string ranking = dir.File("ranking.csv");
        File.WriteAllText(ranking, File.ReadAllText(ranking).Replace("cpu,1,feasible", "cpu,one,feasible"));
        CliTests.AssertOneLineError(CliTests.Run("report", dir.Path), ExitCodes.InputError, "ranking.csv: not a ranking CSV the tool can read");
    }

    [Fact]
    public void Should_FailWithOneLine_When_TheSelectionCsvIsNotOne()
    {
        using TempDir dir = ResultsOnlyFolder();
        File.WriteAllText(dir.File("selection.csv"), "candidate_id,score\nabc,1.5\n");
        CliTests.AssertOneLineError(CliTests.Run("report", dir.Path), ExitCodes.InputError, "selection.csv: not a selection CSV of spikernel run (missing column role)");
    }

    [Fact]
    public void Should_WriteIntoTheOutFolder_When_OutIsGiven()
    {
        using TempDir dir = ResultsOnlyFolder();
        using var outDir = new TempDir();
        string target = Path.Combine(outDir.Path, "not", "there", "yet"); // created like a run folder
        (int code, string stdout, _) = CliTests.Run("report", dir.Path, "--out", target);

        Assert.Equal(0, code);
        Assert.Contains("report.html", stdout);
        Assert.True(File.Exists(Path.Combine(target, "report.md")));
        Assert.Contains("spikernel report", File.ReadAllText(Path.Combine(target, "report.html")));
    }

    private static int CountOf(string text, string what)
    {
        int n = 0;
        for (int i = text.IndexOf(what, StringComparison.Ordinal); i >= 0; i = text.IndexOf(what, i + 1, StringComparison.Ordinal)) n++;
        return n;
    }

    [Fact]
    public void Should_DrawNumbersTheInvariantWay_When_TheProcessRunsUnderAnotherCulture()
    {
        // ScottPlot's tick labels follow the current culture: the kernel study's plots and the report's draw under the invariant one
        System.Globalization.CultureInfo saved = System.Globalization.CultureInfo.CurrentCulture;
        try
        {
            System.Globalization.CultureInfo.CurrentCulture = new System.Globalization.CultureInfo("de-DE");
            Assert.Equal("0.05 85.5", Core.InvariantScope.Run(() => $"{0.05} {85.5}"));
            Assert.Equal("de-DE", System.Globalization.CultureInfo.CurrentCulture.Name); // given back afterwards
        }
        finally
        {
            System.Globalization.CultureInfo.CurrentCulture = saved;
        }
    }

}
