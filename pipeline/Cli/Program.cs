using System.CommandLine;
using System.CommandLine.Help;
using SpiKernel.Core;

namespace SpiKernel.Cli;

/// <summary>Entry point of the <c>spikernel</c> tool: builds the command tree, parses, runs.</summary>
public static class Program
{
    /// <summary>Builds the command tree (exposed for tests).</summary>
    public static RootCommand CreateRoot()
    {
        var root = new RootCommand("SpiKernel.Onnx: kernel-size exploration and architecture search for small spiking networks, trained in TorchSharp, deployed as ONNX.");
        root.Subcommands.Add(RunCommand.Create());
        root.Subcommands.Add(TrainCommand.Create());
        root.Subcommands.Add(ExploreKernelsCommand.Create());
        root.Subcommands.Add(SearchCommand.Create());
        root.Subcommands.Add(ExportCommand.Create());
        root.Subcommands.Add(EvaluateCommand.Create());
        root.Subcommands.Add(RankCommand.Create());
        root.Subcommands.Add(PredictorCommand.Create());
        root.Subcommands.Add(ReportCommand.Create());
        root.Subcommands.Add(MergeCommand.Create());
        root.Subcommands.Add(BundleCommand.Create());
        root.Subcommands.Add(ArchCommand.Create());
        root.Subcommands.Add(BenchCommand.Create());
        RefuseEmptyValues(root);
        return root;
    }

    // no option or argument of ours means anything by an empty value ("--out ''" is a slip, and paths made of it are a crash
    // deep inside .NET): refused at parsing, naming the option
    private static void RefuseEmptyValues(Command command)
    {
        foreach (Option o in command.Options)
            o.Validators.Add(r => { if (r.Tokens.Any(t => string.IsNullOrWhiteSpace(t.Value))) r.AddError($"{o.Name} needs a value, not an empty one"); });
        foreach (Argument a in command.Arguments)
            a.Validators.Add(r => { if (r.Tokens.Any(t => string.IsNullOrWhiteSpace(t.Value))) r.AddError($"the {a.Name} argument of {command.Name} is empty"); });
        foreach (Command sub in command.Subcommands) RefuseEmptyValues(sub);
    }

    /// <summary>Parses and runs; bad arguments print one line and exit with <see cref="ExitCodes.Usage"/>.</summary>
    public static int Main(string[] args)
    {
        try
        {
            NativeHeap.Configure(); // before the first tensor: freed activations stay in the process between steps
        }
        catch (SettingsException e)
        {
            return CommandRunner.Fail(e.Message, ExitCodes.Usage);
        }
        // every number the tool reads, prints or draws the invariant way, as its files have them: --duration 0.5 is half a
        // second under de-DE too (the parser converts with the current culture), a bench table copied into
        // docs/measurements reads 1.5 on any machine, and a plot's tick labels likewise
        return SpiKernel.Core.InvariantScope.Run(() =>
        {
            RootCommand root = CreateRoot();
            // no response files: "@FILE" is a value of ours (--kernels @proposed-sets.txt), not arguments to read from it
            ParseResult result = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
            if (result.Errors.Count > 0 && result.Action is not HelpAction)
                return CommandRunner.Fail(FirstError(root, result) + " (see --help)", ExitCodes.Usage);
            return result.Invoke();
        });
    }

    /// <summary>
    /// The error a person should read first: an unknown command is named as such (System.CommandLine would only say
    /// that a command is required), otherwise the parser's first error.
    /// </summary>
    private static string FirstError(RootCommand root, ParseResult result)
    {
        Command command = result.CommandResult.Command;
        if (command.Subcommands.Count > 0 && result.UnmatchedTokens.Count > 0 && !result.UnmatchedTokens[0].StartsWith('-'))
        {
            string kind = command == root ? "command" : $"{command.Name} command";
            return $"unknown {kind} '{result.UnmatchedTokens[0]}'; known: {string.Join(", ", command.Subcommands.Select(c => c.Name))}";
        }
        return Readable(result.Errors[0].Message);
    }

    // System.CommandLine names the .NET type an argument did not parse as ("System.Nullable`1[System.Int32]"): say it in words
    private static string Readable(string message)
    {
        System.Text.RegularExpressions.Match m = System.Text.RegularExpressions.Regex.Match(message,
            @"^Cannot parse argument '(?<value>.*)' for option '(?<option>[^']+)' as expected type '(?<type>[^']+)'\.?$");
        if (!m.Success) return message;
        string type = m.Groups["type"].Value;
        string wanted = type.Contains("Int32", StringComparison.Ordinal) ? "a whole number from -2,147,483,648 to 2,147,483,647"
            : type.Contains("Int64", StringComparison.Ordinal) ? "a whole number"
            : type.Contains("Double", StringComparison.Ordinal) || type.Contains("Single", StringComparison.Ordinal) ? "a number (with a '.' for decimals)"
            : type.Contains("Boolean", StringComparison.Ordinal) ? "true or false"
            : $"a {type}";
        return $"{m.Groups["option"].Value} must be {wanted} (got '{m.Groups["value"].Value}')";
    }
}
