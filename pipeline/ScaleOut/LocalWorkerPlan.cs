using System.Diagnostics;

namespace SpiKernel.Pipeline.ScaleOut;

/// <summary>How a stage's units are spread over processes on this machine.</summary>
/// <param name="Shares">How many ways the cores are split (the stage runs in worker processes when more than one).</param>
/// <param name="Workers">Worker processes at a time: <paramref name="Shares"/>, or fewer where memory is short.</param>
/// <param name="ThreadsEach">Torch threads of each worker.</param>
internal sealed record LocalWorkerPlan(int Shares, int Workers, int ThreadsEach)
{
    /// <summary>Whether the units run in worker processes (otherwise in the caller's, with every core).</summary>
    public bool InWorkers => Shares > 1;

    /// <summary>
    /// The plan for a stage of <paramref name="units"/> units on <paramref name="cores"/> cores. The cores are split
    /// <paramref name="configured"/> ways (null: one share per core, or per <paramref name="threads"/> cores when that is
    /// set), never more ways than there are units; each worker gets <paramref name="threads"/> torch threads, or (0:
    /// every core) its share. This depends on the configuration and the machine only, never on how many units are left
    /// or on memory, so a resumed stage trains every unit with the thread count the straight one would (its weights
    /// depend on it). Memory only limits how many workers run at once: no more than <paramref name="fitInMemory"/>
    /// unless <paramref name="configured"/> says how many.
    /// </summary>
    public static LocalWorkerPlan For(int? configured, int units, int threads, int cores, int fitInMemory = int.MaxValue)
    {
        int shares = Math.Max(1, Math.Min(units, configured ?? Math.Max(1, threads > 0 ? cores / threads : cores)));
        int workers = configured is null ? Math.Clamp(fitInMemory, 1, shares) : shares;
        return new LocalWorkerPlan(shares, workers, threads > 0 ? threads : Math.Max(1, cores / shares));
    }

    /// <summary>
    /// How many processes the size of the largest one so far fit in the memory available now. The size is the largest
    /// of: this process's peak resident memory (it has scored the search's networks), the peak of the largest worker
    /// it has started that has ended (<see cref="LargestWorkerPeak"/>: a run's kernel-study workers trained networks of
    /// the template the candidates come from), and <paramref name="recordedBytes"/>, what trainings in the run folder
    /// recorded (which a resumed run still has). The memory available is the smaller of Linux's MemAvailable and what
    /// the runtime may use, which honours a container's limit. Before any training, this process's own peak (the data)
    /// is all there is to go by: set <c>scale_out.local_workers</c> where memory is short.
    /// </summary>
    public static int FitInMemory(long recordedBytes = 0)
    {
        using Process self = Process.GetCurrentProcess();
        long peak = Math.Max(1, Math.Max(Math.Max(self.PeakWorkingSet64, LargestWorkerPeak()), recordedBytes));
        long available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        try
        {
            string? line = File.Exists("/proc/meminfo") ? File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemAvailable:", StringComparison.Ordinal)) : null;
            if (line is not null && long.TryParse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], out long kib)) available = Math.Min(available, kib * 1024);
        }
        catch (IOException)
        {
            // keep the runtime's figure
        }
        return (int)Math.Clamp(available / peak, 1, int.MaxValue);
    }

    /// <summary>
    /// The peak resident memory, in bytes, of the largest child process of this one that has ended (getrusage's
    /// RUSAGE_CHILDREN maximum, Linux); 0 when none has, or elsewhere.
    /// </summary>
    public static long LargestWorkerPeak() => PeakResident(ResourceUsageChildren);

    /// <summary>getrusage(<paramref name="who"/>)'s ru_maxrss in bytes (Linux); 0 elsewhere or when the call fails.</summary>
    internal static long PeakResident(int who)
    {
        if (!OperatingSystem.IsLinux()) return 0;
        long[] usage = new long[18]; // struct rusage on 64-bit Linux: two timevals, then 14 longs; ru_maxrss (KiB) is the first of those
        try
        {
            if (GetResourceUsage(who, usage) != 0) return 0;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return 0;
        }
        return usage[4] * 1024;
    }

    /// <summary>getrusage's RUSAGE_SELF.</summary>
    internal const int ResourceUsageSelf = 0;

    private const int ResourceUsageChildren = -1;

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "getrusage")]
    private static extern int GetResourceUsage(int who, [System.Runtime.InteropServices.Out] long[] usage);
}
