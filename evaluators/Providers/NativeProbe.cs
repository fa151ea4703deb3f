using SpiKernel.Core;
using System.Runtime.InteropServices;

namespace SpiKernel.Evaluators.Providers;

/// <summary>
/// Finds out why a provider's shared library does not load: ONNX Runtime only says "Failed to load shared library",
/// while the dynamic loader names the missing dependency (e.g. <c>libcublasLt.so.13</c>).
/// </summary>
internal static class NativeProbe
{
    /// <summary>The shared library of the providers that live in their own file.</summary>
    public static string? LibraryOf(string provider) => provider switch
    {
        "cuda" => "libonnxruntime_providers_cuda.so",
        "tensorrt" => "libonnxruntime_providers_tensorrt.so",
        "openvino" => "libonnxruntime_providers_openvino.so",
        _ => null,
    };

    /// <summary>The loader's message for <paramref name="fileName"/> next to ONNX Runtime, or null when it loads (or is absent).</summary>
    public static string? WhyNotLoadable(string fileName)
    {
        string? path = new[] { AppContext.BaseDirectory, Path.Combine(AppContext.BaseDirectory, "runtimes", RuntimeInformation.RuntimeIdentifier, "native") }
            .Select(d => Path.Combine(d, fileName)).FirstOrDefault(File.Exists);
        if (path is null) return $"{fileName} is not installed next to ONNX Runtime";
        if (!NativeLibrary.TryLoad(path, out IntPtr handle))
        {
            try
            {
                NativeLibrary.Load(path);
            }
            catch (DllNotFoundException ex)
            {
                // .NET wraps dlerror() in advice; keep the loader's own words
                string message = Messages.OneLine(ex.Message);
                int cut = message.LastIndexOf("variable:", StringComparison.Ordinal);
                return $"{fileName}: {(cut >= 0 ? message[(cut + "variable:".Length)..].Trim() : message)}";
            }
            return null;
        }
        NativeLibrary.Free(handle);
        return null;
    }
}
