using System.Globalization;
using System.Text.RegularExpressions;
using SpiKernel.Core;

namespace SpiKernel.Pipeline.Ranking;

/// <summary>
/// A bound on one numeric column, optionally for one profile and batch size: <c>latency_p95_ms&lt;=2@edge</c>,
/// <c>parameters&lt;=1M</c>, <c>accuracy_top1&gt;=0.88</c>, <c>latency_p50_ms&lt;5@cpu/64</c>. Operators
/// <c>&lt;=</c>, <c>&gt;=</c>, <c>&lt;</c>, <c>&gt;</c>; values of count columns (parameters, MACs, bytes) take K and M
/// suffixes, others are written in the column's unit (a lower-case m after milliseconds is refused, not read as mega).
/// A row without the value fails it.
/// </summary>
/// <param name="Column">The column bounded.</param>
/// <param name="Operator">&lt;=, &gt;=, &lt; or &gt;.</param>
/// <param name="Bound">The bound.</param>
/// <param name="Profile">Only rows of this profile; null for all.</param>
/// <param name="Batch">Only rows of this batch size; null for all.</param>
/// <param name="Text">The constraint as written.</param>
public sealed partial record Constraint(string Column, string Operator, double Bound, string? Profile, int? Batch, string Text)
{
    [GeneratedRegex(@"^\s*([a-z0-9_]+)\s*(<=|>=|<|>)\s*([0-9.eE+-]+)([kKmM]?)\s*(?:@\s*([A-Za-z0-9_.:@-]+?)(?:/([0-9]+))?)?\s*$")]
    private static partial Regex Syntax();

    /// <summary>Parses <paramref name="text"/>; throws <see cref="SettingsException"/> naming what is wrong.</summary>
    public static Constraint Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        Match m = Syntax().Match(text);
        if (!m.Success || !double.TryParse(m.Groups[3].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !double.IsFinite(v))
            throw new SettingsException($"--constraint '{text}' is not COLUMN<=VALUE[@PROFILE[/BATCH]] (operators <=, >=, <, >; e.g. latency_p95_ms<=2@edge).");
        double scale = m.Groups[4].Value.ToUpperInvariant() switch { "K" => 1e3, "M" => 1e6, _ => 1 };
        string column = RankColumns.Check(m.Groups[1].Value, $"--constraint '{text}'");
        if (scale != 1 && !RankColumns.IsCount(column))
            throw new SettingsException($"--constraint '{text}': K and M suffixes are for counts (parameters, ann_macs, file_bytes, …); write {column} as a plain number in its unit.");
        int? batch = null;
        if (m.Groups[6].Success)
            batch = int.TryParse(m.Groups[6].Value, NumberStyles.None, CultureInfo.InvariantCulture, out int b) && b >= 1
                ? b
                : throw new SettingsException($"--constraint '{text}': the batch size after '/' must be a whole number from 1 to 2,147,483,647 (got {m.Groups[6].Value}).");
        return new Constraint(column, m.Groups[2].Value, v * scale, m.Groups[5].Success ? m.Groups[5].Value : null, batch, text.Trim());
    }

    /// <summary>Whether the constraint concerns rows of <paramref name="profile"/> at <paramref name="batch"/>.</summary>
    public bool AppliesTo(string profile, int batch) =>
        (Profile is null || Profile == profile) && (Batch is null || Batch == batch);

    /// <summary>Whether <paramref name="value"/> satisfies the bound (a missing value does not).</summary>
    public bool Holds(double? value) => value is { } x && Operator switch
    {
        "<=" => x <= Bound,
        ">=" => x >= Bound,
        "<" => x < Bound,
        _ => x > Bound,
    };
}
