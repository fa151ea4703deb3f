using System.Reflection;

namespace SpiKernel.Core;

/// <summary>The tool's identity as written into ONNX files, CSV rows and run folders.</summary>
public static class ToolInfo
{
    /// <summary>Producer name of exported ONNX files.</summary>
    public const string Name = "spikernel";

    /// <summary>SpiKernel.Onnx version (the assembly's informational version without the source hash).</summary>
    public static string Version { get; } =
        typeof(ToolInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0";
}
