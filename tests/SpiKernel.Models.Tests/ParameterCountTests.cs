using SpiKernel.Models.Architecture;
using SpiKernel.Models.Network;

namespace SpiKernel.Models.Tests;

public class ParameterCountTests
{
    [Fact]
    public void Should_Count19520356Parameters_When_SnasnetCifar10()
    {
        SnnArchitecture arch = SnnArchitecture.SnasnetCifar10;
        Assert.Equal(19_520_356L, arch.ParameterCount());
        using var net = new SpikingNetwork(arch);
        Assert.Equal(19_520_356L, net.parameters().Sum(p => p.numel()));
    }

    [Fact]
    public void Should_Count1002372Parameters_When_SmallFashionMnistNetwork()
    {
        SnnArchitecture arch = SnnArchitecture.FashionMnistSmall;
        Assert.Equal(1_002_372L, arch.ParameterCount());
        using var net = new SpikingNetwork(arch);
        Assert.Equal(1_002_372L, net.parameters().Sum(p => p.numel()));
    }
}
