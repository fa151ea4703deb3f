using System.Diagnostics;
using System.Globalization;
using SpiKernel.Core;
using Spectre.Console;

namespace SpiKernel.Cli;

/// <summary>
/// The one progress view of the tool, an <see cref="IProgressObserver"/>: on a terminal a Spectre.Console bar per task
/// with percentage, elapsed time and ETA, notes printed above; when standard output is not a terminal (CI logs,
/// pipes) plain lines: each task's start, its progress every 10 % (at most every 5 s), and every note.
/// </summary>
internal static class ConsoleProgress
{
    /// <summary>
    /// Runs <paramref name="work"/> with a progress observer suited to the output; <paramref name="timed"/>: plain lines
    /// on a terminal too, since a bar's redraw thread would share the cores being timed (a benchmark).
    /// </summary>
    public static T Run<T>(Func<IProgressObserver, T> work, bool timed = false)
    {
        if (Console.IsOutputRedirected || timed) return work(new Lines());
        return AnsiConsole.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                new ElapsedTimeColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(ctx => work(new Bars(ctx)));
    }

    private sealed class Bars(ProgressContext ctx) : IProgressObserver
    {
        private ProgressTask? _task;

        public void Begin(string task, double total)
        {
            if (_task is { } previous)
            {
                if (!previous.IsIndeterminate) previous.Value = previous.MaxValue;
                previous.StopTask();
            }
            _task = ctx.AddTask(Markup.Escape(task), maxValue: Math.Max(1, total));
            _task.IsIndeterminate = total <= 0;
        }

        public void Advance(double done, string? status = null)
        {
            if (_task is null) return;
            if (!_task.IsIndeterminate) _task.Value = Math.Min(done, _task.MaxValue);
            if (status is not null) _task.Description = Markup.Escape(status);
        }

        public void Note(string line) => AnsiConsole.MarkupLine(Markup.Escape(line));
    }

    private sealed class Lines : IProgressObserver
    {
        private readonly Stopwatch _clock = new();
        private string _task = "";
        private double _total;
        private double _nextFraction;
        private TimeSpan _lastLine;

        public void Begin(string task, double total)
        {
            (_task, _total, _nextFraction) = (task, total, 0.1);
            _clock.Restart();
            _lastLine = TimeSpan.Zero;
            Console.Out.WriteLine(total > 0 ? $"{task}: started ({total.ToString("0", CultureInfo.InvariantCulture)} units)" : $"{task}: started");
        }

        public void Advance(double done, string? status = null)
        {
            if (_total <= 0) return;
            double fraction = done / _total;
            TimeSpan now = _clock.Elapsed;
            if (fraction < _nextFraction || now - _lastLine < TimeSpan.FromSeconds(5) && fraction < 1) return;
            _nextFraction = Math.Floor(fraction * 10 + 1) / 10;
            _lastLine = now;
            double eta = fraction > 0 ? now.TotalSeconds * (1 - fraction) / fraction : double.NaN;
            Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{_task}: {fraction:P0} after {now.TotalSeconds:F0} s, ETA {eta:F0} s{(status is null ? "" : "  " + status)}"));
        }

        public void Note(string line) => Console.Out.WriteLine(line);
    }
}
