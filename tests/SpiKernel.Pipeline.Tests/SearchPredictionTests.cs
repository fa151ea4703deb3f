using SpiKernel.Core;
using SpiKernel.Core.Csv;
using SpiKernel.Evaluators.Measurement;
using SpiKernel.Evaluators.Providers;
using SpiKernel.Evaluators.Results;
using SpiKernel.Models.Architecture;
using SpiKernel.Models.Search;
using SpiKernel.Pipeline.Prediction;
using SpiKernel.Pipeline.Ranking;
using SpiKernel.Pipeline.Run;
using SpiKernel.Pipeline.Search;
using SpiKernel.Pipeline.Stages;

namespace SpiKernel.Pipeline.Tests;

/// <summary>The search uses a latency predictor: every scored candidate gets predicted latencies, and a run whose target cannot run here selects on them.</summary>
public class SearchPredictionTests(PredictorFixture fixture) : IClassFixture<PredictorFixture>
{
    [Fact]
    public void Should_PredictEveryScoredCandidate_When_TheSearchHasAPredictor()
    {
        using var data = new TempDir();
        IdxWriter.FashionMnistFolder(data.Path, 64, 16, gzip: false);
        using var dir = new TempDir();
        var search = new SearchOptions([("snasnet", KernelSet.Snasnet)], CellKind.Forward, Candidates: 4, BudgetParameters: 10_000_000, Batch: 8, Repeat: 1, Top: 2, Seed: 3);
        var options = new SearchStageOptions(TrainerTests.Tiny, search, dir.Path, data.Path, Threads: 1, Predictor: fixture.Trained.OutputPath);
        SearchStageResult result = new SearchStage().Run(options, NullProgress.Instance, default);

        List<PredictedLatencyRow> predicted = CsvFile.ReadAll<PredictedLatencyRow>(dir.File(SearchStage.PredictionsFile));
        string[] scored = result.Search.Rows.Where(r => r.Status == CandidateStatus.Scored).Select(r => r.CandidateId).Order().ToArray();
        Assert.NotEmpty(scored);
        Assert.Equal(scored, predicted.Select(p => p.CandidateId).Order().ToArray()); // one group (cpu, batch 1, fp32): one row each
        Assert.All(predicted, p =>
        {
            Assert.Equal(("cpu", 1, "fp32", LatencySource.Predicted), (p.Profile, p.BatchSize, p.Precision, p.LatencySource));
            Assert.True(p.LatencyP50Ms > 0 && double.IsFinite(p.LatencyP50Ms), $"{p.CandidateId}: {p.LatencyP50Ms}");
        });
        Assert.StartsWith("candidate_id,profile,batch_size,precision,latency_p50_ms,latency_source,predictor", File.ReadLines(dir.File(SearchStage.PredictionsFile)).First());
    }

    [Fact]
    public void Should_RefuseBeforeSearching_When_ThePredictorIsNotOne()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("latency.zip"), "not a zip");
        var search = new SearchOptions([("snasnet", KernelSet.Snasnet)], CellKind.Forward, Candidates: 2, Batch: 8, Repeat: 1);
        var options = new SearchStageOptions(TrainerTests.Tiny, search, dir.File("out"), "embedded", Predictor: dir.File("latency.zip"));
        var ex = Assert.Throws<InvalidDataException>(() => new SearchStage().Run(options, NullProgress.Instance, default));
        Assert.Contains("latency.zip", ex.Message);
        Assert.False(File.Exists(Path.Combine(dir.File("out"), SearchRunner.CandidatesFile)));
    }

    [Fact]
    public void Should_SelectOnPredictedLatency_When_TheTargetCannotRunHere()
    {
        using var work = new TempDir();
        // a predictor for "cuda" from the rows measured here, relabelled (this machine has no CUDA, so the target is never
        // measured) with a latency that follows the MACs exactly: measured ones, on a loaded machine, could leave a
        // predictor that gives every candidate the same figure, and this test is about the selection, not the timing
        // of step files, what the run exports: a predictor predicts only for the layouts it was fitted on
        LatencyDatasetResult step = new LatencyDatasetStage().Run(new LatencyDatasetOptions(work.File("latency"), 8, EvaluationProfile.ParseList("cpu"), [1],
            PredictorFixture.Template, PredictorFixture.Sets, Seed: 3, Latency: new LatencyOptions(1, 5), Int8: false, Layouts: [Exporters.TimestepLayout.Step]),
            NullProgress.Instance, default);
        List<EvaluationRow> rows = CsvFile.ReadAll<EvaluationRow>(step.ResultsPath)
            .Select(r => r with { Profile = "cuda", LatencyP50Ms = r.AnnMacs is { } macs ? 0.05 + macs * 1e-8 : r.LatencyP50Ms }).ToList();
        CsvFile.WriteAll(work.File("cuda-results.csv"), rows);
        string zip = new PredictorTrainStage().Run(new PredictorTrainOptions([work.File("cuda-results.csv")], work.File("cuda.zip"), Folds: 3, Seed: 7),
            NullProgress.Instance, default).OutputPath;
        Directory.CreateDirectory(work.File("data"));
        IdxWriter.FashionMnistFolder(work.File("data"), 160, 40, gzip: false);
        RunConfig Config(double maxMs) => RunConfigFile.Parse(string.Create(System.Globalization.CultureInfo.InvariantCulture, $$"""
        {
          "data": "{{work.File("data")}}",
          "kernel_study": { "enabled": false },
          "search": { "kernel_sets": ["1,3"], "candidates": 6, "batch": 8, "predictor": "{{zip}}", "cell": "forward" },
          "selection": { "top": 2, "controls": 1 },
          "training": { "epochs": 1, "batch_size": 32, "threads": 1 },
          "export": { "verify_images": 8 },
          "evaluation": { "profiles": ["cpu", "cuda"], "batch_sizes": [1], "warmup": 1, "repeats": 2, "limit": 16 },
          "target": { "profile": "cuda", "max_latency_ms": {{maxMs:R}} }
        }
        """), "test");

        // the search alone first, to place the budget between the candidates' predicted latencies
        RunLayout probe = new RunStage().Run(new RunStageOptions(Config(1e6), work.File("probe"), Only: "search"), NullProgress.Instance, default).Layout;
        Dictionary<string, double> predicted = CsvFile.ReadAll<PredictedLatencyRow>(Path.Combine(probe.Search, SearchStage.PredictionsFile))
            .Where(p => p.Profile == "cuda" && p.BatchSize == 1 && p.Precision == "fp32").ToDictionary(p => p.CandidateId, p => p.LatencyP50Ms);
        // predicted for the files the run exports (step, the run's default), not the exporter's default
        Assert.All(CsvFile.ReadAll<PredictedLatencyRow>(Path.Combine(probe.Search, SearchStage.PredictionsFile)), p => Assert.Equal("step", p.Layout));
        string[] byScore = CsvFile.ReadAll<CandidateRow>(probe.Candidates).Where(c => c.Status == CandidateStatus.Scored).OrderBy(c => c.Rank).Select(c => c.CandidateId).ToArray();
        string best = byScore[0];
        // just under the slower of the two best-scored candidates, which the selection meets first (the predictions come
        // from measured latencies: which candidate is fastest differs between machines and runs), unless both are the
        // fastest: then halfway along the sorted latencies
        double[] sorted = predicted.Values.Distinct().Order().ToArray();
        Assert.True(sorted.Length > 1, "the predictor tells the candidates apart");
        double slower = byScore.Take(2).Max(id => predicted[id]);
        double budget = slower > sorted[0] ? slower * (1 - 1e-9) : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
        Assert.Contains(predicted.Values, v => v <= budget); // something fits
        Assert.Contains(predicted.Values, v => v > budget); // something does not

        RunResult result = new RunStage().Run(new RunStageOptions(Config(budget), work.File("run")), NullProgress.Instance, default);

        Assert.All(result.Selection, s =>
        {
            Assert.Equal(LatencySource.Predicted, s.TargetLatencySource);
            Assert.Equal(predicted[s.CandidateId], s.TargetLatencyMs);
            Assert.Equal(s.TargetLatencyMs > budget, s.Status == SelectionStatus.OverLatency);
        });
        if (slower > sorted[0]) // one of the first two the selection meets is over the budget
            Assert.StartsWith("untrained export predicted at", result.Selection.First(s => s.Status == SelectionStatus.OverLatency).Reason);
        Assert.Equal(best, result.Selection[0].CandidateId); // in score order, the best first
        Assert.Equal(Math.Min(3, predicted.Values.Count(v => v <= budget)), result.Selection.Count(s => s.Status == SelectionStatus.Trained));
        Assert.All(result.Selection.Where(s => s.Status == SelectionStatus.Trained), s => Assert.Contains("predicted (fp32)", s.Reason));
        Assert.Contains(",predicted", File.ReadAllText(result.Layout.Selection));

        // a budget nothing meets: one line naming the key, and selection.csv keeps every candidate's latency and reason
        double none = predicted.Values.Min() / 2;
        var ex = Assert.Throws<SettingsException>(() => new RunStage().Run(new RunStageOptions(Config(none), work.File("none")), NullProgress.Instance, default));
        Assert.StartsWith("no candidate fits target.max_latency_ms", ex.Message);
        List<SelectionRow> refused = CsvFile.ReadAll<SelectionRow>(Path.Combine(work.File("none"), "selection.csv"));
        Assert.NotEmpty(refused);
        Assert.All(refused, s => Assert.Equal((SelectionStatus.OverLatency, predicted[s.CandidateId]), (s.Status, s.TargetLatencyMs)));
        // and so again on resume, from the file
        ex = Assert.Throws<SettingsException>(() => new RunStage().Run(new RunStageOptions(Config(none), work.File("none"), Resume: true), NullProgress.Instance, default));
        Assert.StartsWith("no candidate fits target.max_latency_ms", ex.Message);
    }
}
