using System.Globalization;

namespace SpiKernel.Pipeline.ScaleOut;

/// <summary>
/// Checks that a sharded stage is complete before anything is merged from it: every shard record matches the run's
/// configuration and shard count, and every unit of the stage is complete. A missing or stale shard is one line
/// that names it and the command that redoes it; nothing is written until the whole stage checks out.
/// </summary>
/// <param name="Root">The run folder.</param>
/// <param name="Fingerprint">The run's configuration fingerprint.</param>
/// <param name="ConfiguredCount">scale_out.shards: the count used to name missing shards when no record gives one.</param>
internal sealed record ShardLedger(string Root, string Fingerprint, int ConfiguredCount)
{
    /// <summary>
    /// The shard count <paramref name="stage"/> ran with (1 when unsharded), after checking that its shard records
    /// match the run's configuration and agree on one count.
    /// </summary>
    /// <param name="stage">The stage.</param>
    /// <param name="sameCount">The stage's outputs are split by count (search: one file per shard), so all its shards must have run with one count.
    /// Per-candidate stages check completeness per candidate and may be re-sharded.</param>
    public int Count(string stage, bool sameCount = false)
    {
        IReadOnlyList<ShardRecord> records = ShardRecord.ReadAll(Root, stage);
        if (records.FirstOrDefault(r => r.Fingerprint != Fingerprint) is { } stale)
            throw new InvalidDataException($"{stage}: shard {stale.Index}/{stale.Count} in {ShardRecord.Folder(Root, stage)} was made with another configuration than {Path.Combine(Root, "run.json")} (fingerprint {stale.Fingerprint}, expected {Fingerprint}); delete that record and its outputs and rerun the shard");
        int[] counts = records.Select(r => r.Count).Distinct().Order().ToArray();
        if (sameCount && counts.Length > 1)
            throw new InvalidDataException($"{stage}: shards of different counts ({string.Join(", ", counts)}) in {ShardRecord.Folder(Root, stage)}; keep one count (delete the other records) and rerun");
        return counts.Length > 0 ? counts[^1] : Math.Max(1, ConfiguredCount);
    }

    /// <summary>
    /// Throws unless every unit of <paramref name="stage"/> is complete, naming the shards that own the missing ones.
    /// <paramref name="units"/> are the stage's units in their fixed order; <paramref name="isComplete"/> tells whether
    /// unit u's outputs are there.
    /// </summary>
    public void RequireComplete(string stage, IReadOnlyList<string> units, Func<int, bool> isComplete, bool sameCount = false)
    {
        ArgumentNullException.ThrowIfNull(units);
        ArgumentNullException.ThrowIfNull(isComplete);
        int count = Count(stage, sameCount);
        int[] missing = Enumerable.Range(0, units.Count).Where(u => !isComplete(u)).ToArray();
        if (missing.Length == 0) return;
        Shard[] shards = missing.Select(u => Shard.Of(u, count)).Distinct().OrderBy(s => s.Index).ToArray();
        string names = string.Join(", ", shards.Select(s => s.ToString()));
        throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
            $"{stage}: {missing.Length} of {units.Count} units are not complete, or their outputs changed since (first: {units[missing[0]]}); shard{(shards.Length > 1 ? "s" : "")} {names} did not finish: run spikernel run --resume {Root} --stage {stage} --shard {shards[0]}{(shards.Length > 1 ? " (and the others)" : "")}, then merge"));
    }
}
