using System.Globalization;

namespace SpiKernel.Pipeline.Reports;

/// <summary>Numbers as the report prints them: invariant culture, fixed decimals, empty values as "–".</summary>
internal static class ReportText
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>A fraction as a percentage with two decimals (0.8791 → "87.91 %"), rounded as the CLI's P2 rounds it.</summary>
    public static string Percent(double? fraction) => fraction is { } f && !double.IsNaN(f) ? f.ToString("P2", Inv) : "–";

    /// <summary>An interval of fractions as " (82.4–85.7)" in percent with one decimal; empty without one.</summary>
    public static string Interval(double? low, double? high) =>
        low is { } l && high is { } h ? $" ({(l * 100).ToString("0.0", Inv)}–{(h * 100).ToString("0.0", Inv)})" : "";

    /// <summary>Milliseconds with three decimals.</summary>
    public static string Ms(double? ms) => ms is { } v && !double.IsNaN(v) ? v.ToString("0.000", Inv) : "–";

    /// <summary>A number with <paramref name="format"/>.</summary>
    public static string Num(double? value, string format = "0.###") => value is { } v && !double.IsNaN(v) ? v.ToString(format, Inv) : "–";

    /// <summary>A count with thousands separators (12,345).</summary>
    public static string Count(long? value) => value?.ToString("N0", Inv) ?? "–";

    /// <summary>An integer.</summary>
    public static string Int(long value) => value.ToString(Inv);

    /// <summary>"1 model", "2 models".</summary>
    public static string Plural(int n, string noun) => $"{n.ToString(Inv)} {noun}{(n == 1 ? "" : "s")}";

    /// <summary>A path as a relative link from <paramref name="fromDir"/> with forward slashes.</summary>
    public static string Link(string fromDir, string file) => Path.GetRelativePath(fromDir, file).Replace('\\', '/');
}
