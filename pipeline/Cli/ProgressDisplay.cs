using Spectre.Console;

namespace SpiKernel.Pipeline.Cli;

/// <summary>The one progress display of the tool: description, bar, percentage, elapsed, ETA, spinner.</summary>
public static class ProgressDisplay
{
    /// <summary>A progress display on the current console that stays on screen when done.</summary>
    public static Progress Create() =>
        AnsiConsole.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                new ElapsedTimeColumn(), new RemainingTimeColumn(), new SpinnerColumn());
}
