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
    public string ShellWords() => string.Join(' ', new[] { FileName }.Concat(Arguments).Select(LaunchFiles.Quote));
}
