using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;

namespace SpiKernel.Models.Compute;

/// <summary>
/// Runs the .NET kernels (LIF, BatchNorm, spike convolution) on libtorch's own OpenMP team: its worker threads, through libgomp's
/// <c>GOMP_parallel</c> (the entry point compiled <c>#pragma omp parallel</c> regions call).
/// <para>
/// Why not .NET's thread pool: after every libtorch call its OpenMP worker keeps spinning on the other core for a while,
/// waiting for the next parallel region. A pool thread then shares that core with the spinning worker, and in training
/// two pool threads were no faster than one (docs/measurements/train-speed.md). Handed a region of ours, the spinning
/// worker takes it at once.
/// </para>
/// <para>
/// The library is the libgomp that libtorch loaded (found in /proc/self/maps), so there is one team, sized by
/// <c>torch.set_num_threads</c>. Without it (another OpenMP runtime, another OS) <see cref="For"/> runs the parts in
/// order on the calling thread. Parts must be independent; which thread runs a part never changes a result (how many
/// parts there are may: a caller that sums over parts, as the spike convolution's weight gradient, rounds by them). Parts run
/// on threads .NET did not create: they read and write tensor memory they are given, and create no tensors (those would
/// belong to no dispose scope) and call no libtorch operation.
/// </para>
/// </summary>
internal static unsafe class OpenMpTeam
{
    private static readonly delegate* unmanaged<delegate* unmanaged<nint, void>, nint, uint, uint, void> s_parallel;
    private static readonly delegate* unmanaged<int> s_threadNum;
    private static readonly delegate* unmanaged<int> s_numThreads;
    private static readonly delegate* unmanaged<int> s_inParallel;

    static OpenMpTeam()
    {
        TorchSharp.torch.get_num_threads(); // libtorch (and with it libgomp) is loaded
        string? path = LoadedLibgomp();
        if (path is null || !NativeLibrary.TryLoad(path, out nint lib)) return;
        if (NativeLibrary.TryGetExport(lib, "GOMP_parallel", out nint parallel)
            && NativeLibrary.TryGetExport(lib, "omp_get_thread_num", out nint threadNum)
            && NativeLibrary.TryGetExport(lib, "omp_get_num_threads", out nint numThreads)
            && NativeLibrary.TryGetExport(lib, "omp_in_parallel", out nint inParallel))
        {
            s_parallel = (delegate* unmanaged<delegate* unmanaged<nint, void>, nint, uint, uint, void>)parallel;
            s_threadNum = (delegate* unmanaged<int>)threadNum;
            s_numThreads = (delegate* unmanaged<int>)numThreads;
            s_inParallel = (delegate* unmanaged<int>)inParallel;
        }
    }

    /// <summary>Whether parts run on libtorch's OpenMP team (false: in order on the calling thread).</summary>
    public static bool Available => s_parallel != null;

    /// <summary>How many parts to split work of <paramref name="size"/> elements into: one per team thread, one when small.</summary>
    public static int Parts(long size, long minimumPerPart = 1 << 16) =>
        !Available || size < 2 * minimumPerPart ? 1 : (int)Math.Clamp(size / minimumPerPart, 1, Math.Max(1, TorchSharp.torch.get_num_threads()));

    /// <summary>Runs <paramref name="part"/>(p) for every p in [0, <paramref name="parts"/>), spread over the team (at most torch's thread count).</summary>
    public static void For(int parts, Action<int> part)
    {
        if (parts <= 1 || !Available || s_inParallel() != 0)
        {
            for (int p = 0; p < parts; p++) part(p);
            return;
        }
        var region = new Region(parts, part);
        GCHandle handle = GCHandle.Alloc(region);
        try
        {
            s_parallel(&Enter, GCHandle.ToIntPtr(handle), (uint)Math.Min(parts, Math.Max(1, TorchSharp.torch.get_num_threads())), 0);
        }
        finally
        {
            handle.Free();
        }
        region.Failure?.Throw();
    }

    /// <summary>
    /// Runs <paramref name="body"/>(start, end) over near-equal ranges of [0, <paramref name="count"/>) cut at multiples of
    /// <paramref name="align"/>, one per part of work of <paramref name="size"/> elements (<see cref="Parts"/>); no empty range.
    /// </summary>
    public static void ForRanges(int count, long size, int align, Action<int, int> body)
    {
        int parts = (int)Math.Min(Parts(size), Math.Max(1, (count + (long)align - 1) / align));
        For(parts, p =>
        {
            (int start, int length) = Range(count, p, parts, align);
            if (length > 0) body(start, start + length);
        });
    }

    /// <summary>[start, start + length) of the <paramref name="part"/>-th of <paramref name="parts"/> near-equal pieces of <paramref name="count"/>, cut at multiples of <paramref name="align"/>.</summary>
    public static (int Start, int Length) Range(int count, int part, int parts, int align = 1)
    {
        long units = (count + (long)align - 1) / align;
        int start = (int)Math.Min(count, units * part / parts * align);
        int end = (int)Math.Min(count, units * (part + 1) / parts * align);
        return (start, end - start);
    }

    [UnmanagedCallersOnly]
    private static void Enter(nint data)
    {
        var region = (Region)GCHandle.FromIntPtr(data).Target!;
        try
        {
            int threads = s_numThreads();
            for (int p = s_threadNum(); p < region.Parts; p += threads) region.Part(p);
        }
        catch (Exception e)
        {
            Interlocked.CompareExchange(ref region.Failure, ExceptionDispatchInfo.Capture(e), null);
        }
    }

    // the libgomp libtorch loaded: its file name carries a build hash (libgomp-98b21ff3.so.1); the one beside
    // libtorch_cpu.so when another library brought the system's libgomp.so.1 too
    private static string? LoadedLibgomp()
    {
        IReadOnlyList<string> files = LoadedLibraries.Paths();
        List<string> gomps = files.Where(f => Path.GetFileName(f).StartsWith("libgomp", StringComparison.Ordinal)).ToList();
        string? torchDir = Path.GetDirectoryName(LoadedLibraries.Find(files, "libtorch_cpu.so"));
        return gomps.FirstOrDefault(g => Path.GetDirectoryName(g) == torchDir) ?? gomps.FirstOrDefault();
    }

    private sealed class Region(int parts, Action<int> part)
    {
        public readonly int Parts = parts;
        public readonly Action<int> Part = part;
        public ExceptionDispatchInfo? Failure;
    }
}
