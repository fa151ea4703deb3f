using System.Globalization;
using SpiKernel.Core;
using SpiKernel.Evaluators.Results;
using SpiKernel.Core.Csv;

namespace SpiKernel.Pipeline.Ranking;

/// <summary>A measurement to rank: a results row, the file it came from and the model's search score.</summary>
/// <param name="Row">The results row.</param>
/// <param name="Source">The results CSV.</param>
/// <param name="Score">Search score of the model's candidate, when known.</param>
/// <param name="Latency">Whether the row's latency was measured or predicted.</param>
internal sealed record Measurement(EvaluationRow Row, string Source, double? Score = null, LatencySource Latency = LatencySource.Measured);

/// <summary>The recommended model of one profile and why.</summary>
/// <param name="Profile">Profile.</param>
/// <param name="Row">The recommended row; null when no model meets the constraints there.</param>
/// <param name="Why">One sentence: which front, which objective decided, which constraints bound.</param>
public sealed record Recommendation(string Profile, RankingRow? Row, string Why);

/// <summary>
/// Hardware-aware ranking on measured numbers. Per profile × batch size: rows outside a constraint are
/// <see cref="RankStatus.Infeasible"/> (kept, with the constraint they fail); the feasible rows are sorted into Pareto
/// fronts on the objectives (<see cref="ParetoFronts"/>) and ordered by front, then by the objectives in the order
/// given (the first decides, the next break its ties), then by model name and precision (ordinal). Per profile the
/// first feasible row at batch 1 (else the smallest batch with one) is recommended. A model with no usable row on a
/// profile gets an <see cref="RankStatus.Unmeasured"/> row there with the reason. When a model × precision × profile ×
/// batch is measured more than once, the latest row counts (<see cref="CurrentRows"/>).
/// </summary>
internal static class Ranker
{
    /// <summary>Ranks <paramref name="measurements"/>.</summary>
    public static (IReadOnlyList<RankingRow> Rows, IReadOnlyList<Recommendation> Recommendations) Rank(
        IReadOnlyList<Measurement> measurements, IReadOnlyList<Constraint> constraints, IReadOnlyList<Objective> objectives)
    {
        ArgumentNullException.ThrowIfNull(measurements);
        ArgumentNullException.ThrowIfNull(constraints);
        ArgumentNullException.ThrowIfNull(objectives);
        if (objectives.Count == 0) throw new SettingsException("Name at least one objective.");
        string[] profiles = measurements.Select(m => m.Row.Profile).Where(CurrentRows.IsProfile).Distinct().Order(StringComparer.Ordinal).ToArray();
        foreach (Constraint c in constraints)
        {
            if (c.Profile is { } p && !profiles.Contains(p))
                throw new SettingsException($"--constraint '{c.Text}': profile '{p}' is not in the results (profiles there: {string.Join(", ", profiles)}).");
            int[] batches = measurements.Where(m => m.Row.BatchSize is not null && (c.Profile is null || m.Row.Profile == c.Profile))
                .Select(m => m.Row.BatchSize!.Value).Distinct().Order().ToArray();
            if (c.Batch is { } b && !batches.Contains(b))
                throw new SettingsException($"--constraint '{c.Text}': no row at batch {b}{(c.Profile is null ? "" : " on " + c.Profile)} in the results (batch sizes there: {string.Join(", ", batches)}).");
        }

        List<Measurement> latest = CurrentRows.Of(measurements, m => m.Row, (m, r) => m with { Row = r });
        List<Measurement> ok = latest.Where(m => m.Row.Status == EvaluationStatus.Ok).ToList();
        var rows = new List<RankingRow>();
        foreach (IGrouping<(string Profile, int Batch), Measurement> group in ok.GroupBy(m => (m.Row.Profile, m.Row.BatchSize!.Value))
                     .OrderBy(g => g.Key.Profile, StringComparer.Ordinal).ThenBy(g => g.Key.Item2))
            rows.AddRange(RankGroup(group.ToList(), constraints, objectives));
        rows.AddRange(Unmeasured(measurements, profiles, ok, latest));

        var recommendations = new List<Recommendation>();
        foreach (string profile in profiles)
        {
            (Recommendation rec, RankingRow? chosen) = Recommend(profile, rows, constraints, objectives);
            recommendations.Add(rec);
            if (chosen is not null) rows[rows.IndexOf(chosen)] = chosen with { Recommended = true };
        }
        return (rows, recommendations.Select(r => r.Row is null ? r : r with { Row = r.Row with { Recommended = true } }).ToList());
    }

    private static IEnumerable<RankingRow> RankGroup(List<Measurement> group, IReadOnlyList<Constraint> constraints, IReadOnlyList<Objective> objectives)
    {
        var rows = new List<(RankingRow Row, double[]? Values)>();
        foreach (Measurement m in group)
        {
            EvaluationRow r = m.Row;
            RankingRow row = Base(m);
            Constraint? failed = constraints.FirstOrDefault(c => c.AppliesTo(r.Profile, r.BatchSize!.Value) && !c.Holds(RankColumns.Value(c.Column, r, m.Score)));
            // a value that is no number (NaN in a merged or edited file) is missing, not a point the fronts could put first
            double?[] values = objectives.Select(o => RankColumns.Value(o.Column, r, m.Score) is { } v && double.IsFinite(v) ? v : (double?)null).ToArray();
            row = row with { Objectives = string.Join(';', objectives.Select((o, i) => $"{o.Column}={Text(values[i])}")) };
            if (failed is not null)
            {
                double? v = RankColumns.Value(failed.Column, r, m.Score);
                rows.Add((row with { Status = RankStatus.Infeasible, Reason = v is null ? $"{failed.Text} (no {failed.Column})" : $"{failed.Text} ({failed.Column} = {Beside(Text(v), Text(failed.Bound))})" }, null));
            }
            else if (Array.FindIndex(values, v => v is null) is var missing and >= 0)
                rows.Add((row with { Status = RankStatus.Infeasible, Reason = $"no {objectives[missing].Column} to rank on" }, null));
            else
                rows.Add((row with { Status = RankStatus.Feasible }, values.Select((v, i) => objectives[i].Better(v!.Value)).ToArray()));
        }
        var feasible = rows.Where(x => x.Values is not null).ToList();
        int[] fronts = ParetoFronts.Sort(feasible.Select(x => x.Values!).ToList());
        var ordered = feasible.Select((x, i) => (x.Row, x.Values!, Front: fronts[i]))
            .OrderBy(x => x.Front).ThenBy(x => x.Item2, Lexicographic.Descending)
            .ThenBy(x => x.Row.Model, StringComparer.Ordinal).ThenBy(x => x.Row.Precision, StringComparer.Ordinal)
            .Select((x, i) => x.Row with { Front = x.Front, Position = i + 1 });
        return ordered.Concat(rows.Where(x => x.Values is null).Select(x => x.Row)
            .OrderBy(r => r.Model, StringComparer.Ordinal).ThenBy(r => r.Precision, StringComparer.Ordinal));
    }

    private static (Recommendation, RankingRow?) Recommend(string profile, List<RankingRow> rows, IReadOnlyList<Constraint> constraints, IReadOnlyList<Objective> objectives)
    {
        List<RankingRow> mine = rows.Where(r => r.Profile == profile && r.Status != RankStatus.Unmeasured).ToList();
        int[] batches = mine.Where(r => r.Status == RankStatus.Feasible).Select(r => r.BatchSize).Distinct().Order().ToArray();
        if (mine.Count == 0)
        {
            string skipped = CommonReason(rows.Where(r => r.Profile == profile));
            return (new Recommendation(profile, null, $"nothing measured on {profile}: {skipped}"), null);
        }
        if (batches.Length == 0)
        {
            string bound = string.Join("; ", mine.Select(r => r.Reason).Distinct().Take(3));
            string none = constraints.Count == 0 ? "no model can be ranked on" : "no model meets the constraints on"; // without constraints: a missing objective
            return (new Recommendation(profile, null, $"{none} {profile} ({mine.Count} measured rows; {bound})"), null);
        }
        int batch = batches.Contains(1) ? 1 : batches[0];
        List<RankingRow> ranked = mine.Where(r => r.BatchSize == batch && r.Status == RankStatus.Feasible).OrderBy(r => r.Position).ToList();
        RankingRow best = ranked[0];
        int infeasible = mine.Count(r => r.BatchSize == batch && r.Status == RankStatus.Infeasible);
        int onFront = ranked.Count(r => r.Front == 1);
        string decided = onFront == 1
            ? "the only model on the Pareto front"
            : $"{Decider(best, ranked[1], objectives)} among the {onFront} models on the Pareto front";
        string why = $"{best.Model} ({best.Precision}{(best.LatencySource == LatencySource.Predicted ? ", latency predicted" : "")}) at batch {batch}: {decided}";
        if (infeasible > 0)
        {
            var bounds = mine.Where(r => r.BatchSize == batch && r.Status == RankStatus.Infeasible)
                .GroupBy(r => r.Reason.Split(" (")[0]).Select(g => $"{g.Key} excluded {g.Count()}");
            why += $"; {string.Join(", ", bounds)} of {infeasible + ranked.Count}";
        }
        return (new Recommendation(profile, best, why), best);
    }

    /// <summary>The first objective in which <paramref name="best"/> beats the runner-up, with both values.</summary>
    private static string Decider(RankingRow best, RankingRow next, IReadOnlyList<Objective> objectives)
    {
        string[] a = best.Objectives.Split(';'), b = next.Objectives.Split(';');
        for (int i = 0; i < objectives.Count; i++)
            if (a[i] != b[i])
            {
                string x = a[i].Split('=')[1], y = b[i].Split('=')[1];
                bool latency = objectives[i].Column.StartsWith("latency_", StringComparison.Ordinal);
                // a predicted latency says so wherever it is shown
                string Marked(string v, RankingRow r) => latency && r.LatencySource == LatencySource.Predicted ? v + " predicted" : v;
                return $"decided by {objectives[i]} ({Marked(Beside(x, y), best)} vs {Marked(Beside(y, x), next)} of {next.Model})" +
                       (objectives[i].Column == "accuracy_top1" ? AccuracyCaveat(best, next) : "");
            }
        return $"tied with {next.Model} on every objective, first by name";
    }

    /// <summary>
    /// What a decision on accuracy adds when the difference is not clear on the test images measured (p ≥ 0.05): the
    /// order may be the draw of the images, not the networks. Image by image where both rows answered the same images
    /// (<see cref="RankStatistics.McNemarP"/>), else from the two counts (<see cref="RankStatistics.DifferenceP"/>, for
    /// results without per-image answers). Empty otherwise.
    /// </summary>
    internal static string AccuracyCaveat(RankingRow a, RankingRow b)
    {
        if (a.AccuracyTop1 is not { } x || b.AccuracyTop1 is not { } y) return "";
        bool[]? right = null, other = null;
        bool paired = a.Answers is { } p1 && b.Answers is { } p2 && p1.Data == p2.Data && a.TestSamples is { } n && b.TestSamples == n
                      && (right = AnswerBits.Unpack(p1.Bits, n)) is not null && (other = AnswerBits.Unpack(p2.Bits, n)) is not null;
        double? p = paired ? RankStatistics.McNemarP(right, other) : RankStatistics.DifferenceP(x, a.TestSamples, y, b.TestSamples);
        return p is { } q && q >= 0.05
            ? string.Create(CultureInfo.InvariantCulture, $", not a clear difference on {Images(a, b)} test images ({RankStatistics.PText(q)}, {(paired ? "McNemar's exact test on the same images" : "two-proportion z-test")})")
            : "";
    }

    private static string Images(RankingRow a, RankingRow b)
    {
        string n = a.TestSamples!.Value.ToString("N0", CultureInfo.InvariantCulture), m = b.TestSamples!.Value.ToString("N0", CultureInfo.InvariantCulture);
        return n == m ? n : $"{n} and {m}";
    }

    private static IEnumerable<RankingRow> Unmeasured(IReadOnlyList<Measurement> all, string[] profiles, List<Measurement> ok, List<Measurement> latest)
    {
        foreach (IGrouping<string, Measurement> model in all.GroupBy(m => m.Row.Model).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            foreach (string profile in profiles)
            {
                if (ok.Any(m => m.Row.Model == model.Key && m.Row.Profile == profile))
                {
                    // measured on this profile, but a precision or batch size whose latest row failed is not dropped silently
                    foreach (Measurement f in latest.Where(m => m.Row.Model == model.Key && m.Row.Profile == profile && m.Row.Status == EvaluationStatus.Failed)
                                 .OrderBy(m => m.Row.Precision, StringComparer.Ordinal).ThenBy(m => m.Row.BatchSize))
                        yield return Unmeasured(Base(f), $"{CsvFormat.Word(f.Row.Status)}: {f.Row.Reason}");
                    continue;
                }
                // the failure that decided it (the latest ok-or-failed rows), else the newest row of any status
                Measurement? seen = Newest(latest.Where(m => m.Row.Model == model.Key && m.Row.Profile == profile))
                                    ?? Newest(model.Where(m => m.Row.Profile == profile))
                                    ?? model.FirstOrDefault(m => !CurrentRows.IsProfile(m.Row.Profile));
                string reason = seen is null
                    ? $"no row for {model.Key} on {profile} in the inputs"
                    : $"{CsvFormat.Word(seen.Row.Status)}: {seen.Row.Reason}";
                yield return Unmeasured(Base(seen ?? model.First()) with { Profile = profile, BatchSize = seen?.Row.BatchSize ?? 0 }, reason);
            }
        }
    }

    /// <summary>
    /// Why nothing was measured on a profile: the reason most of its rows give (a missing provider), not one model's
    /// "no row" from another file; the first such reason on a tie.
    /// </summary>
    public static string CommonReason(IEnumerable<RankingRow> profileRows) =>
        profileRows.Where(r => r.Reason.Length > 0).GroupBy(r => r.Reason)
            .OrderByDescending(g => g.Count()).Select(g => g.Key).FirstOrDefault() ?? "no rows";

    private static Measurement? Newest(IEnumerable<Measurement> rows) => CurrentRows.Newest(rows, m => m.Row);

    private static RankingRow Unmeasured(RankingRow row, string reason) => row with
    {
        Status = RankStatus.Unmeasured,
        Reason = reason,
        AccuracyTop1 = null, AccuracyCi95Low = null, AccuracyCi95High = null, TestSamples = null, LatencyP50Ms = null, LatencyP95Ms = null, EnergySnnUj = null, LatencySource = null,
    };

    private static RankingRow Base(Measurement m) => Base(m, RankStatistics.Wilson95(m.Row.AccuracyTop1, m.Row.TestSamples));

    private static RankingRow Base(Measurement m, (double Low, double High)? interval) => new()
    {
        CandidateId = m.Row.CandidateId,
        Model = m.Row.Model,
        Precision = m.Row.Precision,
        Profile = m.Row.Profile,
        BatchSize = m.Row.BatchSize ?? 0,
        AccuracyTop1 = m.Row.AccuracyTop1,
        AccuracyCi95Low = Round(interval?.Low),
        AccuracyCi95High = Round(interval?.High),
        TestSamples = m.Row.AccuracyTop1 is null ? null : m.Row.TestSamples,
        LatencyP50Ms = m.Row.LatencyP50Ms,
        LatencyP95Ms = m.Row.LatencyP95Ms,
        Parameters = m.Row.Parameters,
        EnergySnnUj = m.Row.EnergySnnUj,
        Score = m.Score,
        ModelPath = m.Row.ModelPath,
        Source = m.Source,
        LatencySource = m.Latency,
        Answers = RankingRow.AnswersOf(m.Row),
    };

    // an interval end to six decimals, as evaluate writes accuracies
    private static double? Round(double? v) => v is { } x ? Math.Round(x, 6) : null;

    // objectives and bounds as written in ranking.csv: exact (round-trip), so that two values differ in the text exactly
    // when they differ in the ranking (six digits made 1,002,371 parameters "1.00237E+06" and hid what decided)
    private static string Text(double? v) => v?.ToString("R", CultureInfo.InvariantCulture) ?? "";

    // a value beside another in a sentence: short, unless that would hide the difference between them
    private static string Beside(string exact, string other) => Short(exact) != Short(other) ? Short(exact) : exact;

    // whole numbers in full (parameters), others to six significant digits
    private static string Short(string exact)
    {
        double v = double.Parse(exact, NumberStyles.Float, CultureInfo.InvariantCulture);
        return v == Math.Round(v) && Math.Abs(v) < 1e15 ? v.ToString("0", CultureInfo.InvariantCulture) : v.ToString("G6", CultureInfo.InvariantCulture);
    }

    /// <summary>Orders value vectors lexicographically, larger first.</summary>
    private sealed class Lexicographic : IComparer<double[]>
    {
        public static Lexicographic Descending { get; } = new();

        public int Compare(double[]? x, double[]? y)
        {
            for (int i = 0; i < x!.Length; i++)
            {
                int c = y![i].CompareTo(x[i]);
                if (c != 0) return c;
            }
            return 0;
        }
    }
}
