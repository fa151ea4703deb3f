using SpiKernel.Core;

namespace SpiKernel.Pipeline.Ranking;

/// <summary>A column to maximise or minimise: <c>accuracy_top1:max</c>, <c>latency_p50_ms:min</c>.</summary>
/// <param name="Column">The column.</param>
/// <param name="Maximise">True to maximise.</param>
public sealed record Objective(string Column, bool Maximise)
{
    /// <summary>The default objectives: accuracy up, median latency down, parameters down.</summary>
    public static IReadOnlyList<Objective> Defaults { get; } =
        [new("accuracy_top1", true), new("latency_p50_ms", false), new("parameters", false)];

    /// <summary>Parses <c>COLUMN:max</c> or <c>COLUMN:min</c>.</summary>
    public static Objective Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string[] parts = text.Trim().Split(':');
        if (parts.Length != 2 || parts[1] is not ("max" or "min"))
            throw new SettingsException($"--objective '{text}' is not COLUMN:max or COLUMN:min (e.g. accuracy_top1:max).");
        return new Objective(RankColumns.Check(parts[0], $"--objective '{text}'"), parts[1] == "max");
    }

    /// <summary>The value oriented so that larger is better.</summary>
    public double Better(double value) => Maximise ? value : -value;

    /// <inheritdoc />
    public override string ToString() => $"{Column}:{(Maximise ? "max" : "min")}";
}
