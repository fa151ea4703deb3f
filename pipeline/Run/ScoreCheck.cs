using System.Globalization;
using SpiKernel.Pipeline.Ranking;

namespace SpiKernel.Pipeline.Run;

/// <summary>
/// Whether the training-free score helped on this data: Kendall's τ-b between score and trained accuracy over every
/// trained candidate, and the mean accuracy of the top-by-score candidates against the random controls.
/// </summary>
/// <param name="Trained">Candidates with an accuracy.</param>
/// <param name="KendallTau">τ-b; null when undefined (fewer than two, or constant).</param>
/// <param name="TopMeanAccuracy">Mean accuracy of the top candidates.</param>
/// <param name="ControlMeanAccuracy">Mean accuracy of the controls.</param>
/// <param name="TopTrained">Top candidates with an accuracy.</param>
/// <param name="ControlTrained">Controls with an accuracy.</param>
/// <param name="KendallP">Two-sided p-value of τ under no association (a permutation test, exact up to 8 candidates); null where τ is.</param>
public sealed record ScoreCheck(int Trained, double? KendallTau, double? TopMeanAccuracy, double? ControlMeanAccuracy, int TopTrained, int ControlTrained,
    double? KendallP = null)
{
    /// <summary>From a run's selection rows.</summary>
    public static ScoreCheck Of(IReadOnlyList<SelectionRow> selection)
    {
        ArgumentNullException.ThrowIfNull(selection);
        SelectionRow[] trained = selection.Where(s => s.AccuracyTop1 is not null && s.Score is not null).ToArray();
        double? Mean(SelectionRole role) =>
            trained.Where(s => s.Role == role).Select(s => s.AccuracyTop1!.Value).DefaultIfEmpty(double.NaN).Average() is var m && double.IsNaN(m) ? null : m;
        double[] scores = [.. trained.Select(s => s.Score!.Value)], accuracies = [.. trained.Select(s => s.AccuracyTop1!.Value)];
        return new ScoreCheck(trained.Length, RankStatistics.KendallTau(scores, accuracies),
            Mean(SelectionRole.Top), Mean(SelectionRole.Control),
            trained.Count(s => s.Role == SelectionRole.Top), trained.Count(s => s.Role == SelectionRole.Control),
            RankStatistics.KendallP(scores, accuracies));
    }

    /// <summary>" (p = 0.23, two-sided; too few candidates to tell)" after τ, or nothing where τ is undefined.</summary>
    public string Significance => KendallP is { } p
        ? string.Create(CultureInfo.InvariantCulture, $" ({RankStatistics.PText(p)}, two-sided{(p >= 0.05 ? Trained < 10 ? "; too few candidates to tell" : "; no clear relation" : "")})")
        : "";

    /// <summary>One line a person reads.</summary>
    public string Sentence
    {
        get
        {
            static string P(double? v) => v is { } x ? x.ToString("P2", CultureInfo.InvariantCulture) : "—";
            string tau = KendallTau is { } t ? t.ToString("0.00", CultureInfo.InvariantCulture) : "undefined";
            return $"score check over {Trained} trained candidates: Kendall τ(score, accuracy) = {tau}{Significance}; top-by-score mean accuracy {P(TopMeanAccuracy)} vs controls {P(ControlMeanAccuracy)}";
        }
    }
}
