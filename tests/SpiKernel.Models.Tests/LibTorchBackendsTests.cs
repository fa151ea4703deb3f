using SpiKernel.Models.Architecture;
using SpiKernel.Models.Compute;
using SpiKernel.Models.Network;

namespace SpiKernel.Models.Tests;

/// <summary>libtorch's global switches the library sets before its first network runs.</summary>
public class LibTorchBackendsTests
{
    [SkippableFact]
    public void NNPACK_is_off_once_a_network_is_built()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "the switch is looked up in /proc/self/maps: Linux only");
        using var net = new SpikingNetwork(SnnArchitecture.Parse("cell=\"0203 0020 0002 0300\" kernels=1,3 input=1x12x12 channels=4 hidden=16 classes=3 cluster=2 sap=2 timesteps=2"));

        // null would mean the switch was not found in the libtorch TorchSharp loaded: NNPACK's warnings would be back
        Assert.True(LibTorchBackends.NnpackEnabled == false, $"NNPACK switch: {LibTorchBackends.NnpackEnabled?.ToString() ?? "not found"}");
    }
}
