using System.Globalization;
using SpiKernel.Core;

namespace SpiKernel.Pipeline.ScaleOut;

/// <summary>
/// One of <see cref="Count"/> independent parts of a stage's work: unit <c>u</c> (a candidate, in the stage's fixed
/// order) belongs to shard <c>u mod Count</c>. The split depends only on the unit order, so every shard of every
/// stage computes it alike and no two shards own the same unit.
/// </summary>
/// <param name="Index">0 ≤ Index &lt; Count (a Slurm array task id, a Kubernetes completion index).</param>
/// <param name="Count">Number of shards.</param>
public readonly record struct Shard(int Index, int Count)
{
    /// <summary>The whole stage in one process.</summary>
    public static Shard All => new(0, 1);

    /// <summary>True when this shard owns unit <paramref name="unit"/>.</summary>
    public bool Owns(int unit) => unit % Count == Index;

    /// <summary>The units this shard owns, in order.</summary>
    public T[] Select<T>(IEnumerable<T> units)
    {
        Shard self = this;
        return units.Where((_, i) => self.Owns(i)).ToArray();
    }

    /// <summary>The shard that owns unit <paramref name="unit"/>.</summary>
    public static Shard Of(int unit, int count) => new(unit % count, count);

    /// <summary>"i/n", as <c>--shard</c> takes it.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Index}/{Count}");

    /// <summary>"i-of-n", as file names carry it.</summary>
    public string FileTag => string.Create(CultureInfo.InvariantCulture, $"{Index}-of-{Count}");

    /// <summary>Parses "i/n" (0-based i).</summary>
    public static Shard Parse(string text)
    {
        string[] parts = text.Split('/');
        if (parts.Length != 2 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int i)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int n))
            throw new SettingsException($"--shard '{text}': expected i/n with 0 ≤ i < n, e.g. 0/3");
        return Checked(i, n, $"--shard {text}");
    }

    /// <summary>
    /// The shard this process is, from <paramref name="explicitShard"/> (<c>--shard</c>) or else the scheduler's variables:
    /// Slurm's <c>SLURM_ARRAY_TASK_ID</c> with <c>SLURM_ARRAY_TASK_COUNT</c> (or <c>_MIN</c>/<c>_MAX</c>), then
    /// Kubernetes' <c>JOB_COMPLETION_INDEX</c> with <paramref name="configuredCount"/> (scale_out.shards). None of them: <see cref="All"/>.
    /// </summary>
    public static Shard Resolve(string? explicitShard, Func<string, string?> environment, int configuredCount)
    {
        ArgumentNullException.ThrowIfNull(environment);
        if (explicitShard is not null) return Parse(explicitShard);
        if (environment("SLURM_ARRAY_TASK_ID") is { } task)
        {
            int id = Int(task, "SLURM_ARRAY_TASK_ID");
            if (environment("SLURM_ARRAY_TASK_COUNT") is { } count)
            {
                int min = environment("SLURM_ARRAY_TASK_MIN") is { } m ? Int(m, "SLURM_ARRAY_TASK_MIN") : 0;
                return Checked(id - min, Int(count, "SLURM_ARRAY_TASK_COUNT"), "the Slurm array task");
            }
            if (environment("SLURM_ARRAY_TASK_MIN") is { } lo && environment("SLURM_ARRAY_TASK_MAX") is { } hi)
            {
                int min = Int(lo, "SLURM_ARRAY_TASK_MIN");
                return Checked(id - min, Int(hi, "SLURM_ARRAY_TASK_MAX") - min + 1, "the Slurm array task");
            }
            throw new SettingsException("SLURM_ARRAY_TASK_ID is set but neither SLURM_ARRAY_TASK_COUNT nor SLURM_ARRAY_TASK_MIN/MAX is; give --shard i/n");
        }
        if (environment("JOB_COMPLETION_INDEX") is { } index)
        {
            if (configuredCount < 2)
                throw new SettingsException("JOB_COMPLETION_INDEX is set but scale_out.shards in run.json is not above 1; set it to the Job's completions (spikernel run --emit k8s does)");
            return Checked(Int(index, "JOB_COMPLETION_INDEX"), configuredCount, "the Kubernetes completion index");
        }
        return All;
    }

    private static Shard Checked(int i, int n, string what)
    {
        if (n < 1) throw new SettingsException(string.Create(CultureInfo.InvariantCulture, $"{what}: the shard count must be at least 1 (got {n})"));
        if (i < 0 || i >= n) throw new SettingsException(string.Create(CultureInfo.InvariantCulture, $"{what}: shard index {i} is outside 0…{n - 1} (shards are numbered from 0)"));
        return new Shard(i, n);
    }

    private static int Int(string value, string name) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int v)
            ? v
            : throw new SettingsException($"{name}='{value}' is not a non-negative integer");
}
