using System.Globalization;
using SpiKernel.Models.Architecture;
using SpiKernel.Pipeline.Search;
using SpiKernel.Pipeline.Training;

namespace SpiKernel.Pipeline.Run;

/// <summary>
/// Picks the candidates a run trains: the best K by the training-free score, and R controls drawn at random (seeded)
/// from the rest of the scored pool, so every run measures whether the score helped. With a latency budget on a
/// target profile, a candidate measured over it is recorded as <see cref="SelectionStatus.OverLatency"/> and the next
/// one is taken instead; so is a candidate that is the same network as one considered before it
/// (<see cref="SelectionStatus.Duplicate"/>, by <see cref="SnnArchitecture.NetworkKey"/>).
/// </summary>
internal static class Selection
{
    /// <summary>A candidate's latency on the target (null when unknown), a note (why unknown, or that it is predicted) and where it came from.</summary>
    public delegate (double? Ms, string Note, Ranking.LatencySource? Source) LatencyProbe(CandidateRow candidate);

    /// <summary>Chooses from <paramref name="ranked"/> (search order: scored rows by rank first).</summary>
    public static List<SelectionRow> Choose(IReadOnlyList<CandidateRow> ranked, SelectionConfig config, int seed,
        LatencyProbe? latency, double? maxLatencyMs)
    {
        List<CandidateRow> pool = ranked.Where(r => r.Status == CandidateStatus.Scored).OrderBy(r => r.Rank).ToList();
        var rows = new List<SelectionRow>();
        // a network spelt twice (0003 in {1,3} and 0002 in {3}; nodes 1 and 2 in each other's place) is trained once,
        // under the first id considered, so neither a top slot nor a control is spent on it again
        var networks = new Dictionary<string, string>(StringComparer.Ordinal);
        bool Repeats(CandidateRow c, SelectionRole role)
        {
            string key = SnnArchitecture.Parse(c.Architecture).NetworkKey();
            if (networks.TryAdd(key, c.CandidateId)) return false;
            rows.Add(Row(c, role) with { Status = SelectionStatus.Duplicate, Reason = $"the same network as {networks[key]}, spelt otherwise (another kernel set, dead edges, or nodes 1 and 2 in each other's place)" });
            return true;
        }
        int next = 0, top = 0;
        for (; next < pool.Count && top < config.Top; next++)
            if (!Repeats(pool[next], SelectionRole.Top) && Consider(pool[next], SelectionRole.Top, latency, maxLatencyMs, rows)) top++;

        // the controls' order is drawn before anything is measured: a top candidate measured just over the budget in one
        // run and just under it in another changes whether that one is trained, not every control
        List<CandidateRow> rest = pool.Skip(config.Top).ToList();
        var rng = new Random(Trainer.DeriveSeed(seed, 0, 23));
        rng.Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(rest));
        var considered = rows.Select(r => r.CandidateId).ToHashSet(StringComparer.Ordinal);
        int controls = 0;
        foreach (CandidateRow c in rest.Where(c => !considered.Contains(c.CandidateId)))
        {
            if (controls == config.Controls) break;
            if (!Repeats(c, SelectionRole.Control) && Consider(c, SelectionRole.Control, latency, maxLatencyMs, rows)) controls++;
        }
        return rows;
    }

    private static bool Consider(CandidateRow c, SelectionRole role, LatencyProbe? latency, double? maxMs, List<SelectionRow> rows)
    {
        (double? ms, string note, Ranking.LatencySource? source) = latency?.Invoke(c) ?? (null, "", null);
        bool over = ms is { } measured && maxMs is { } bound && measured > bound;
        rows.Add(Row(c, role) with
        {
            TargetLatencyMs = ms,
            Status = over ? SelectionStatus.OverLatency : SelectionStatus.Selected,
            Reason = over
                ? string.Create(CultureInfo.InvariantCulture, $"untrained export {(source == Ranking.LatencySource.Predicted ? "predicted at" : "measured")} {ms:0.###} ms at batch 1 on the target, over the budget of {maxMs:0.###} ms")
                : note,
            TargetLatencySource = source,
        });
        return !over;
    }

    private static SelectionRow Row(CandidateRow c, SelectionRole role) => new()
    {
        CandidateId = c.CandidateId,
        Role = role,
        Score = c.Score,
        ScoreRank = c.Rank,
        Parameters = c.Parameters,
        Architecture = c.Architecture,
    };
}
