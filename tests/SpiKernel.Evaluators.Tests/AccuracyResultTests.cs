using SpiKernel.Evaluators.Measurement;

namespace SpiKernel.Evaluators.Tests;

/// <summary>Top-1 and top-5 from the counts of a test-set pass.</summary>
public class AccuracyResultTests
{
    [Theory]
    [InlineData(10, 0.9)]
    [InlineData(6, 0.9)]
    public void Should_GiveTop5_When_TheModelScoresMoreThanFiveClasses(int classes, double top5) =>
        Assert.Equal(top5, new AccuracyResult(20, 10, 18, null, classes, new bool[20]).Top5);

    [Theory]
    [InlineData(5)]
    [InlineData(2)]
    public void Should_GiveNoTop5_When_FiveClassesOrFewerMakeItAlwaysOne(int classes) =>
        Assert.Null(new AccuracyResult(20, 10, 20, null, classes, new bool[20]).Top5);
}
