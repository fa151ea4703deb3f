using System.CommandLine;
using SpiKernel.Pipeline.Stages;
using Spectre.Console;

namespace SpiKernel.Cli;

/// <summary><c>spikernel report</c>: parses, calls <see cref="ReportStage"/>, prints the paths written and the sections left out.</summary>
internal static class ReportCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var run = new Argument<string>("run") { Description = "The run folder (results.csv, ranking.csv, search/, train/, … whichever are there)." };
        var output = new Option<string?>("--out") { Description = "Folder for report.md and report.html (default: the run folder)." };
        var cmd = new Command("report", "Writes report.md and one self-contained report.html (plots inline, no network requests) from a run folder.");
        cmd.Arguments.Add(run);
        cmd.Options.Add(output);
        cmd.SetAction(r => CommandRunner.Run(cancel =>
        {
            string? dir = r.GetValue(output);
            var options = new ReportStageOptions(r.GetValue(run)!, dir is null ? null : Path.Combine(dir, "report.md"),
                dir is null ? null : Path.Combine(dir, "report.html"), "spikernel " + string.Join(' ', r.Tokens.Select(t => t.Value)));
            ReportStageResult result = new ReportStage().Run(options, SpiKernel.Core.NullProgress.Instance, cancel);
            IAnsiConsole console = CommandRunner.Out;
            foreach (string missing in result.Missing) console.MarkupLine($"[yellow]left out[/] {Markup.Escape(missing)}");
            console.MarkupLine($"wrote [bold]{Markup.Escape(result.MarkdownPath)}[/]");
            console.MarkupLine($"wrote [bold]{Markup.Escape(result.HtmlPath)}[/] ({result.Present.Count} of {result.Present.Count + result.Missing.Count} sections)");
            return ExitCodes.Ok;
        }));
        return cmd;
    }
}
