using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using SpiKernel.Evaluators.Providers;

namespace SpiKernel.Evaluators.Measurement;

/// <summary>The machine and runtime a figure was measured on.</summary>
/// <param name="CpuModel">CPU model name (<c>/proc/cpuinfo</c>), or the architecture where unknown.</param>
/// <param name="Cores">Logical processors available to this process.</param>
/// <param name="Os">Operating system description.</param>
/// <param name="OrtVersion">ONNX Runtime's version string.</param>
/// <param name="Gpus">NVIDIA GPU models the driver reports (empty without one).</param>
internal sealed record HostInfo(string CpuModel, int Cores, string Os, string OrtVersion, IReadOnlyList<string> Gpus)
{
    /// <summary>Reads the current machine.</summary>
    public static HostInfo Current()
    {
        string cpu = RuntimeInformation.ProcessArchitecture.ToString();
        try
        {
            string? line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            if (line is not null) cpu = line[(line.IndexOf(':') + 1)..].Trim();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
        var gpus = new List<string>();
        try
        {
            const string root = "/proc/driver/nvidia/gpus";
            if (Directory.Exists(root))
            {
                foreach (string dir in Directory.GetDirectories(root).Order(StringComparer.Ordinal))
                {
                    string? model = File.ReadLines(Path.Combine(dir, "information")).FirstOrDefault(l => l.StartsWith("Model:", StringComparison.Ordinal));
                    if (model is not null) gpus.Add(model["Model:".Length..].Trim());
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
        return new HostInfo(cpu, Environment.ProcessorCount, RuntimeInformation.OSDescription, QuietOrtEnvironment.Get().GetVersionString(), gpus);
    }

    /// <summary>What a profile's rows name as the device: the GPU for accelerator providers, else the CPU.</summary>
    public string DeviceName(string provider, int deviceId) => provider is "cuda" or "tensorrt"
        ? GpuName(Gpus, deviceId, Environment.GetEnvironmentVariable("CUDA_VISIBLE_DEVICES"), Environment.GetEnvironmentVariable("CUDA_DEVICE_ORDER"))
        : CpuModel;

    /// <summary>
    /// CUDA device <paramref name="deviceId"/>'s name from the cards in PCI order (<paramref name="gpus"/>). CUDA numbers
    /// the devices <paramref name="visible"/> (CUDA_VISIBLE_DEVICES) lets it see, fastest first unless
    /// <paramref name="order"/> (CUDA_DEVICE_ORDER) is PCI_BUS_ID — an order /proc does not give: the name is certain where
    /// every card has it, or in PCI order; otherwise the row says "GPU N" rather than perhaps another card's name.
    /// </summary>
    internal static string GpuName(IReadOnlyList<string> gpus, int deviceId, string? visible, string? order)
    {
        string unknown = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"GPU {deviceId}");
        bool oneKind = gpus.Count > 0 && gpus.Distinct(StringComparer.Ordinal).Count() == 1;
        List<int>? picked = null;
        if (!string.IsNullOrWhiteSpace(visible))
        {
            picked = [];
            foreach (string part in visible.Split(','))
            {
                // a UUID or MIG name is not mapped here; CUDA stops at the first index that names no device
                if (!int.TryParse(part.Trim(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int i))
                    return oneKind && deviceId >= 0 ? gpus[0] : unknown;
                if (i >= gpus.Count) break;
                picked.Add(i);
            }
        }
        if (deviceId < 0 || deviceId >= (picked?.Count ?? gpus.Count)) return unknown;
        return oneKind ? gpus[0] : order == "PCI_BUS_ID" ? gpus[picked?[deviceId] ?? deviceId] : unknown;
    }
}
