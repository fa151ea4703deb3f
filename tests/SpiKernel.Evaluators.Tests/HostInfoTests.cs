using SpiKernel.Evaluators.Measurement;

namespace SpiKernel.Evaluators.Tests;

/// <summary>Which card a CUDA row names: certain where every card is the same, or in PCI order; else "GPU N", never another card's name.</summary>
public class HostInfoTests
{
    private static readonly string[] Mixed = ["NVIDIA A10", "NVIDIA H100 80GB HBM3"]; // PCI order, as /proc lists them

    [Theory]
    [InlineData(null, null, 1, "GPU 1")]                        // CUDA's default order is fastest first: device 1 need not be the second slot
    [InlineData(null, "PCI_BUS_ID", 1, "NVIDIA H100 80GB HBM3")]
    [InlineData("1", "PCI_BUS_ID", 0, "NVIDIA H100 80GB HBM3")] // the one card it sees is device 0 (was the first card's name)
    [InlineData("1,0", "PCI_BUS_ID", 1, "NVIDIA A10")]
    [InlineData("1,7,0", "PCI_BUS_ID", 1, "GPU 1")]             // CUDA stops at an index with no device
    [InlineData("GPU-8c6a3f2e", "PCI_BUS_ID", 0, "GPU 0")]      // a UUID: not mapped here
    [InlineData(null, "PCI_BUS_ID", 2, "GPU 2")]
    public void Should_NameTheCardCudaNumbers_When_ItCanBeKnown(string? visible, string? order, int device, string expected) =>
        Assert.Equal(expected, HostInfo.GpuName(Mixed, device, visible, order));

    [Fact]
    public void Should_NameTheCard_When_EveryCardIsTheSame()
    {
        string[] same = ["NVIDIA H200", "NVIDIA H200"];
        Assert.Equal("NVIDIA H200", HostInfo.GpuName(same, 1, null, null));
        Assert.Equal("NVIDIA H200", HostInfo.GpuName(same, 0, "MIG-4b1f", null));
        Assert.Equal("GPU 1", HostInfo.GpuName(same, 1, "0", null)); // one card visible: there is no device 1
        Assert.Equal("GPU 0", HostInfo.GpuName([], 0, null, null));
    }
}
