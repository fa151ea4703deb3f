using System.CommandLine;
using System.CommandLine.Help;

namespace SpiKernel.Pipeline.Cli;

/// <summary>Entry point of the <c>spikernel</c> tool.</summary>
public static class Program
{
    /// <summary>Builds the command tree (exposed for tests).</summary>
    public static RootCommand CreateRoot()
    {
        var root = new RootCommand("SpiKernel.Onnx: kernel-size exploration and architecture search for small spiking networks, trained in TorchSharp, deployed as ONNX.");
        root.Subcommands.Add(TrainCommand.Create());
        root.Subcommands.Add(ExploreKernelsCommand.Create());
        root.Subcommands.Add(SearchCommand.Create());
        root.Subcommands.Add(ExportCommand.Create());
        root.Subcommands.Add(EvaluateCommand.Create());
        root.Subcommands.Add(ArchCommand.Create());
        root.Subcommands.Add(BenchCommand.Create());
        return root;
    }

    /// <summary>Parses and runs; bad arguments print one line and exit with <see cref="ExitCodes.Usage"/>.</summary>
    public static int Main(string[] args)
    {
        ParseResult result = CreateRoot().Parse(args);
        if (result.Errors.Count > 0 && result.Action is not HelpAction)
            return CommandRunner.Fail(result.Errors[0].Message + " (see --help)", ExitCodes.Usage);
        return result.Invoke();
    }
}
