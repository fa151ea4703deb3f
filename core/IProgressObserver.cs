namespace SpiKernel.Core;

/// <summary>
/// The one way every stage reports what it is doing: tasks with a size (a bar with an ETA on a terminal, plain lines
/// in a log), progress within the current task, and lines a person should read. Calls come from the working thread.
/// </summary>
public interface IProgressObserver
{
    /// <summary>A task starts: <paramref name="total"/> work units (0 when unknown). The previous task is finished.</summary>
    void Begin(string task, double total);

    /// <summary><paramref name="done"/> units of the current task are done; <paramref name="status"/> replaces its description when given.</summary>
    void Advance(double done, string? status = null);

    /// <summary>A line worth keeping (an epoch's figures, a skipped provider, a stage's summary).</summary>
    void Note(string line);
}

/// <summary>An observer that ignores everything.</summary>
public sealed class NullProgress : IProgressObserver
{
    /// <summary>The instance.</summary>
    public static NullProgress Instance { get; } = new();

    private NullProgress()
    {
    }

    /// <inheritdoc />
    public void Begin(string task, double total)
    {
    }

    /// <inheritdoc />
    public void Advance(double done, string? status = null)
    {
    }

    /// <inheritdoc />
    public void Note(string line)
    {
    }
}
