using SpiKernel.Models.Architecture;
using SpiKernel.Pipeline.Data;

namespace SpiKernel.Pipeline.Training;

/// <summary>Adapts an architecture's input shape and class count to the data it is trained or scored on.</summary>
internal static class ArchitectureFit
{
    /// <summary>
    /// <paramref name="arch"/> with its input shape and class count taken from <paramref name="data"/> unless the user
    /// fixed them (<paramref name="explicitShape"/>); throws <see cref="SpiKernel.Core.SettingsException"/> when they still do not fit.
    /// </summary>
    public static SnnArchitecture ToData(SnnArchitecture arch, bool explicitShape, ImageDataset data)
    {
        ArgumentNullException.ThrowIfNull(arch);
        ArgumentNullException.ThrowIfNull(data);
        if (!explicitShape)
            arch = (arch with { Macro = arch.Macro with { InChannels = data.Channels, Height = data.Height, Width = data.Width, Classes = data.ClassNames.Count } }).Validated();
        Trainer.CheckCompatible(arch, data);
        return arch;
    }
}
