using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using SpiKernel.Core;

namespace SpiKernel.Pipeline.ScaleOut;

/// <summary>How this installation starts itself: an executable and the arguments that come before a command's own.</summary>
/// <param name="FileName">The executable (the <c>dotnet</c> host or the tool's own apphost).</param>
/// <param name="Arguments">What precedes the command (the tool's dll under the <c>dotnet</c> host; nothing for the apphost).</param>
public sealed record SelfLauncher(string FileName, IReadOnlyList<string> Arguments)
{
    /// <summary>The running tool: "dotnet /path/spikernel.dll" when the dotnet host runs it, else its apphost.</summary>
    /// <param name="entryAssembly">The tool's entry assembly (where its dll is).</param>
    public static SelfLauncher Current(string entryAssembly)
    {
        string process = Environment.ProcessPath ?? "dotnet";
        return Path.GetFileNameWithoutExtension(process) == "dotnet" ? new(process, [entryAssembly]) : new(process, []);
    }

    /// <summary>The launcher as one shell command prefix, every word single-quoted.</summary>
    public string ShellWords() =>
        string.Join(' ', new[] { FileName }.Concat(Arguments).Select(w => "'" + w.Replace("'", "'\\''", StringComparison.Ordinal) + "'"));
}

/// <summary>How a stage's units are spread over processes on this machine.</summary>
/// <param name="Workers">Processes, each one shard of the stage (1: the stage runs in this process).</param>
/// <param name="ThreadsEach">Torch threads of each process.</param>
public sealed record LocalWorkerPlan(int Workers, int ThreadsEach)
{
    /// <summary>
    /// The plan for a stage of <paramref name="units"/> units (all of them, done or not: a resumed stage keeps the plan,
    /// and so each unit's thread count) on <paramref name="cores"/> cores: <paramref name="configured"/> processes (null:
    /// one per core, and no more than <paramref name="fitInMemory"/>), never more than there are units; each gets
    /// <paramref name="threads"/> torch threads, or when that is 0 (every core) an equal share of the cores.
    /// </summary>
    public static LocalWorkerPlan For(int? configured, int units, int threads, int cores, int fitInMemory = int.MaxValue)
    {
        int workers = Math.Max(1, Math.Min(units, configured ?? Math.Min(cores, fitInMemory)));
        return new LocalWorkerPlan(workers, threads > 0 ? threads : Math.Max(1, cores / workers));
    }

    /// <summary>
    /// How many processes the size of this one fit in the memory available now: this process's peak resident memory
    /// (it has trained the kernel study's networks and scored the search's, of the same template) against the
    /// system's available memory (Linux: MemAvailable; elsewhere the memory the runtime may use).
    /// </summary>
    public static int FitInMemory()
    {
        using Process self = Process.GetCurrentProcess();
        long peak = Math.Max(1, self.PeakWorkingSet64);
        long available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        try
        {
            string? line = File.Exists("/proc/meminfo") ? File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemAvailable:", StringComparison.Ordinal)) : null;
            if (line is not null && long.TryParse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], out long kib)) available = kib * 1024;
        }
        catch (IOException)
        {
            // keep the runtime's figure
        }
        return (int)Math.Clamp(available / peak, 1, int.MaxValue);
    }
}

/// <summary>
/// Runs the units of a sharded stage as processes on this machine, several at a time: unit u of n is shard u/n,
/// <c>spikernel run --resume ROOT --stage STAGE --shard u/n --threads T</c>, exactly the task a scheduler would start
/// (docs/scale-out.md), with its shard lock, its log (logs/STAGE.u-of-n.log) and its record. A worker takes the next
/// unit as soon as its last one ends, so units of different cost balance out. Small networks leave most of a second
/// core idle in one training (serial work between libtorch's parallel kernels), so training candidates side by side
/// on one thread each does more per second than one after the other on all cores. What the workers print about their
/// unit is shown as notes, prefixed with the unit's name, on the calling thread.
/// </summary>
public static class LocalWorkers
{
    /// <summary>
    /// Runs <paramref name="pending"/> (unit indices of the stage's <paramref name="unitCount"/>, in the order to start
    /// them) on the <paramref name="plan"/>'s workers and waits for all of them; <paramref name="name"/> names a unit in
    /// notes, <paramref name="done"/> counts the units complete so far (the bar's progress out of
    /// <paramref name="unitCount"/>). A worker that fails does not stop the others (the units are independent): when all
    /// have ended, throws naming the first failed one and its log. On cancellation the workers are interrupted (each
    /// keeps what it completed, as a killed shard does).
    /// </summary>
    public static void Run(SelfLauncher launcher, string root, string stage, IReadOnlyList<int> pending, int unitCount, Func<int, string> name,
        LocalWorkerPlan plan, Func<int> done, IProgressObserver view, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(launcher);
        ArgumentNullException.ThrowIfNull(pending);
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(done);
        ArgumentNullException.ThrowIfNull(view);
        view.Note(string.Create(CultureInfo.InvariantCulture,
            $"{pending.Count} units on {plan.Workers} worker processes, {plan.ThreadsEach} thread{(plan.ThreadsEach == 1 ? "" : "s")} each (scale_out.local_workers; their logs: logs/{stage}.U-of-{unitCount}.log)"));
        view.Begin($"{stage} on {plan.Workers} workers", unitCount);
        view.Advance(done());
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
                    int u = pending[next++];
                    running[u] = (Start(launcher, root, stage, new Shard(u, unitCount), plan.ThreadsEach, lines), 2);
                    view.Note(string.Create(CultureInfo.InvariantCulture, $"{name(u)}: started ({next} of {pending.Count})"));
                }
                if (running.Count == 0) break;
                (int unit, string? line) = lines.Take(cancel);
                if (line is not null)
                {
                    if (Shown(line, stage) is { } shown) view.Note($"{name(unit)}: {shown}");
                    view.Advance(done());
                    continue;
                }
                (Process p, int open) = running[unit];
                if (open > 1)
                {
                    running[unit] = (p, open - 1); // its stdout and stderr each end with a null line
                    continue;
                }
                p.WaitForExit();
                if (p.ExitCode != 0) failed.Add((unit, p.ExitCode));
                p.Dispose();
                running.Remove(unit);
                view.Advance(done());
            }
        }
        catch (OperationCanceledException)
        {
            foreach ((Process p, _) in running.Values) Stop(p);
            throw;
        }
        finally
        {
            foreach ((Process p, _) in running.Values) p.Dispose();
        }
        if (failed.Count > 0)
        {
            (int unit, int code) = failed[0];
            throw new WorkerFailedException(code, string.Create(CultureInfo.InvariantCulture,
                $"{stage}: the worker of {name(unit)} (shard {unit}/{unitCount}) stopped with exit code {code}{(failed.Count > 1 ? $", and {failed.Count - 1} more worker{(failed.Count > 2 ? "s" : "")} failed" : "")}; its log: {Path.Combine(root, "logs", $"{stage}.{new Shard(unit, unitCount).FileTag}.log")}; everything else completed is kept (spikernel run --resume {root})"));
        }
    }

    private const string Error = "\u0000";

    // what a worker printed about the stage's own work ("[4/8 train] epoch 2/3 …", without that prefix) and every
    // error line; its checks of the stages before (read, not redone) and its own header are in its log
    private static string? Shown(string line, string stage)
    {
        if (line.StartsWith(Error, StringComparison.Ordinal)) return line[Error.Length..];
        int at = line.IndexOf($" {stage}] ", StringComparison.Ordinal);
        return at >= 0 && line.StartsWith('[') ? line[(at + stage.Length + 3)..] : null;
    }

    private static Process Start(SelfLauncher launcher, string root, string stage, Shard shard, int threads, BlockingCollection<(int, string?)> lines)
    {
        var info = new ProcessStartInfo(launcher.FileName) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in launcher.Arguments) info.ArgumentList.Add(a);
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

    // Ctrl+C reached the workers too (one process group); SIGINT again makes sure, then each gets a minute to save
    // what it completed, as an interrupted run does, before it is killed
    private static void Stop(Process p)
    {
        try
        {
            if (p.HasExited) return;
            if (OperatingSystem.IsLinux() || OperatingSystem.IsMacOS()) _ = Interrupt(p.Id, SigInt);
            if (!p.WaitForExit(TimeSpan.FromMinutes(1))) p.Kill(entireProcessTree: true);
            p.WaitForExit();
        }
        catch (InvalidOperationException)
        {
            // not started, or gone already
        }
    }

    private const int SigInt = 2;

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
