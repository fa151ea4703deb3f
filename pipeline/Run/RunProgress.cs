using System.Globalization;
using SpiKernel.Core;

namespace SpiKernel.Pipeline.Run;

/// <summary>
/// The one view of a run: every task is shown as "[k/n stage] task" on the observer the caller gave (a bar with an
/// ETA on a terminal, plain lines otherwise), and every task and note is also appended, time-stamped, to run.log.
/// </summary>
internal sealed class RunProgress : IProgressObserver, IDisposable
{
    private readonly IProgressObserver _inner;
    private readonly StreamWriter _log;
    private string _prefix = "";

    public RunProgress(IProgressObserver inner, string logPath)
    {
        _inner = inner;
        _log = new StreamWriter(logPath, append: true) { AutoFlush = true };
    }

    /// <summary>The note a stage begins with.</summary>
    public const string StageStarted = "stage started";

    /// <summary>How the note a stage ends with begins (then its seconds).</summary>
    public const string StageDone = "stage done in ";

    /// <summary>How the last note of <c>run --stage STAGE</c> begins (then its seconds).</summary>
    public static string Finished(string what) => what + " finished in ";

    /// <summary>Stage <paramref name="k"/> of <paramref name="n"/> starts.</summary>
    public void Stage(int k, int n, string name)
    {
        _prefix = $"[{k}/{n} {name}] ";
        Note(StageStarted);
    }

    /// <inheritdoc />
    public void Begin(string task, double total)
    {
        Log(task);
        _inner.Begin(_prefix + task, total);
    }

    /// <inheritdoc />
    public void Advance(double done, string? status = null) => _inner.Advance(done, status);

    /// <inheritdoc />
    public void Note(string line)
    {
        Log(line);
        _inner.Note(_prefix + line);
    }

    private void Log(string line) =>
        _log.WriteLine($"{DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture)} {_prefix}{line}");

    public void Dispose() => _log.Dispose();
}
