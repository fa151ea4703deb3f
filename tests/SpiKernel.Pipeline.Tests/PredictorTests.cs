using System.IO.Compression;
using System.Text.RegularExpressions;
using SpiKernel.Core;
using SpiKernel.Core.Csv;
using SpiKernel.Evaluators.Results;
using SpiKernel.Exporters;
using SpiKernel.Models.Architecture;
using SpiKernel.Pipeline.Prediction;
using SpiKernel.Pipeline.Ranking;
using SpiKernel.Pipeline.Search;
using SpiKernel.Pipeline.Stages;

namespace SpiKernel.Pipeline.Tests;

/// <summary>The latency predictor on a dataset measured for real here (<see cref="PredictorFixture"/>).</summary>
public class PredictorTests(PredictorFixture fixture) : IClassFixture<PredictorFixture>
{
    // the predictor's training rows: cpu, batch 1, fp32 latency p50 by candidate
    private Dictionary<string, double> MeasuredMs() => CsvFile.ReadAll<EvaluationRow>(fixture.Dataset.ResultsPath)
        .Where(r => r.Status == EvaluationStatus.Ok && r.Profile == "cpu" && r.BatchSize == 1 && r.Precision == "fp32")
        .ToDictionary(r => r.CandidateId, r => r.LatencyP50Ms!.Value);

    [Fact]
    public void Should_StoreCrossValidatedFiguresOfFastTreeAndBaseline_When_TrainedOnRealMeasurements()
    {
        PredictorGroup g = Assert.Single(fixture.Trained.Manifest.Groups);
        Assert.Equal(("cpu", 1, "fp32", 8, 3), (g.Profile, g.BatchSize, g.Precision, g.Architectures, g.Folds));
        foreach (FitMetrics m in new[] { g.FastTree, g.Baseline })
        {
            Assert.True(double.IsFinite(m.Mape) && m.Mape >= 0);
            Assert.NotNull(m.R2);
        }
        Assert.True(g.Baseline.SpearmanRho > 0, $"out of fold, more MACs predicted slower: ρ {g.Baseline.SpearmanRho}");
        List<PredictorMetricsRow> rows = CsvFile.ReadAll<PredictorMetricsRow>(fixture.Trained.MetricsPath);
        Assert.Equal([PredictorKind.FastTree, PredictorKind.MacsLinear], rows.Select(r => r.Predictor));
        Assert.StartsWith("profile,batch_size,precision,predictor,architectures,folds,mape,r2,spearman_rho", File.ReadAllText(fixture.Trained.MetricsPath));
        Assert.Contains(",fast_tree,", File.ReadAllText(fixture.Trained.MetricsPath));

        LatencyPredictor loaded = LatencyPredictor.Load(fixture.Trained.OutputPath);
        Assert.Equal(ToolInfo.Version, loaded.Manifest.ToolVersion);
        float[][] x = fixture.Dataset.Architectures.Select(a => LatencyFeatures.Of(a, new ExportOptions())).ToArray();
        double[] ms = loaded.Predict(loaded.Manifest.Groups[0], x);
        // fitted on these very networks (FastTree, or the MACs-linear line where it was closer): each one's prediction
        // within a factor of three of its measurement
        Dictionary<string, double> measured = MeasuredMs();
        Assert.All(fixture.Dataset.Architectures.Zip(ms), p => Assert.InRange(p.Second, measured[p.First.CandidateId] / 3, measured[p.First.CandidateId] * 3));
    }

    [Fact]
    public void Should_GiveTheSameCandidatesAndPredictor_When_TheSeedIsTheSame()
    {
        Assert.Equal(fixture.Dataset.Architectures.Select(a => a.CandidateId),
            LatencyDatasetStage.Sample(PredictorFixture.Template, PredictorFixture.Sets, 8, 3).Select(a => a.CandidateId));
        Assert.NotEqual(fixture.Dataset.Architectures.Select(a => a.CandidateId),
            LatencyDatasetStage.Sample(PredictorFixture.Template, PredictorFixture.Sets, 8, 4).Select(a => a.CandidateId)); // the seed decides
        Thread.Sleep(2100); // past the 2-second resolution of a zip entry's time: a time of saving would show in the bytes
        PredictorTrainResult again = new PredictorTrainStage().Run(fixture.Options(fixture.File("again.zip")), NullProgress.Instance, CancellationToken.None);
        Assert.Equal(fixture.Trained.Manifest.Groups, again.Manifest.Groups);
        float[][] x = fixture.Dataset.Architectures.Select(a => LatencyFeatures.Of(a, new ExportOptions())).ToArray();
        LatencyPredictor a = LatencyPredictor.Load(fixture.Trained.OutputPath), b = LatencyPredictor.Load(again.OutputPath);
        Assert.Equal(a.Predict(a.Manifest.Groups[0], x), b.Predict(b.Manifest.Groups[0], x));
        Assert.Equal(File.ReadAllBytes(fixture.Trained.OutputPath), File.ReadAllBytes(again.OutputPath)); // the same file, to the byte
    }

    [Fact]
    public void Should_FindTheModels_When_TheResultsWereWrittenFromAnotherFolder()
    {
        // model_path as evaluate wrote it from another working folder: the models are found beside the results, in models/
        string data = Path.GetDirectoryName(fixture.Dataset.ResultsPath)!;
        string moved = Path.Combine(data, "moved-results.csv");
        CsvFile.WriteAll(moved, CsvFile.ReadAll<EvaluationRow>(fixture.Dataset.ResultsPath)
            .Select(r => r with { ModelPath = Path.Combine("elsewhere", "runs", "models", Path.GetFileName(r.ModelPath)) }));
        PredictorTrainResult r = new PredictorTrainStage().Run(new PredictorTrainOptions([moved], fixture.File("moved.zip"), Folds: 3, Seed: 7),
            NullProgress.Instance, CancellationToken.None);
        Assert.Equal(fixture.Trained.Manifest.Groups, r.Manifest.Groups);
    }

    [Fact]
    public void Should_RefuseWithOneLine_When_TheZipComesFromAnotherVersion()
    {
        string Edited(string name, Func<string, string> edit)
        {
            string copy = fixture.File(name);
            File.Copy(fixture.Trained.OutputPath, copy, overwrite: true);
            using ZipArchive zip = ZipFile.Open(copy, ZipArchiveMode.Update);
            ZipArchiveEntry entry = zip.GetEntry("manifest.json")!;
            string json;
            using (var reader = new StreamReader(entry.Open())) json = reader.ReadToEnd();
            entry.Delete();
            using var writer = new StreamWriter(zip.CreateEntry("manifest.json").Open());
            writer.Write(edit(json));
            return copy;
        }
        string other = Edited("other-version.zip", json => Regex.Replace(json, "\"tool_version\": \"[^\"]*\"", "\"tool_version\": \"0.0.1-other\""));
        InvalidDataException ex = Assert.Throws<InvalidDataException>(() => LatencyPredictor.Load(other));
        Assert.Equal($"{other}: predictor trained by spikernel 0.0.1-other, this is {ToolInfo.Version}; train it again with spikernel predictor train", ex.Message);
        // a manifest without its groups read as null and crashed (a crash report, exit 70)
        string groupless = Edited("groupless.zip", json => Regex.Replace(json, "\"groups\":", "\"unused\":"));
        Assert.Contains("lacks its feature_schema, groups or their layouts", Assert.Throws<InvalidDataException>(() => LatencyPredictor.Load(groupless)).Message);
        // format 1 (before the groups recorded their layouts; most were fitted on batched files alone) gave step files batched latencies
        string first = Edited("format1.zip", json => Regex.Replace(json.Replace("latency-predictor/2", "latency-predictor/1", StringComparison.Ordinal), ",\\s*\"layouts\": \"[^\"]*\"", ""));
        Assert.Equal($"{first}: a predictor of format 1 (this version reads 2: format 1 did not record the layouts of the files it was fitted on); train it again with spikernel predictor train",
            Assert.Throws<InvalidDataException>(() => LatencyPredictor.Load(first)).Message);
        string layoutless = Edited("layoutless.zip", json => Regex.Replace(json, ",\\s*\"layouts\": \"[^\"]*\"", ""));
        Assert.Contains("lacks its feature_schema, groups or their layouts", Assert.Throws<InvalidDataException>(() => LatencyPredictor.Load(layoutless)).Message);

        string candidates = WriteCandidates([]);
        var r = CliTests.Run("rank", fixture.Dataset.ResultsPath, "--candidates", candidates, "--predictor", other, "--out", fixture.File("r.csv"));
        CliTests.AssertOneLineError(r, 1, "predictor trained by spikernel 0.0.1-other");
        CliTests.AssertOneLineError(CliTests.Run("rank", fixture.Dataset.ResultsPath, "--candidates", candidates, "--predictor", fixture.Dataset.ResultsPath,
            "--out", fixture.File("r.csv")), 1, "not a latency predictor zip");
    }

    [Fact]
    public void Should_MarkPredictedRowsAndKeepEveryMeasuredOne_When_RankedWithAPredictor()
    {
        IReadOnlyList<SnnArchitecture> measured = fixture.Dataset.Architectures;
        SnnArchitecture[] fresh = LatencyDatasetStage.Sample(PredictorFixture.Template, PredictorFixture.Sets, 12, 99)
            .Where(a => measured.All(m => m.CandidateId != a.CandidateId)).Take(3).ToArray();
        string candidates = WriteCandidates([.. measured, .. fresh]);
        string output = fixture.File("ranking.csv");
        var options = new RankStageOptions([fixture.Dataset.ResultsPath], output, [], [Objective.Parse("latency_p50_ms:min")], candidates, fixture.Trained.OutputPath);
        RankStageResult result = new RankStage().Run(options, NullProgress.Instance, CancellationToken.None);

        Dictionary<string, double> timed = CsvFile.ReadAll<EvaluationRow>(fixture.Dataset.ResultsPath).ToDictionary(r => r.CandidateId, r => r.LatencyP50Ms!.Value);
        Assert.Equal(11, result.Rows.Count);
        Assert.All(result.Rows, r => Assert.Equal(RankStatus.Feasible, r.Status));
        foreach (SnnArchitecture a in measured)
        {
            RankingRow row = Assert.Single(result.Rows, r => r.CandidateId == a.CandidateId);
            Assert.Equal((LatencySource?)LatencySource.Measured, row.LatencySource);
            Assert.Equal(timed[a.CandidateId], row.LatencyP50Ms);
        }
        foreach (SnnArchitecture a in fresh)
        {
            RankingRow row = Assert.Single(result.Rows, r => r.CandidateId == a.CandidateId);
            Assert.Equal((LatencySource?)LatencySource.Predicted, row.LatencySource);
            Assert.InRange(row.LatencyP50Ms!.Value, MeasuredMs().Values.Min() / 3, MeasuredMs().Values.Max() * 3); // networks of the same space
            Assert.Equal(a.ParameterCount(), row.Parameters);
        }
        string[] lines = File.ReadAllLines(output);
        Assert.Equal("candidate_id,model,precision,profile,batch_size,status,reason,front,position,recommended,accuracy_top1,accuracy_ci95_low,accuracy_ci95_high,test_samples,latency_p50_ms,"
            + "latency_p95_ms,parameters,energy_snn_uj,score,objectives,model_path,source,latency_source", lines[0]);
        Assert.Equal(3, lines.Count(l => l.EndsWith(",predicted", StringComparison.Ordinal)));
        Assert.Equal(8, lines.Count(l => l.EndsWith(",measured", StringComparison.Ordinal)));
    }

    [Fact]
    public void Should_ExitNonZeroWithOneLine_When_TheInputIsBad()
    {
        string bad = fixture.File("bad.csv");
        File.WriteAllText(bad, "model,profile,status\nm,cpu,ok\n");
        CliTests.AssertOneLineError(CliTests.Run("predictor", "train", bad, "--out", fixture.File("x.zip")), 1,
            "not a results CSV of spikernel evaluate (missing columns precision, batch_size, model_path, latency_p50_ms)");
        CliTests.AssertOneLineError(CliTests.Run("predictor", "train", fixture.Dataset.ResultsPath, "--profiles", "gpu9", "--out", fixture.File("x.zip")), 2,
            "--profiles: 'gpu9' is not in the results (profiles there: cpu)");
        CliTests.AssertOneLineError(CliTests.Run("predictor", "train", fixture.Dataset.ResultsPath, "--min-rows", "9", "--out", fixture.File("x.zip")), 1,
            "no profile × batch × precision has 9 or more measured SpiKernel models");
        CliTests.AssertOneLineError(CliTests.Run("predictor", "dataset", "--out", fixture.File("d"), "--profiles", "cpu,nosuch"), 2, "nosuch");
        CliTests.AssertOneLineError(CliTests.Run("rank", fixture.Dataset.ResultsPath, "--predictor", fixture.Trained.OutputPath, "--out", fixture.File("r.csv")), 2,
            "--predictor needs --candidates");
        Assert.False(File.Exists(fixture.File("x.zip")));
    }

    [Fact]
    public void Should_SkipWithANote_When_ACandidateCannotHaveTheFileAGroupPredicts()
    {
        // an int8 group (here the fixture's fp32 regressor relabelled) and a network whose classifier sap 12 has no int8
        // export (docs/export.md): the other groups and networks are predicted, not the whole rank refused (was exit 2)
        string zip = fixture.File("with-int8.zip");
        File.Copy(fixture.Trained.OutputPath, zip, overwrite: true);
        using (ZipArchive archive = ZipFile.Open(zip, ZipArchiveMode.Update))
        {
            ZipArchiveEntry entry = archive.GetEntry("manifest.json")!;
            string json;
            using (var reader = new StreamReader(entry.Open())) json = reader.ReadToEnd();
            var manifest = System.Text.Json.Nodes.JsonNode.Parse(json)!.AsObject();
            var groups = manifest["groups"]!.AsArray();
            var int8 = groups[0]!.DeepClone().AsObject();
            int8["precision"] = "int8";
            groups.Add(int8);
            entry.Delete();
            using var writer = new StreamWriter(archive.CreateEntry("manifest.json").Open());
            writer.Write(manifest.ToJsonString());
        }
        SnnArchitecture wide = SnnArchitecture.Parse(PredictorFixture.Template.ToString().Replace("input=1x16x16", "input=1x24x24").Replace("sap=1", "sap=12")).Validated();
        SnnArchitecture plain = fixture.Dataset.Architectures[0];
        string candidates = WriteCandidates([plain, wide]);
        var notes = new TrainerTests.NoteLog();
        RankStageResult result = new RankStage().Run(new RankStageOptions([fixture.Dataset.ResultsPath], fixture.File("r8.csv"), [], [Objective.Parse("latency_p50_ms:min")],
            candidates, zip), notes, CancellationToken.None);
        Assert.Contains(notes.Lines, n => n.StartsWith("cpu/1/int8: not predicted for candidates that cannot be exported as int8 (the int8 export multiplies", StringComparison.Ordinal));
        Assert.Contains(result.Rows, r => r.CandidateId == wide.CandidateId && r.Precision == "fp32" && r.LatencySource == LatencySource.Predicted);
        Assert.DoesNotContain(result.Rows, r => r.CandidateId == wide.CandidateId && r.Precision == "int8");
    }

    private string WriteCandidates(IEnumerable<SnnArchitecture> archs)
    {
        string path = fixture.File($"candidates-{Guid.NewGuid():N}.csv");
        CsvFile.WriteAll(path, archs.Select((a, i) => new CandidateRow
        {
            CandidateId = a.CandidateId, Rank = i + 1, Architecture = a.ToString(), Kernels = a.Kernels.ToString(), Cell = a.Cell.ToString(),
            Parameters = a.ParameterCount(), Macs = a.MacCount(), Score = 100 - i, Status = CandidateStatus.Scored,
        }));
        return path;
    }
}
