using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using SpiKernel.Core;

namespace SpiKernel.Pipeline.ScaleOut;

/// <summary>
/// Runs the units of a sharded stage as processes on this machine, several at a time: unit u of n is shard u/n,
/// <c>spikernel run --resume ROOT --stage STAGE --shard u/n --threads T</c>, exactly the task a scheduler would start
/// (docs/scale-out.md), with its shard lock, its log (logs/STAGE.u-of-n.log) and its record. A worker takes the next
/// unit as soon as its last one ends, so units of different cost balance out. Small networks leave most of a second
/// core idle in one training (serial work between libtorch's parallel kernels), so training candidates side by side
/// on one thread each does more per second than one after the other on all cores. What the workers print about their
/// unit is shown as notes, prefixed with the unit's name, on the calling thread.
/// </summary>
internal static class LocalWorkers
{
    /// <summary>The environment variable that tells a worker which process started it (it stops when that one ends).</summary>
    public const string ParentVariable = "SPIKERNEL_WORKER_PARENT";

    /// <summary>
    /// Runs <paramref name="pending"/> (unit indices of the stage's <paramref name="unitCount"/>, in the order to start
    /// them) on the <paramref name="plan"/>'s workers and waits for all of them; <paramref name="name"/> names a unit in
    /// notes; <paramref name="alreadyDone"/> units were complete before (the bar counts out of
    /// <paramref name="unitCount"/>). A worker that fails does not stop the others (the units are independent): when
    /// all have ended, throws naming the first failed unit and its log. On cancellation, or any other exception, the
    /// workers still running are interrupted (each keeps what it completed, as a killed shard does); a worker also
    /// stops by itself when this process ends (<see cref="ParentVariable"/>).
    /// </summary>
    public static void Run(SelfLauncher launcher, string root, string stage, IReadOnlyList<int> pending, int unitCount, Func<int, string> name,
        LocalWorkerPlan plan, int alreadyDone, IProgressObserver view, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(launcher);
        ArgumentNullException.ThrowIfNull(pending);
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(view);
        int workers = Math.Min(plan.Workers, pending.Count);
        view.Note(string.Create(CultureInfo.InvariantCulture,
            $"{Plural(pending.Count, "unit")} on {Plural(workers, "worker process", "worker processes")}, {Plural(plan.ThreadsEach, "thread")} each (scale_out.local_workers; their logs: logs/{stage}.U-of-{unitCount}.log)"));
        view.Begin($"{stage} on {Plural(workers, "worker")}", unitCount);
        int done = alreadyDone;
        view.Advance(done);
        using var lines = new BlockingCollection<(int Unit, string? Line)>();
        var running = new Dictionary<int, (Process Process, int Open)>();
        var failed = new List<(int Unit, int Code)>();
        int next = 0;
        try
        {
            while (next < pending.Count || running.Count > 0)
            {
                while (running.Count < plan.Workers && next < pending.Count)
                {
                    cancel.ThrowIfCancellationRequested();
                    int u = pending[next++];
                    running[u] = (Start(launcher, root, stage, new Shard(u, unitCount), plan.ThreadsEach, lines), 2);
                    view.Note(string.Create(CultureInfo.InvariantCulture, $"{name(u)}: started ({next} of {pending.Count})"));
                }
                (int unit, string? line) = lines.Take(cancel);
                if (line is not null)
                {
                    if (Shown(line, stage) is { } shown) view.Note(shown.StartsWith(name(unit) + ": ", StringComparison.Ordinal) ? shown : $"{name(unit)}: {shown}");
                    continue;
                }
                (Process p, int open) = running[unit];
                if (open > 1)
                {
                    running[unit] = (p, open - 1); // its stdout and stderr each end with a null line
                    continue;
                }
                p.WaitForExit();
                if (p.ExitCode == 0) view.Advance(++done);
                else failed.Add((unit, p.ExitCode));
                p.Dispose();
                running.Remove(unit);
            }
        }
        finally
        {
            Stop(running.Values.Select(r => r.Process).ToArray()); // none left unless something went wrong
        }
        cancel.ThrowIfCancellationRequested(); // workers that ended on Ctrl+C are an interruption, not a failure
        if (failed.Count > 0) throw Failure(failed.OrderBy(f => f.Unit).ToArray(), root, stage, unitCount, name);
    }

    private static WorkerFailedException Failure((int Unit, int Code)[] failed, string root, string stage, int unitCount, Func<int, string> name)
    {
        (int unit, int code) = failed[0];
        string how = How(code);
        string more = failed.Length > 1 ? $" (and {Plural(failed.Length - 1, "more worker")}: {string.Join(", ", failed.Skip(1).Select(f => name(f.Unit)))})" : "";
        return new WorkerFailedException(code, string.Create(CultureInfo.InvariantCulture,
            $"{stage}: the worker of {name(unit)} (shard {unit}/{unitCount}) {how}{more}; its log: {Path.Combine(root, "logs", $"{stage}.{new Shard(unit, unitCount).FileTag}.log")}; everything else completed is kept (spikernel run --resume {root})"));
    }

    /// <summary>How a child process ended, from its exit code ("was killed by signal 9", "stopped with exit code 2").</summary>
    internal static string How(int exitCode) => exitCode switch
    {
        InterruptedCode => "was interrupted",
        > 128 => $"was killed by signal {(exitCode - 128).ToString(CultureInfo.InvariantCulture)}",
        _ => $"stopped with exit code {exitCode.ToString(CultureInfo.InvariantCulture)}",
    };

    /// <summary>The exit code of an interrupted spikernel (Ctrl+C; the CLI's ExitCodes.Cancelled, 128 + SIGINT).</summary>
    internal const int InterruptedCode = 130;

    private static string Plural(int n, string word, string? plural = null) =>
        string.Create(CultureInfo.InvariantCulture, $"{n} {(n == 1 ? word : plural ?? word + "s")}");

    private const string Error = "\u0000";

    // what a worker printed about the stage's own work ("[4/8 train] epoch 2/3 …", without that prefix) and every
    // error line; its checks of the stages before (read, not redone), its own header and the stage's start and end
    // (the run shows its own, and the unit's "started" and the bar) are in its log
    private static string? Shown(string line, string stage)
    {
        if (line.StartsWith(Error, StringComparison.Ordinal)) return line[Error.Length..];
        int at = line.IndexOf($" {stage}] ", StringComparison.Ordinal);
        if (at < 0 || !line.StartsWith('[')) return null;
        string text = line[(at + stage.Length + 3)..];
        return text == SpiKernel.Pipeline.Run.RunProgress.StageStarted || text.StartsWith(SpiKernel.Pipeline.Run.RunProgress.StageDone, StringComparison.Ordinal)
            || text.StartsWith(SpiKernel.Pipeline.Run.RunProgress.Finished(stage), StringComparison.Ordinal) ? null : text;
    }

    private static Process Start(SelfLauncher launcher, string root, string stage, Shard shard, int threads, BlockingCollection<(int, string?)> lines)
    {
        var info = new ProcessStartInfo(launcher.FileName) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in launcher.Arguments) info.ArgumentList.Add(a);
        info.Environment[ParentVariable] = Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        foreach (string a in new[] { "run", "--resume", root, "--stage", stage, "--shard", shard.ToString(), "--threads", threads.ToString(CultureInfo.InvariantCulture) })
            info.ArgumentList.Add(a);
        var p = new Process { StartInfo = info };
        p.OutputDataReceived += (_, e) => lines.Add((shard.Index, e.Data));
        p.ErrorDataReceived += (_, e) => lines.Add((shard.Index, e.Data is null ? null : Error + e.Data));
        if (!p.Start()) throw new InvalidOperationException($"{launcher.FileName}: the worker process did not start");
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    // Ctrl+C reached the workers too (one process group); SIGINT again makes sure (a cancellation that did not come from
    // the terminal), then together they get a minute to save what they completed, as an interrupted run does, before
    // the ones still there are killed
    private static void Stop(Process[] workers)
    {
        foreach (Process p in workers)
        {
            try
            {
                if (!p.HasExited && (OperatingSystem.IsLinux() || OperatingSystem.IsMacOS())) _ = Interrupt(p.Id, SigInt);
            }
            catch (Exception e) when (e is InvalidOperationException or DllNotFoundException or EntryPointNotFoundException)
            {
                // gone already, or no kill(2) here: the deadline below kills it
            }
        }
        var deadline = Stopwatch.StartNew();
        foreach (Process p in workers)
        {
            try
            {
                TimeSpan left = TimeSpan.FromMinutes(1) - deadline.Elapsed;
                if (!p.WaitForExit(left > TimeSpan.Zero ? left : TimeSpan.Zero)) p.Kill(entireProcessTree: true);
                p.WaitForExit();
            }
            catch (InvalidOperationException)
            {
                // gone already
            }
            finally
            {
                p.Dispose();
            }
        }
    }

    /// <summary>
    /// In a worker (<see cref="ParentVariable"/> set): asks the kernel to end this process with SIGTERM when the run that
    /// started it ends, however it ends (Linux; elsewhere nothing). False when that run has ended already.
    /// </summary>
    public static bool TieToParent()
    {
        if (!int.TryParse(Environment.GetEnvironmentVariable(ParentVariable), NumberStyles.None, CultureInfo.InvariantCulture, out int parent)) return true;
        if (!OperatingSystem.IsLinux()) return true;
        try
        {
            _ = SetParentDeathSignal(PrSetPdeathsig, SigTerm);
            return ParentId() == parent; // it may have ended before the request: then this process belongs to init
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return true;
        }
    }

    private const int SigInt = 2, SigTerm = 15, PrSetPdeathsig = 1;

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "prctl", SetLastError = true)]
    private static extern int SetParentDeathSignal(int option, nint signal);

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "getppid")]
    private static extern int ParentId();

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Interrupt(int pid, int signal);
}

/// <summary>A worker process of <see cref="LocalWorkers"/> failed; its own error line was shown before.</summary>
/// <param name="exitCode">The worker's exit code (what went wrong there: bad input, a bug, an interruption).</param>
/// <param name="message">Which worker, and where its log is.</param>
public sealed class WorkerFailedException(int exitCode, string message) : Exception(message)
{
    /// <summary>The worker's exit code.</summary>
    public int ExitCode { get; } = exitCode;
}
