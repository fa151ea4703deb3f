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

    [Fact]
    public void Should_TakeMiddleValue_When_MedianOfOddOrEvenSample()
    {
        Assert.Equal(2, SearchQuality.Median([3, 1, 2]));
        Assert.Equal(2.5, SearchQuality.Median([4, 1, 3, 2]));
    }
}
