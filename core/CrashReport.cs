namespace SpiKernel.Core;

/// <summary>A bug's report: the full trace in a file in the temp folder, one line for standard error that names it.</summary>
public static class CrashReport
{
    /// <summary>Writes the trace of <paramref name="ex"/>; returns the line to print ("internal error (a bug, …); full trace in PATH").</summary>
    /// <param name="tool">The tool's name, for the file name and its first line (spikernel, spikernel-evaluate).</param>
    /// <param name="ex">The exception nobody expected.</param>
    public static string Write(string tool, Exception ex)
    {
        ArgumentNullException.ThrowIfNull(ex);
        string path = Path.Combine(Path.GetTempPath(), string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"{tool}-crash-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Environment.ProcessId}.txt")); // the Gregorian year whatever the culture's calendar
        string where;
        try
        {
            using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write)) // never through a link planted at the name
            using (var text = new StreamWriter(file))
                text.Write($"{tool} {ToolInfo.Version}, {DateTime.UtcNow:O}\n{Environment.CommandLine}\n\n{ex}\n");
            where = $"full trace in {path}";
        }
        catch (Exception writeError) when (writeError is IOException or UnauthorizedAccessException)
        {
            where = $"the trace could not be written to {path}: {writeError.Message}";
        }
        return $"internal error (a bug, please report it): {ex.GetType().Name}: {ex.Message.ReplaceLineEndings(" ")}; {where}";
    }
}
