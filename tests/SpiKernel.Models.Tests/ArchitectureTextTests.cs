using SpiKernel.Core;
using SpiKernel.Models.Architecture;
using SpiKernel.Models.Lif;

namespace SpiKernel.Models.Tests;

public class ArchitectureTextTests
{
    public static TheoryData<string> Presets() => new()
    {
        SnnArchitecture.Default.ToString(),
        SnnArchitecture.SnasnetCifar10.ToString(),
        SnnArchitecture.FashionMnistSmall.ToString(),
        SnnArchitecture.FashionMnistFound.ToString(),
    };

    [Fact]
    public void Should_BeTheSearchedCandidate_When_TheFullDataPresetIsBuilt()
    {
        // the line the search wrote to top/k135-1.arch.txt (docs/measurements/fmnist-full/search-candidates.csv)
        const string searched = "cell=\"0241 0022 0002 0000\" kernels=1,3,5 input=1x28x28 channels=32 ratio=1 stem-stride=2 hidden=256 classes=10 cluster=10 sap=1 timesteps=5 dropout=0.5 tau=1.3333333333333333 v-threshold=1 v-reset=0 reset=hard detach-reset=true surrogate=atan alpha=2";
        Assert.Equal(searched, SnnArchitecture.FashionMnistFound.ToString());
        Assert.Equal("f7ff91f0bacf", SnnArchitecture.FashionMnistFound.CandidateId);
        Assert.Equal(997_060, SnnArchitecture.FashionMnistFound.ParameterCount());
    }

    [Theory]
    [MemberData(nameof(Presets))]
    public void Should_RoundTripExactly_When_TextIsParsedAndPrinted(string text)
    {
        SnnArchitecture parsed = SnnArchitecture.Parse(text);
        Assert.Equal(text, parsed.ToString());
        Assert.Equal(parsed, SnnArchitecture.Parse(parsed.ToString()));
    }

    [Fact]
    public void Should_ProduceCanonicalText_When_KeysComeInAnyOrderWithDefaultsOmitted()
    {
        SnnArchitecture a = SnnArchitecture.Parse("hidden=256 kernels=3,1 cell=\"0303 0030 2002 0200\" channels=32 timesteps=5 sap=2 stem-stride=1 dropout=0.5 tau=4/3");
        Assert.StartsWith("cell=\"0303 0030 2002 0200\" kernels=1,3 input=1x28x28 channels=32 ratio=1", a.ToString());
        Assert.Equal(4.0 / 3.0, a.Lif.Tau);
        Assert.Equal(SnnArchitecture.FashionMnistSmall.ParameterCount(), a.ParameterCount());
    }

    [Fact]
    public void Should_KeepEveryKnob_When_NonDefaultValuesRoundTrip()
    {
        var arch = new SnnArchitecture(CellTopology.Parse("0a00 0001 0000 0000"), new KernelSet([1, 3, 5, 7, 9, 11, 13, 15, 17]),
            new MacroConfig(3, 64, 48, 8, 3, 2, 77, 20, 3, 1, 7, 0.125),
            new LifOptions(2.5, 0.75, -0.25, ResetMode.Soft, false, SurrogateKind.Sigmoid, 4.5));
        SnnArchitecture back = SnnArchitecture.Parse(arch.ToString());
        Assert.Equal(arch, back);
        Assert.Equal(arch.ToString(), back.ToString());
    }

    [Theory]
    [InlineData("cell=\"0303 0030 2002 02\"", "must be 4 rows")]
    [InlineData("cell=\"0303 0030 2002 0200", "unclosed quote")]
    [InlineData("cells=\"0303 0030 2002 0200\"", "Unknown architecture key 'cells'")]
    [InlineData("hidden=abc", "needs an integer")]
    [InlineData("hidden=0", "hidden width must be at least 1")]
    [InlineData("kernels=2,3", "Kernel size 2 is not allowed")]
    [InlineData("cell=\"0505 0000 0000 0000\" kernels=1,3", "uses operation code 5")]
    [InlineData("cell=\"0100 0000 0001 0000\"", "never connects node 0 to node 3")]
    [InlineData("hidden=3 hidden=4", "given twice")]
    [InlineData("input=1x4x4 sap=4", "too small")]
    [InlineData("reset=sideways", "must be one of hard, soft")]
    [InlineData("cell=\"1303 0030 2002 0200\"", "diagonal")]
    [InlineData("justtext", "where key=value was expected")]
    public void Should_FailWithSentenceNamingProblem_When_TextIsInvalid(string text, string expected)
    {
        var ex = Assert.Throws<SettingsException>(() => SnnArchitecture.Parse(text));
        Assert.Contains(expected, ex.Message);
    }

    [Fact]
    public void Should_MapCodesLikeSnasnet_When_KernelSetIsOneThree()
    {
        KernelSet k = KernelSet.Snasnet;
        Assert.Equal(new[] { CellOp.Zero, CellOp.Skip, CellOp.Conv(1), CellOp.Conv(3), CellOp.AvgPool },
            Enumerable.Range(0, k.OperationCount).Select(k.Operation).ToArray());
    }

    [Theory]
    [InlineData(new int[0], "at least one size")]
    [InlineData(new[] { 1, 4 }, "Kernel size 4 is not allowed")]
    [InlineData(new[] { 0, 3 }, "Kernel size 0 is not allowed")]
    [InlineData(new[] { -3 }, "Kernel size -3 is not allowed")]
    [InlineData(new[] { 3, 5, 3 }, "appears more than once")]
    public void Should_RejectKernelSet_When_SizesAreInvalid(int[] sizes, string expected)
    {
        var ex = Assert.Throws<SettingsException>(() => new KernelSet(sizes));
        Assert.Contains(expected, ex.Message);
    }

    [Fact]
    public void Should_SortSizes_When_KernelSetIsParsed()
    {
        Assert.Equal("1,3,5,7", KernelSet.Parse("7, 3,5,1").ToString());
        Assert.Contains("bad item", Assert.Throws<SettingsException>(() => KernelSet.Parse("1,x")).Message);
    }
}
