using SpiKernel.Evaluators.Measurement;

namespace SpiKernel.Evaluators.Tests;

public class LatencyStatsTests
{
    [Fact]
    public void Should_InterpolatePercentilesLikeNumpy_When_GivenOneToTen()
    {
        // numpy.percentile(np.arange(1, 11), [50, 90, 95, 99]) = [5.5, 9.1, 9.55, 9.91]
        double[] x = Enumerable.Range(1, 10).Select(i => (double)i).Reverse().ToArray();
        LatencyStats s = LatencyStats.From(x, batchSize: 4);
        Assert.Equal(5.5, s.P50, 12);
        Assert.Equal(9.1, s.P90, 12);
        Assert.Equal(9.55, s.P95, 12);
        Assert.Equal(9.91, s.P99, 12);
        Assert.Equal(1, s.Min);
        Assert.Equal(10, s.Max);
        Assert.Equal(5.5, s.Mean, 12);
        Assert.Equal(3.0276503540974917, s.Std, 12); // np.std(x, ddof=1)
        Assert.Equal(4 * 1000 / 5.5, s.Throughput, 9);
        Assert.Equal(10, s.Runs);
    }

    [Fact]
    public void Should_GiveZeroSpreadAndThatValue_When_OneRun()
    {
        LatencyStats s = LatencyStats.From([2.5], 1);
        Assert.Equal(2.5, s.P99);
        Assert.Equal(0, s.Std);
        Assert.Equal(400, s.Throughput, 9);
    }

    [Fact]
    public void Should_Throw_When_NoRunsOrBadBatch()
    {
        Assert.Throws<ArgumentException>(() => LatencyStats.From([], 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => LatencyStats.From([1.0], 0));
    }

    [Fact]
    public void Should_RankLabelsWithArgmaxTieRule_When_ScoringTop5()
    {
        float[] row = [0.1f, 0.9f, 0.9f, 0.3f, 0.2f, 0.0f, 0.5f];
        Assert.Equal(0, AccuracyEvaluator.Rank(row, 1)); // tie with class 2: the lower index wins, as argmax
        Assert.Equal(1, AccuracyEvaluator.Rank(row, 2));
        Assert.Equal(2, AccuracyEvaluator.Rank(row, 6));
        Assert.Equal(6, AccuracyEvaluator.Rank(row, 5));
    }

    [Fact]
    public void Should_NotScoreNaNAsRight_When_TheModelPutsOutNaN()
    {
        float[] allNaN = [float.NaN, float.NaN, float.NaN];
        Assert.Equal(0, AccuracyEvaluator.Rank(allNaN, 0)); // numpy's argmax: the first NaN
        Assert.Equal(2, AccuracyEvaluator.Rank(allNaN, 2));
        float[] oneNaN = [0.1f, float.NaN, 0.9f];
        Assert.Equal(1, AccuracyEvaluator.Rank(oneNaN, 2)); // the NaN outranks the label: not top-1
        Assert.Equal(0, AccuracyEvaluator.Rank(oneNaN, 1));
        Assert.Equal(2, AccuracyEvaluator.Rank([float.NaN, 0.5f, 0.2f], 2));
    }
}
