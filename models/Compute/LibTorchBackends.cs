using System.Runtime.InteropServices;

namespace SpiKernel.Models.Compute;

/// <summary>
/// libtorch's global backend switches that Python sets through <c>torch.backends</c> and TorchSharp does not expose,
/// set once per process before the first network runs (<see cref="Network.SpikingNetwork"/>'s constructor).
/// <para>
/// NNPACK is switched off, as <c>torch.backends.nnpack.set_flags(False)</c> does. libtorch tries it for a float
/// convolution on the CPU that oneDNN does not take — a 1×1 kernel at batch 16 or more on one thread, as the kernel
/// study's k = 1 network evaluates in a one-thread worker — and where NNPACK cannot initialise (these AMD EPYC hosts:
/// "Unsupported hardware") it prints a warning for every such convolution, 80 lines per evaluation, and falls back to
/// libtorch's own convolution. With it off that fallback is taken at once; on hardware where NNPACK does initialise,
/// the convolution is the same one on every machine.
/// </para>
/// </summary>
internal static unsafe class LibTorchBackends
{
    private static readonly delegate* unmanaged<nint> s_globalContext;
    private static readonly delegate* unmanaged<nint, byte, void> s_setNnpack;
    private static readonly delegate* unmanaged<nint, byte> s_nnpack;

    static LibTorchBackends()
    {
        TorchSharp.torch.get_num_threads(); // libtorch is loaded
        string? path;
        try
        {
            path = LoadedLibraries.Find("libtorch_cpu.so");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return; // the switch only spares warnings: a network is built without it
        }
        if (path is null || !NativeLibrary.TryLoad(path, out nint lib)) return;
        // at::globalContext() and at::Context's NNPACK switch (Itanium C++ ABI: a member function takes `this` first)
        if (NativeLibrary.TryGetExport(lib, "_ZN2at13globalContextEv", out nint context)
            && NativeLibrary.TryGetExport(lib, "_ZN2at7Context20setUserEnabledNNPACKEb", out nint set)
            && NativeLibrary.TryGetExport(lib, "_ZNK2at7Context17userEnabledNNPACKEv", out nint get))
        {
            s_globalContext = (delegate* unmanaged<nint>)context;
            s_setNnpack = (delegate* unmanaged<nint, byte, void>)set;
            s_nnpack = (delegate* unmanaged<nint, byte>)get;
            s_setNnpack(s_globalContext(), 0);
        }
    }

    /// <summary>Sets the switches (once; later calls do nothing).</summary>
    public static void Configure()
    {
        // the static constructor has run
    }

    /// <summary>Whether libtorch may use NNPACK (null: its switch was not found, e.g. another libtorch build or OS).</summary>
    public static bool? NnpackEnabled => s_nnpack == null ? null : s_nnpack(s_globalContext()) != 0;
}
