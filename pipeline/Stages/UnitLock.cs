namespace SpiKernel.Pipeline.Stages;

/// <summary>
/// An exclusive advisory lock (flock) on a file, held while this process writes one unit's outputs (a training's folder,
/// an evaluation's CSV, an exported file; a shard of a stage): a second process given the same unit — by another shard
/// count, a plain <c>run --resume</c> beside a scheduler's task, a hand-started command — stops with one line instead of
/// writing the same files. The kernel releases it when the process ends, however it ends; the file stays (removing it
/// would race with the next taker). Where the shared file system does not honour locks it guards nothing.
/// </summary>
internal sealed class UnitLock : IDisposable
{
    private readonly FileStream _file;

    private UnitLock(FileStream file) => _file = file;

    /// <summary>Takes the lock file <paramref name="path"/> (its folder must exist).</summary>
    /// <param name="path">The lock file.</param>
    /// <param name="what">What is busy, for the message: "candidate X's training", "train shard 1/3".</param>
    /// <exception cref="InvalidDataException">Another process holds it.</exception>
    public static UnitLock Take(string path, string what) =>
        TryTake(path) ?? throw new InvalidDataException($"{what} is already running in another process ({path} is locked); wait for it or stop it first");

    /// <summary>
    /// Takes the lock file <paramref name="path"/>, waiting while another process holds it (<paramref name="waiting"/> is
    /// called once, when it first has to wait).
    /// </summary>
    public static UnitLock Wait(string path, Action waiting, CancellationToken cancel)
    {
        for (bool told = false; ; told = true)
        {
            cancel.ThrowIfCancellationRequested();
            if (TryTake(path) is { } taken) return taken;
            if (!told) waiting();
            cancel.WaitHandle.WaitOne(250);
        }
    }

    // null: another process holds it. Only that: a lock file that cannot be opened at all (a read-only checkout, a full
    // disk) is its own error, not a wait that never ends or a process that is not there
    private static UnitLock? TryTake(string path)
    {
        try
        {
            return new UnitLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
        }
        catch (IOException ex) when (ex.HResult is Held or HeldWindows)
        {
            return null;
        }
    }

    // what FileStream reports when flock finds the lock taken: EWOULDBLOCK on Linux, a sharing violation on Windows
    private const int Held = 11;
    private const int HeldWindows = unchecked((int)0x80070020);

    /// <summary>
    /// The lock of a unit's outputs <paramref name="name"/> in <paramref name="folder"/>: the hidden file .NAME.lock there
    /// (ending in .lock, so no search for *.onnx or *.csv finds it).
    /// </summary>
    public static UnitLock For(string folder, string name, string what) => Take(Path.Combine(folder, "." + name + ".lock"), what);

    /// <inheritdoc />
    public void Dispose() => _file.Dispose();
}
