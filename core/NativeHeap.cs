using System.Runtime.InteropServices;

namespace SpiKernel.Core;

/// <summary>How the process's native heap (glibc malloc, where libtorch keeps every tensor) treats freed memory.</summary>
public enum NativeHeapPolicy
{
    /// <summary>Not Linux/glibc, or mallopt refused: the platform's allocator as it is.</summary>
    Platform,

    /// <summary>glibc's defaults, kept on purpose (<c>SPIKERNEL_NATIVE_HEAP=glibc</c>) or because the user set <c>MALLOC_*</c>/<c>GLIBC_TUNABLES</c>.</summary>
    Glibc,

    /// <summary>Freed blocks stay in the process for the next step: no mmap per block, no trimming of the heap top.</summary>
    Retained,
}

/// <summary>
/// Keeps freed native memory in the process. A training step allocates and frees the same activation tensors every
/// step, many above glibc's mmap threshold (a [64·5, 32, 28, 28] float tensor is 32 MiB; the threshold tops out at
/// 32 MiB): glibc hands each to the kernel on free and the next step page-faults it in again, zero-filled. On the
/// 2-core machine that was a sixth of training's CPU samples, in the kernel (docs/measurements/train-speed.md). With mmap off
/// and no trimming, the blocks are reused from the heap; the peak resident memory is the same, and it is simply not
/// given back between steps.
/// <para>A process-wide setting: the host (the CLI's <c>Main</c>) calls <see cref="Configure"/> once, before the first
/// tensor. Library code never calls it.</para>
/// </summary>
public static class NativeHeap
{
    /// <summary>The environment variable that keeps glibc's defaults when set to <c>glibc</c>.</summary>
    public const string EnvironmentVariable = "SPIKERNEL_NATIVE_HEAP";

    private const int MTrimThreshold = -1, MTopPad = -2, MMmapMax = -4;
    private static NativeHeapPolicy? _policy;

    /// <summary>The policy in effect (<see cref="NativeHeapPolicy.Platform"/> before <see cref="Configure"/>).</summary>
    public static NativeHeapPolicy Policy => _policy ?? NativeHeapPolicy.Platform;

    /// <summary>
    /// Applies <see cref="NativeHeapPolicy.Retained"/> on Linux with glibc unless <see cref="EnvironmentVariable"/> is
    /// <c>glibc</c> or the user tuned malloc through its own variables; idempotent. Returns the policy in effect.
    /// </summary>
    public static NativeHeapPolicy Configure()
    {
        if (_policy is { } done) return done;
        _policy = Decide();
        return _policy.Value;
    }

    /// <summary>The policy's name as the bench prints it.</summary>
    public static string Describe(NativeHeapPolicy policy) => policy switch
    {
        NativeHeapPolicy.Retained => "retained (glibc: mmap off, no trim)",
        NativeHeapPolicy.Glibc => "glibc defaults",
        _ => "platform allocator",
    };

    private static NativeHeapPolicy Decide()
    {
        if (!OperatingSystem.IsLinux()) return NativeHeapPolicy.Platform;
        string? choice = Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } set ? set : null; // VAR= is unset
        if (choice is not null and not "glibc" and not "retained")
            throw new SettingsException($"{EnvironmentVariable}='{choice}': expected glibc or retained");
        bool userTuned = Environment.GetEnvironmentVariables().Keys.Cast<string>()
            .Any(k => k.StartsWith("MALLOC_", StringComparison.Ordinal) || k == "GLIBC_TUNABLES");
        if (choice == "glibc" || (userTuned && choice != "retained")) return NativeHeapPolicy.Glibc; // an explicit choice wins
        try
        {
            // mallopt returns 1 on success; all three or nothing counts as applied
            bool ok = MallOpt(MMmapMax, 0) == 1 && MallOpt(MTrimThreshold, int.MaxValue) == 1 && MallOpt(MTopPad, 64 << 20) == 1;
            return ok ? NativeHeapPolicy.Retained : NativeHeapPolicy.Platform;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return NativeHeapPolicy.Platform; // not glibc (musl has no mallopt to speak of)
        }
    }

    /// <summary>
    /// Collects what only finalizers free (native tensors of dropped handles), then hands the heap's free memory back to
    /// the kernel (glibc's <c>malloc_trim</c>) when it is <see cref="NativeHeapPolicy.Retained"/>: for a process about to
    /// wait while others work (a run whose candidates train in worker processes), so its retained blocks do not sit
    /// beside theirs. Returns whether anything was released.
    /// </summary>
    public static bool GiveBack()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        if (Policy != NativeHeapPolicy.Retained) return false;
        try
        {
            return MallocTrim(0) == 1;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    [DllImport("libc", EntryPoint = "malloc_trim", ExactSpelling = true)]
    private static extern int MallocTrim(nuint pad);

    [DllImport("libc", EntryPoint = "mallopt", ExactSpelling = true)]
    private static extern int MallOpt(int parameter, int value);
}
