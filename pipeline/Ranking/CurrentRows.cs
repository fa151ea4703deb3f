using SpiKernel.Evaluators.Results;

namespace SpiKernel.Pipeline.Ranking;

/// <summary>
/// Which results rows count, one rule for the ranking and the report: of each model × precision × profile × batch size
/// the newest <c>ok</c> or <c>failed</c> row, a model being its name and its network (<c>candidate_id</c>): two networks
/// both saved as model.onnx in two folders are two models, one network's file is one whatever its path was spelt as (a later failure makes the measurement void; a <c>skipped</c> row, from a
/// machine without the provider, says nothing about the model). Newest is by timestamp, ties in a fixed order whatever
/// order the files were read in.
/// </summary>
internal static class CurrentRows
{
    /// <summary>The rows of <paramref name="items"/> that count, <c>ok</c> and <c>failed</c> ones.</summary>
    public static List<T> Of<T>(IEnumerable<T> items, Func<T, EvaluationRow> row) =>
        items.Where(i => row(i).Status is EvaluationStatus.Ok or EvaluationStatus.Failed && row(i).BatchSize is not null)
            .GroupBy(i => (row(i).Model, row(i).CandidateId, row(i).Precision, row(i).Profile, row(i).BatchSize))
            .Select(g => Newest(g, row)!)
            .ToList();

    /// <summary>The <c>ok</c> rows that count.</summary>
    public static List<EvaluationRow> Ok(IEnumerable<EvaluationRow> rows) => Of(rows, r => r).Where(r => r.Status == EvaluationStatus.Ok).ToList();

    /// <summary>The newest of <paramref name="items"/> (null when there are none).</summary>
    public static T? Newest<T>(IEnumerable<T> items, Func<T, EvaluationRow> row) => items
        .OrderBy(i => row(i).TimestampUtc, StringComparer.Ordinal).ThenBy(i => row(i).Precision, StringComparer.Ordinal)
        .ThenBy(i => row(i).BatchSize).ThenBy(i => row(i).Profile, StringComparer.Ordinal).ThenBy(i => row(i).Reason, StringComparer.Ordinal)
        .LastOrDefault();
}
