using SpiKernel.Core;
namespace SpiKernel.Evaluators.Measurement;

/// <summary>How latency is measured.</summary>
/// <param name="Warmup">Untimed runs after the first (default 10: caches, thread pools and allocators settle).</param>
/// <param name="Repeats">Timed runs (default 100: a stable p50 and p95; p99 of 100 runs is about the second slowest, so a tail figure wants 1,000 or <paramref name="Duration"/>).</param>
/// <param name="Duration">When set, timed runs continue until this much time has passed (at least one run), instead of <paramref name="Repeats"/>.</param>
public sealed record LatencyOptions(int Warmup = 10, int Repeats = 100, TimeSpan? Duration = null)
{
    /// <summary>Throws <see cref="SettingsException"/> naming the first bad value.</summary>
    public LatencyOptions Validated()
    {
        if (Warmup < 0) throw new SettingsException($"--warmup must be 0 or more (got {Warmup}).");
        if (Duration is null && Repeats < 1) throw new SettingsException($"--repeats must be at least 1 (got {Repeats}).");
        if (Duration is { } d && d <= TimeSpan.Zero) throw new SettingsException($"--duration must be positive (got {d.TotalSeconds} s).");
        return this;
    }

    /// <summary>
    /// The settings as a stage's identity writes them: invariant, in the words the record's own ToString gave (so the
    /// stage markers of earlier versions still match), and unchanged when a property is added.
    /// </summary>
    public string Identity() => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"LatencyOptions {{ Warmup = {Warmup}, Repeats = {Repeats}, Duration = {Duration:c} }}");
}
