using SpiKernel.Core;
using SpiKernel.Core.Csv;
using SpiKernel.Evaluators.Measurement;
using SpiKernel.Evaluators.Providers;
using SpiKernel.Evaluators.Results;
using SpiKernel.Exporters;
using SpiKernel.Pipeline.Prediction;
using SpiKernel.Pipeline.Ranking;
using SpiKernel.Pipeline.Run;
using SpiKernel.Pipeline.Stages;

namespace SpiKernel.Pipeline.Tests;

/// <summary>
/// A predictor predicts only for the timestep layouts it was fitted on: fitted on batched files, the layout feature never
/// varied, and it gave step files (what run exports) batched latencies without a word.
/// </summary>
public class PredictorLayoutTests(PredictorFixture fixture) : IClassFixture<PredictorFixture>
{
    [Fact]
    public void Should_RefuseWithOneLine_When_ThePredictorNeverSawTheLayout()
    {
        Assert.Equal("batched", Assert.Single(fixture.Trained.Manifest.Groups).Layouts);
        string candidates = fixture.File("layout-candidates.csv");
        CsvFile.WriteAll(candidates, fixture.Dataset.Architectures.Select((a, i) => new Search.CandidateRow
        {
            CandidateId = a.CandidateId, Status = Search.CandidateStatus.Scored, Rank = i + 1, Score = 1, Parameters = a.ParameterCount(), Architecture = a.ToString(),
        }));
        var rank = new RankStageOptions([fixture.Dataset.ResultsPath], fixture.File("layout-ranking.csv"), [], [Objective.Parse("latency_p50_ms:min")],
            candidates, fixture.Trained.OutputPath, TimestepLayout.Step);
        var ex = Assert.Throws<SettingsException>(() => new RankStage().Run(rank, NullProgress.Instance, default));
        Assert.Contains("was fitted on batched files only, not step ones", ex.Message);
        Assert.False(File.Exists(fixture.File("layout-ranking.csv")));
        Assert.NotEmpty(new RankStage().Run(rank with { PredictLayout = TimestepLayout.Batched }, NullProgress.Instance, default).Rows);

        // a run whose files are step (its default) refuses the predictor before anything runs, under the key that names it
        RunConfig config = RunPresets.Get(RunPresets.Quick) with { Search = RunPresets.Get(RunPresets.Quick).Search with { Predictor = fixture.Trained.OutputPath } };
        Assert.StartsWith("search.predictor: ", Assert.Throws<SettingsException>(() => RunPlan.From(config)).Message);
    }

    [Fact]
    public void Should_PredictForBothLayouts_When_TheDatasetHasBoth()
    {
        using var dir = new TempDir();
        LatencyDatasetResult data = new LatencyDatasetStage().Run(
            new LatencyDatasetOptions(dir.File("data"), 4, EvaluationProfile.ParseList("cpu"), [1], PredictorFixture.Template, PredictorFixture.Sets, Seed: 5,
                Latency: new LatencyOptions(1, 5), Int8: false),
            NullProgress.Instance, default);
        List<EvaluationRow> rows = CsvFile.ReadAll<EvaluationRow>(data.ResultsPath);
        Assert.Equal(8, rows.Count); // each architecture in both layouts: ID.onnx (batched) and ID.step.onnx
        Assert.Equal(data.Architectures.Select(a => a.CandidateId + ".step").Order(StringComparer.Ordinal),
            rows.Select(r => r.Model).Where(m => m.EndsWith(".step", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
        PredictorTrainResult trained = new PredictorTrainStage().Run(new PredictorTrainOptions([data.ResultsPath], dir.File("both.zip"), Folds: 2, MinimumRows: 3),
            NullProgress.Instance, default);
        PredictorGroup g = Assert.Single(trained.Manifest.Groups);
        Assert.Equal(("batched,step", 4), (g.Layouts, g.Architectures)); // a network in two layouts is one network
        Assert.True(g.Knows(TimestepLayout.Step) && g.Knows(TimestepLayout.Batched));
    }
}
