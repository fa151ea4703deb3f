using SpiKernel.Pipeline.Prediction;
using SpiKernel.Pipeline.Ranking;

namespace SpiKernel.Pipeline.Tests;

/// <summary>The figures a latency predictor is judged by, against values worked out by hand (scipy agrees).</summary>
public class PredictorMathTests
{
    [Fact]
    public void Should_GiveKnownSpearmanRho_When_OrdersAgreeDisagreeOrTie()
    {
        Assert.Equal(1.0, RankStatistics.SpearmanRho([1, 2, 3], [10, 20, 30])!.Value, 12);
        Assert.Equal(-1.0, RankStatistics.SpearmanRho([1, 2, 3], [3, 2, 1])!.Value, 12);
        Assert.Equal(1.0, RankStatistics.SpearmanRho([1, 2, 3], [1, 4, 9])!.Value, 12); // ranks, not values
        // ties share the average rank: x ranks 1, 2.5, 2.5, 4; scipy.stats.spearmanr gives 0.9486832980505138
        Assert.Equal(0.9486832980505138, RankStatistics.SpearmanRho([1, 2, 2, 3], [1, 3, 2, 4])!.Value, 12);
        Assert.Null(RankStatistics.SpearmanRho([1, 2, 3], [5, 5, 5]));
        Assert.Null(RankStatistics.SpearmanRho([1], [2]));
    }

    [Fact]
    public void Should_GiveKnownMapeAndR2_When_PredictionsAreOffByKnownAmounts()
    {
        // each prediction 10 % off; R² = 1 − 0.21 / (14/3)
        FitMetrics m = FitMetrics.Of([1, 2, 4], [1.1, 1.8, 4.4]);
        Assert.Equal(0.1, m.Mape, 12);
        Assert.Equal(1 - 0.21 / (14.0 / 3), m.R2!.Value, 12);
        Assert.Equal(1.0, m.SpearmanRho!.Value, 12);
        Assert.Equal(0.0, FitMetrics.Of([1, 2, 3], [2, 2, 2]).R2!.Value, 12); // the mean itself
        Assert.Equal(-3.0, FitMetrics.Of([1, 2, 3], [3, 2, 1]).R2!.Value, 12); // 1 − 8/2: worse than the mean
        Assert.Null(FitMetrics.Of([2, 2], [1, 3]).R2); // no variance to explain
    }

    [Fact]
    public void Should_FitTheLine_When_PointsLieOnIt()
    {
        MacsLinear line = MacsLinear.Fit([0, 1, 2, 5], [2, 5, 8, 17]);
        Assert.Equal(2.0, line.Intercept, 12);
        Assert.Equal(3.0, line.Slope, 12);
        Assert.Equal(32.0, line.Predict(10), 12);
        Assert.Equal(new MacsLinear(3, 0, 2), MacsLinear.Fit([4, 4], [2, 4])); // one MACs value: flat at the mean
    }

    [Fact]
    public void Should_PredictEachRowWithAModelThatDidNotSeeIt_When_CrossValidating()
    {
        double[] macs = [0, 1, 2, 3, 4, 5];
        double[] ms = [1, 2, 1, 3, 2, 4];
        float[][] features = macs.Select(m =>
        {
            var f = new float[LatencyFeatures.Names.Count];
            f[LatencyFeatures.MacsIndex] = (float)m;
            return f;
        }).ToArray();
        var group = new LatencyGroup("cpu", 1, "fp32", macs.Select(m => $"m{m}").ToArray(), features, ms);

        (FitMetrics _, FitMetrics baseline, int folds) = PredictorTrainer.CrossValidate(group, logTarget: false, folds: 6, seed: 1);

        // six folds of six rows: leave-one-out, whatever the shuffle; each row predicted by the line through the other five
        Assert.Equal(6, folds);
        double[] outOfFold = Enumerable.Range(0, 6).Select(i =>
            MacsLinear.Fit(macs.Where((_, j) => j != i).ToArray(), ms.Where((_, j) => j != i).ToArray()).Predict(macs[i])).ToArray();
        Assert.Equal(FitMetrics.Of(ms, outOfFold), baseline);
        MacsLinear all = MacsLinear.Fit(macs, ms);
        Assert.NotEqual(FitMetrics.Of(ms, macs.Select(all.Predict).ToArray()).Mape, baseline.Mape, 6); // not the in-sample fit
    }

    [Fact]
    public void Should_KeepTwinNetworksInOneFold_When_TwoRowsHaveTheSameFeatures()
    {
        // six networks, each measured under two names (latency 1 % apart): a twin in training must not predict its twin
        double[] macs = [0, 1, 2, 3, 4, 5];
        double[] ms = [1, 2, 1, 3, 2, 4];
        float[] Features(double m)
        {
            var f = new float[LatencyFeatures.Names.Count];
            f[LatencyFeatures.MacsIndex] = (float)m;
            return f;
        }
        var single = new LatencyGroup("cpu", 1, "fp32", macs.Select(m => $"m{m}").ToArray(), macs.Select(Features).ToArray(), ms);
        var twins = new LatencyGroup("cpu", 1, "fp32", [.. single.Models, .. single.Models.Select(m => m + "-twin")],
            [.. single.Features, .. macs.Select(Features)], [.. ms, .. ms.Select(v => v * 1.01)]);

        (FitMetrics once, _, int k1) = PredictorTrainer.CrossValidate(single, logTarget: false, folds: 6, seed: 1);
        (FitMetrics twice, _, int k2) = PredictorTrainer.CrossValidate(twins, logTarget: false, folds: 6, seed: 1);

        Assert.Equal((6, 6), (k1, k2)); // six networks: six folds, not twelve
        Assert.True(twice.Mape > 0.8 * once.Mape, $"FastTree MAPE {once.Mape:P1} with one row per network, {twice.Mape:P1} with twins"); // no leak: about as good, not better
    }

    [Fact]
    public void Should_KeepANetworksLayoutsInOneFold_When_TheyShareACandidateId()
    {
        float[] Features(int network, bool batched)
        {
            var f = new float[LatencyFeatures.Names.Count];
            f[LatencyFeatures.MacsIndex] = 1000 * (network + 1);
            f[LatencyFeatures.Names.ToList().IndexOf("layout_batched")] = batched ? 1 : 0;
            return f;
        }
        int[] networks = [0, 1, 2, 3, 0, 1, 2, 3];
        float[][] features = networks.Select((k, i) => Features(k, batched: i >= 4)).ToArray();
        string[] ids = networks.Select(k => $"id{k}").ToArray();
        Assert.Equal(8, PredictorTrainer.DistinctNetworks(features)); // by features alone, every row is another network
        Assert.Equal(4, PredictorTrainer.DistinctNetworks(features, ids));
        var group = new LatencyGroup("cpu", 1, "fp32", ids.Select((id, i) => $"{id}-{i}").ToArray(), features,
            networks.Select((k, i) => 1.0 + k + (i >= 4 ? 0.1 : 0)).ToArray(), ids);
        Assert.Equal(4, PredictorTrainer.CrossValidate(group, logTarget: false, folds: 8, seed: 1).Folds); // four networks: four folds
        // and with ids that do not link them, the features still do
        Assert.Equal(4, PredictorTrainer.DistinctNetworks(features.Take(4).Concat(features.Take(4)).ToArray(), ["a", "b", "c", "d", "", "", "", "e"]));
    }

    [Fact]
    public void Should_RefuseToCrossValidate_When_EveryRowIsTheSameNetwork()
    {
        var f = new float[LatencyFeatures.Names.Count];
        var same = new LatencyGroup("cpu", 1, "fp32", ["a", "b", "c", "d", "e"], [f, f, f, f, f], [1, 1.01, 0.99, 1.02, 1]);
        Assert.Equal(1, PredictorTrainer.DistinctNetworks(same.Features)); // the stage skips such a group (fewer networks than --min-rows)
        Assert.Contains("needs two different networks", Assert.Throws<ArgumentException>(() => PredictorTrainer.CrossValidate(same, false, 5, 1)).Message);
    }

    [Fact]
    public void Should_PredictNoLessThanTheFastestMeasured_When_TheLineIsExtrapolatedBelowIt()
    {
        MacsLinear line = MacsLinear.Fit([4e6, 5e6, 6e6], [0.4, 0.5, 0.62]);
        Assert.True(line.Intercept + line.Slope * 1e3 < 0); // the bare line goes negative for a small network
        Assert.Equal(0.4, line.Predict(1e3));
        Assert.Equal(line.Intercept + line.Slope * 6e6, line.Predict(6e6), 12); // within the range: the line itself
    }

    [Fact]
    public void Should_GiveTheTrueMedian_When_ALatencyDatasetHasAnEvenNumberOfRows()
    {
        static Evaluators.Results.EvaluationRow Row(double? p50, Evaluators.Results.EvaluationStatus status = Evaluators.Results.EvaluationStatus.Ok, int batch = 1) =>
            new() { Profile = "cpu", Precision = "fp32", BatchSize = batch, Status = status, LatencyP50Ms = p50 };
        var rows = new[] { Row(4), Row(1), Row(3), Row(2), Row(null, Evaluators.Results.EvaluationStatus.Skipped), Row(null), Row(40, batch: 64), Row(60, batch: 64) };
        var result = new Stages.LatencyDatasetResult("r.csv", "models", [], new Stages.EvaluateStageResult(rows, "r.csv", "r.layers.csv"));
        // a missing p50 is not a 0 ms row; batch 64 is a spread of its own (it made the median of batch 1's meaningless)
        Assert.Equal([new Stages.LatencySpread("cpu", "fp32", 1, 4, 1, 2.5, 4), new Stages.LatencySpread("cpu", "fp32", 64, 2, 40, 50, 60)], result.Spread);
    }

    [Fact]
    public void Should_PredictWithTheLine_When_TheBaselineWasCloserInCrossValidation()
    {
        double[] macs = [1e6, 2e6, 3e6, 4e6, 5e6, 6e6, 7e6, 8e6];
        float[][] x = macs.Select(m =>
        {
            var f = new float[LatencyFeatures.Names.Count];
            f[LatencyFeatures.MacsIndex] = (float)m;
            return f;
        }).ToArray();
        double[] ms = macs.Select(m => 0.1 + m * 1e-7).ToArray();
        var line = MacsLinear.Fit(macs, ms);
        PredictorGroup Group(double treeMape, double lineMape) =>
            new("cpu", 1, "fp32", "models/cpu-b1-fp32.zip", 8, 4, new FitMetrics(treeMape, null, null), new FitMetrics(lineMape, null, null), line, "batched");
        PredictorGroup byLine = Group(0.20, 0.05), byTree = Group(0.05, 0.20);
        var predictor = new LatencyPredictor(new PredictorManifest(PredictorManifest.FormatName, "t", LatencyFeatures.Names, false, 1, "latency_p50_ms", [], [byLine]),
            new Dictionary<string, LatencyRegressor> { [byLine.Key] = LatencyRegressor.Fit(x, ms, logTarget: false, seed: 1) });

        Assert.True(byLine.UsesBaseline);
        Assert.False(byTree.UsesBaseline);
        Assert.Equal(macs.Select(line.Predict), predictor.Predict(byLine, x)); // exactly the line
        Assert.NotEqual(predictor.Predict(byLine, x), predictor.Predict(byTree, x)); // the trees are not the line
    }
}
