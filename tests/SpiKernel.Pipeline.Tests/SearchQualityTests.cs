using SpiKernel.Pipeline.Search;

namespace SpiKernel.Pipeline.Tests;

public class SearchQualityTests
{
    [Theory]
    [InlineData(new double[] { 1, 2, 3, 4 }, new double[] { 10, 20, 30, 40 }, 1.0)]
    [InlineData(new double[] { 1, 2, 3, 4 }, new double[] { 4, 3, 2, 1 }, -1.0)]
    [InlineData(new double[] { 1, 2, 3 }, new double[] { 1, 3, 2 }, 1.0 / 3)]
    [InlineData(new double[] { 1, 1, 2 }, new double[] { 1, 2, 3 }, 2 / 2.449489742783178)] // τ-b: (2−0)/√(2·3)
    public void Should_ComputeKendallTauB_When_SamplesArePaired(double[] x, double[] y, double expected) =>
        Assert.Equal(expected, SearchQuality.KendallTau(x, y), 12);

    [Theory]
    // n = 5 without ties: |τ| ≥ 0.6 takes at most 2 or at least 8 discordant pairs, 2 × (1 + 4 + 9) of the 120 orderings
    // (scipy.stats.kendalltau, method="exact": 0.2333)
    [InlineData(new double[] { 1, 2, 3, 4, 5 }, new double[] { 4, 5, 3, 1, 2 }, 28 / 120.0)] // τ = −0.6, as the default run's
    [InlineData(new double[] { 1, 2, 3, 4, 5 }, new double[] { 1, 2, 3, 4, 5 }, 2 / 120.0)]
    // n = 10, τ = 1: 20,000 random orderings, none as extreme: (0 + 1) / 20,001
    [InlineData(new double[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 }, new double[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 }, 1 / 20001.0)]
    public void Should_GiveKendallsTwoSidedP_When_TestingNoAssociation(double[] x, double[] y, double expected) =>
        Assert.Equal(expected, Ranking.RankStatistics.KendallP(x, y)!.Value, 5);

    [Fact]
    public void Should_TakeMiddleValue_When_MedianOfOddOrEvenSample()
    {
        Assert.Equal(2, SearchQuality.Median([3, 1, 2]));
        Assert.Equal(2.5, SearchQuality.Median([4, 1, 3, 2]));
    }
}
