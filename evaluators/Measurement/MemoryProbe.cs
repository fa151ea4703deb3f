using System.Globalization;

namespace SpiKernel.Evaluators.Measurement;

/// <summary>
/// Resident memory of this process from <c>/proc/self/status</c> (Linux). The peak is reset through
/// <c>/proc/self/clear_refs</c> so the memory a session adds can be measured; elsewhere the figures are absent.
/// </summary>
internal static class MemoryProbe
{
    /// <summary>Current resident set in bytes (VmRSS), null where unknown.</summary>
    public static long? Resident() => Read("VmRSS:");

    /// <summary>Peak resident set in bytes since start or the last <see cref="ResetPeak"/> (VmHWM), null where unknown.</summary>
    public static long? Peak() => Read("VmHWM:");

    /// <summary>Resets the peak to the current resident set; false where the kernel does not allow it.</summary>
    public static bool ResetPeak()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static long? Read(string key)
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/self/status"))
            {
                if (!line.StartsWith(key, StringComparison.Ordinal)) continue;
                string[] parts = line[key.Length..].Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
                return long.Parse(parts[0], CultureInfo.InvariantCulture) * 1024;
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
        return null;
    }
}
