using System.Text.RegularExpressions;
using SpiKernel.Core;
using SpiKernel.Core.Csv;
using SpiKernel.Evaluators;
using SpiKernel.Evaluators.Measurement;
using SpiKernel.Evaluators.Providers;
using SpiKernel.Evaluators.Results;
using SpiKernel.Exporters;
using SpiKernel.Models.Architecture;
using SpiKernel.Models.Search;
using SpiKernel.Pipeline.Search;
using SpiKernel.Pipeline.Stages;
using SpiKernel.Pipeline.Training;

namespace SpiKernel.Pipeline.Tests;

/// <summary>One small run through the stages: its CSVs join by <c>candidate_id</c>, and every header is snake_case.</summary>
public class JoinTests
{
    [Fact]
    public void Should_JoinCandidatesMetricsAndResults_When_OneSmallRunGoesThroughTheStages()
    {
        using var dir = new TempDir();
        var search = new SearchOptions([("snasnet", KernelSet.Snasnet)], CellKind.Forward, Candidates: 3, Batch: 8, Repeat: 1, Top: 1, Seed: 2);
        SearchStageResult found = new SearchStage().Run(
            new SearchStageOptions(TrainerTests.Tiny, search, dir.File("search"), "embedded", ExplicitShape: true, Threads: 1), NullProgress.Instance, default);
        CandidateRow best = found.Search.Rows.First(r => r.Rank == 1);

        var train = new TrainStageOptions(SnnArchitecture.Parse(best.Architecture), new TrainOptions(Epochs: 1, BatchSize: 64, ValidationFraction: 0, Threads: 1),
            dir.File("train"), "embedded", ExplicitShape: true);
        new TrainStage().Run(train, NullProgress.Instance, default);
        Directory.CreateDirectory(dir.File("models"));
        new ExportStage().Run(new ExportStageOptions(train.OutputDirectory, dir.File("models/best.onnx"), new ExportOptions()), NullProgress.Instance, default);
        new EvaluateStage().Run(new EvaluateStageOptions(dir.File("models"), dir.File("results.csv"), EvaluationProfile.ParseList("cpu"), [1],
            new LatencyOptions(Warmup: 1, Repeats: 3), Limit: 50), NullProgress.Instance, default);

        List<CandidateRow> candidates = CsvFile.ReadAll<CandidateRow>(dir.File("search/candidates.csv"));
        List<EpochMetrics> metrics = CsvFile.ReadAll<EpochMetrics>(dir.File("train/metrics.csv"));
        List<EvaluationRow> results = CsvFile.ReadAll<EvaluationRow>(dir.File("results.csv"));
        var joined = (from c in candidates
                      join m in metrics on c.CandidateId equals m.CandidateId
                      join r in results on c.CandidateId equals r.CandidateId
                      select (c, m, r)).ToList();
        (CandidateRow cand, EpochMetrics epoch, EvaluationRow result) = Assert.Single(joined);
        Assert.Equal(best.CandidateId, cand.CandidateId);
        Assert.Equal(CandidateId.Of(best.Architecture), cand.CandidateId);
        Assert.Equal(1, epoch.Epoch);
        Assert.Equal(EvaluationStatus.Ok, result.Status);
        Assert.Equal(cand.Parameters, result.Parameters);

        foreach (string csv in new[] { "search/candidates.csv", "train/metrics.csv", "results.csv", "results.layers.csv" })
        {
            string[] header = File.ReadLines(dir.File(csv)).First().Split(',');
            Assert.All(header, h => Assert.Matches(new Regex("^[a-z0-9_]+$"), h));
            Assert.Contains("candidate_id", header);
        }
        Assert.All(CsvFile.ReadAll<LayerRow>(dir.File("results.layers.csv")), l => Assert.Equal(cand.CandidateId, l.CandidateId));
    }
}
