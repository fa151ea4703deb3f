using System.CommandLine;
using System.Globalization;
using SpiKernel.Models.Architecture;

namespace SpiKernel.Cli;

/// <summary><c>spikernel arch</c>: inspect architectures without training them.</summary>
internal static class ArchCommand
{
    /// <summary>Builds the command group.</summary>
    public static Command Create()
    {
        var archOptions = new ArchitectureOptions();
        var paramsCmd = new Command("params", "Print the parameter count of an architecture (analytic, equal to the built module's).");
        archOptions.AddTo(paramsCmd);
        paramsCmd.SetAction(r => CommandRunner.Run(cancel =>
        {
            SnnArchitecture arch = archOptions.Resolve(r, out bool _);
            // First line: the count alone, for scripts; second: what was counted.
            Console.WriteLine(arch.ParameterCount().ToString(CultureInfo.InvariantCulture));
            Console.WriteLine(arch.ToString());
            return ExitCodes.Ok;
        }));

        var group = new Command("arch", "Architecture tools.");
        group.Subcommands.Add(paramsCmd);
        return group;
    }
}
