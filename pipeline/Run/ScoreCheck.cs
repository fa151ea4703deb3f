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
public sealed record ScoreCheck(int Trained, double? KendallTau, double? TopMeanAccuracy, double? ControlMeanAccuracy, int TopTrained, int ControlTrained)
{
    /// <summary>From a run's selection rows.</summary>
    public static ScoreCheck Of(IReadOnlyList<SelectionRow> selection)
    {
        ArgumentNullException.ThrowIfNull(selection);
        SelectionRow[] trained = selection.Where(s => s.AccuracyTop1 is not null && s.Score is not null).ToArray();
        double? Mean(SelectionRole role) =>
            trained.Where(s => s.Role == role).Select(s => s.AccuracyTop1!.Value).DefaultIfEmpty(double.NaN).Average() is var m && double.IsNaN(m) ? null : m;
        return new ScoreCheck(trained.Length,
            RankStatistics.KendallTau(trained.Select(s => s.Score!.Value).ToArray(), trained.Select(s => s.AccuracyTop1!.Value).ToArray()),
            Mean(SelectionRole.Top), Mean(SelectionRole.Control),
            trained.Count(s => s.Role == SelectionRole.Top), trained.Count(s => s.Role == SelectionRole.Control));
    }

    /// <summary>One line a person reads.</summary>
    public string Sentence
    {
        get
        {
            static string P(double? v) => v is { } x ? x.ToString("P2", CultureInfo.InvariantCulture) : "—";
            string tau = KendallTau is { } t ? t.ToString("0.00", CultureInfo.InvariantCulture) : "undefined";
            return $"score check over {Trained} trained candidates: Kendall τ(score, accuracy) = {tau}; top-by-score mean accuracy {P(TopMeanAccuracy)} vs controls {P(ControlMeanAccuracy)}";
        }
    }
}
