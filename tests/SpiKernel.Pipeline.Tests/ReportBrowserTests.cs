using SkiaSharp;
using SpiKernel.Core;
using SpiKernel.Evaluators.Measurement;
using SpiKernel.Evaluators.Providers;
using SpiKernel.Exporters;
using SpiKernel.Models.Architecture;
using SpiKernel.Models.Search;
using SpiKernel.Pipeline.Data;
using SpiKernel.Pipeline.Ranking;
using SpiKernel.Pipeline.Run;
using SpiKernel.Pipeline.Search;
using SpiKernel.Pipeline.Stages;
using SpiKernel.Pipeline.Training;

namespace SpiKernel.Pipeline.Tests;

/// <summary>
/// A small real run folder made with the stages (kernel study, search, selection with a control, training, export,
/// evaluation, ranking), reported, and opened in headless Chromium: it renders, every plot has a size, nothing is
/// logged as an error and nothing is fetched.
/// </summary>
public class ReportBrowserTests
{
    /// <summary>Where the screenshot of the last run is kept for a person to look at.</summary>
    public static string ScreenshotPath => Path.Combine(Path.GetTempPath(), "spikernel-report-test", "report.png");

    [Fact]
    public void Should_RenderInChromiumWithoutErrorsOrRequests_When_AReportOfARealRunIsOpened()
    {
        string browser = HeadlessChromium.Find()
            ?? throw new Xunit.Sdk.XunitException("Chromium is not installed: this test needs a real browser (apt-get install chromium; .ci/run installs it).");
        using var dir = new TempDir();
        using var data = new TempDir();
        RealSubset(data.Path, train: 400, test: 120);
        var layout = new RunLayout(dir.Path);
        MakeRun(layout, data.Path);

        ReportStageResult report = new ReportStage().Run(new ReportStageOptions(layout.Root, CommandLine: "spikernel run (test configuration)"), NullProgress.Instance, default);
        Assert.Empty(report.Missing);
        string html = File.ReadAllText(report.HtmlPath);
        Assert.DoesNotContain("http://", html);
        Assert.DoesNotContain("https://", html);
        Assert.Contains("href=\"models/", html);
        Assert.Contains("Each accuracy is over 120 test images: its 95 % interval is about &#177;", html); // what a handful of images cannot tell
        Assert.Matches(@"On 120 test images one accuracy is uncertain by about &#177;[0-9.]+ points \(95 %, the grey bars\); the two best sizes, k=[13] and k=[13], (are no clear difference|differ clearly) \((p = [0-9.]+|p < 0\.001), two-proportion z-test\)", html); // the kernel study's, chosen on test accuracy here (no split)

        PageLoad page = HeadlessChromium.Open(browser, report.HtmlPath, 1280, 4000);
        Directory.CreateDirectory(Path.GetDirectoryName(ScreenshotPath)!);
        File.WriteAllBytes(ScreenshotPath, page.Screenshot);
        File.Copy(report.HtmlPath, Path.ChangeExtension(ScreenshotPath, ".html"), overwrite: true);

        Assert.Empty(page.ConsoleErrors);
        Assert.Empty(page.Requests);
        Assert.Equal(html.Split("<svg").Length - 1, page.SvgSizes.Count);
        Assert.True(page.SvgSizes.Count >= 12, $"only {page.SvgSizes.Count} plots");
        Assert.All(page.SvgSizes, s => Assert.True(s.Width > 100 && s.Height > 100, $"a plot laid out at {s.Width}×{s.Height}"));
        using SKBitmap shot = SKBitmap.Decode(page.Screenshot);
        Assert.Equal(1280, shot.Width);
        SKColor background = shot.GetPixel(2, 2);
        long drawn = 0;
        for (int y = 0; y < shot.Height; y += 2)
            for (int x = 0; x < shot.Width; x += 2)
                if (shot.GetPixel(x, y) != background) drawn++;
        double share = drawn / (shot.Width / 2.0 * (shot.Height / 2.0));
        Assert.True(share > 0.3, $"only {share:P1} of the screenshot differs from the background");
    }

    /// <summary>The first <paramref name="train"/> and <paramref name="test"/> images of the embedded Fashion-MNIST as an IDX folder.</summary>
    private static void RealSubset(string dir, int train, int test)
    {
        DataSplit all = FashionMnist.LoadEmbedded();
        foreach ((string prefix, ImageDataset set, int n) in new[] { ("train", all.Train, train), ("t10k", all.Test, test) })
        {
            IdxWriter.Write(Path.Combine(dir, $"{prefix}-images-idx3-ubyte"), IdxWriter.Images(n, 28, 28, (i, p) => set.Pixels[i * 784 + p]), gzip: false);
            IdxWriter.Write(Path.Combine(dir, $"{prefix}-labels-idx1-ubyte"), IdxWriter.Labels(set.Labels.Take(n).Select(l => (byte)l).ToArray()), gzip: false);
        }
    }

    /// <summary>What <c>spikernel run</c> leaves, at toy size: every input of every report section.</summary>
    private static void MakeRun(RunLayout layout, string data)
    {
        var quick = new TrainOptions(Epochs: 1, BatchSize: 16, LearningRate: 0.01, ValidationFraction: 0, Threads: 2); // a high rate: 400 images must teach something
        new KernelStudyStage().Run(new KernelStudyOptions(TrainerTests.Tiny, KernelSet.Parse("1,3"), quick, layout.KernelStudy, data, ExplicitShape: true),
            NullProgress.Instance, default);
        Assert.Equal("candidate_id,kernel,parameters,macs,accuracy,train_seconds,val_accuracy,val_samples,test_samples,val_paired_p,status,reason", // as csv.md lists them
            File.ReadLines(Path.Combine(layout.KernelStudy, KernelStudyStage.CsvFile)).First());
        var search = new SearchOptions([("snasnet", KernelSet.Snasnet), ("k135", KernelSet.Parse("1,3,5"))], CellKind.Forward, Candidates: 5, Batch: 8, Repeat: 1, Top: 2, Seed: 2);
        SearchStageResult found = new SearchStage().Run(new SearchStageOptions(TrainerTests.Tiny, search, layout.Search, data, ExplicitShape: true, Threads: 2),
            NullProgress.Instance, default);

        List<CandidateRow> scored = [.. found.Search.Rows.Where(r => r.Rank is not null).OrderBy(r => r.Rank)];
        var chosen = scored.Take(2).Select(r => (Row: r, Role: SelectionRole.Top)).Append((Row: scored[^1], Role: SelectionRole.Control)).ToList();
        var selection = new List<SelectionRow>();
        foreach ((CandidateRow row, SelectionRole role) in chosen)
        {
            var train = new TrainStageOptions(SnnArchitecture.Parse(row.Architecture), quick with { Epochs = 2, ValidationFraction = 0.1 },
                layout.TrainFolder(row.CandidateId), data, ExplicitShape: true);
            TrainStageResult trained = new TrainStage().Run(train, NullProgress.Instance, default);
            Directory.CreateDirectory(layout.Models);
            new ExportStage().Run(new ExportStageOptions(train.OutputDirectory, layout.Model(row.CandidateId), new ExportOptions()), NullProgress.Instance, default);
            new ExportStage().Run(new ExportStageOptions(train.OutputDirectory, layout.Int8Model(row.CandidateId), new ExportOptions(Precision: WeightPrecision.Int8)),
                NullProgress.Instance, default);
            selection.Add(new SelectionRow
            {
                CandidateId = row.CandidateId, Role = role, Score = row.Score, ScoreRank = row.Rank, Parameters = row.Parameters, Status = SelectionStatus.Trained,
                AccuracyTop1 = trained.Training.TestAccuracy, Architecture = row.Architecture,
            });
        }
        Core.Csv.CsvFile.WriteAll(layout.Selection, selection);
        new EvaluateStage().Run(new EvaluateStageOptions(layout.Models, layout.Results, EvaluationProfile.ParseList("cpu,edge"), [1],
            new LatencyOptions(Warmup: 2, Repeats: 20), Data: data, Limit: 120), NullProgress.Instance, default);
        new RankStage().Run(new RankStageOptions([layout.Results], layout.Ranking, [], Objective.Defaults, layout.Candidates), NullProgress.Instance, default);
        File.WriteAllText(layout.Config, "{\n  \"preset\": \"test\",\n  \"seed\": 2\n}\n");
    }
}
