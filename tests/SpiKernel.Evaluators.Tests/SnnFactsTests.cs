using SpiKernel.Core;
using SpiKernel.Evaluators.Models;

namespace SpiKernel.Evaluators.Tests;

/// <summary>What an export's <c>spikernel.*</c> metadata tells the evaluator, from files of this version and older ones.</summary>
public class SnnFactsTests
{
    // null: a file exported before the key was written has no such key
    private static Dictionary<string, string> Metadata(string? steps)
    {
        var metadata = new Dictionary<string, string>
        {
            [MetadataKeys.Timesteps] = "3",
            [MetadataKeys.SpikeLayers] = "cell1.o01.lif,cell1.o20.lif,fc_lif",
            [MetadataKeys.SpikeLayerNeurons] = "16,16,8",
            [MetadataKeys.SpikeLayerFanOut] = "9,1,4",
        };
        if (steps is not null) metadata[MetadataKeys.SpikeLayerSteps] = steps;
        return metadata;
    }

    [Fact]
    public void Should_ReadEachLayersTimesteps_When_TheFileRecordsThem() =>
        Assert.Equal([3, 2, 3], SnnFacts.FromMetadata(Metadata("3,2,3"))!.Steps);

    [Theory]
    [InlineData(null)] // exported before the key was written
    [InlineData("3,2")] // not one per layer
    [InlineData("3,4,3")] // more than T
    [InlineData("3,-1,3")] // negative
    [InlineData("")] // empty
    public void Should_TakeTForEveryLayer_When_TheStepsAreMissingOrDoNotFit(string? steps) =>
        Assert.Equal([3, 3, 3], SnnFacts.FromMetadata(Metadata(steps))!.Steps);

    [Fact]
    public void Should_NameTheKey_When_AStepIsNotANumber() =>
        Assert.Contains(MetadataKeys.SpikeLayerSteps, Assert.Throws<InvalidDataException>(() => SnnFacts.FromMetadata(Metadata("3,x,3"))).Message);
}
