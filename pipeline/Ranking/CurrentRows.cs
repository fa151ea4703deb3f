using SpiKernel.Evaluators.Results;

namespace SpiKernel.Pipeline.Ranking;

/// <summary>
/// Which results rows count, one rule for the ranking and the report: of each model × precision × profile × batch size
/// the newest <c>ok</c> or <c>failed</c> row (a later failure makes the measurement void; a <c>skipped</c> row, from a
/// machine without the provider, says nothing about the model). A model is what <see cref="ModelKeys"/> says; the rows
/// of a network whose file now holds another network (measured there later) do not count. Newest is by timestamp, ties
/// in a fixed order whatever order the files were read in.
/// </summary>
internal static class CurrentRows
{
    /// <summary>The rows of <paramref name="items"/> that count, <c>ok</c> and <c>failed</c> ones.</summary>
    public static List<T> Of<T>(IEnumerable<T> items, Func<T, EvaluationRow> row)
    {
        T[] all = items.ToArray();
        var keys = new ModelKeys(all.Select(row));
        return all.Where(i => row(i).Status is EvaluationStatus.Ok or EvaluationStatus.Failed && row(i).BatchSize is not null && !keys.Replaced(row(i)))
            .GroupBy(i => (keys.Of(row(i)), row(i).Precision, row(i).Profile, row(i).BatchSize))
            .Select(g => Newest(g, row)!)
            .ToList();
    }

    /// <summary>The <c>ok</c> rows that count.</summary>
    public static List<EvaluationRow> Ok(IEnumerable<EvaluationRow> rows) => Of(rows, r => r).Where(r => r.Status == EvaluationStatus.Ok).ToList();

    /// <summary>The newest of <paramref name="items"/> (null when there are none).</summary>
    public static T? Newest<T>(IEnumerable<T> items, Func<T, EvaluationRow> row) => items
        .OrderBy(i => row(i).TimestampUtc, StringComparer.Ordinal).ThenBy(i => row(i).Precision, StringComparer.Ordinal)
        .ThenBy(i => row(i).BatchSize).ThenBy(i => row(i).Profile, StringComparer.Ordinal).ThenBy(i => row(i).Reason, StringComparer.Ordinal)
        .LastOrDefault();
}

/// <summary>
/// Which model a results row is of: its name and its network (<c>candidate_id</c>), so two networks both saved as
/// model.onnx in two folders are two models, and one network is one whatever its path was spelt as. A row without a
/// network (a foreign model, a file that did not load, a variant that is not there) is of the network measured under its
/// name at its path, or of its name's only network when it names no path; else its name at its path is a model of its own.
/// </summary>
internal sealed class ModelKeys
{
    private readonly Dictionary<(string Model, string Path), string> _networkAt = [];
    private readonly Dictionary<string, string?> _onlyNetwork = new(StringComparer.Ordinal);

    /// <summary>Keys for <paramref name="rows"/> (all of the inputs: a path's network is the one measured there last).</summary>
    public ModelKeys(IEnumerable<EvaluationRow> rows)
    {
        foreach (EvaluationRow r in rows.Where(r => r.CandidateId.Length > 0).OrderBy(r => r.TimestampUtc, StringComparer.Ordinal))
        {
            if (r.ModelPath.Length > 0) _networkAt[(r.Model, r.ModelPath)] = r.CandidateId;
            _onlyNetwork[r.Model] = !_onlyNetwork.TryGetValue(r.Model, out string? id) || id == r.CandidateId ? r.CandidateId : null;
        }
    }

    /// <summary>The model <paramref name="r"/> is of.</summary>
    public (string Model, string Network) Of(EvaluationRow r) =>
        r.CandidateId.Length > 0 ? (r.Model, r.CandidateId)
        : _networkAt.TryGetValue((r.Model, r.ModelPath), out string? there) ? (r.Model, there)
        : r.ModelPath.Length == 0 && _onlyNetwork.GetValueOrDefault(r.Model) is { } only ? (r.Model, only)
        : (r.Model, "@" + r.ModelPath);

    /// <summary>Whether <paramref name="r"/> is of a network whose file was later measured holding another one.</summary>
    public bool Replaced(EvaluationRow r) =>
        r.CandidateId.Length > 0 && r.ModelPath.Length > 0 && _networkAt.TryGetValue((r.Model, r.ModelPath), out string? now) && now != r.CandidateId;
}
