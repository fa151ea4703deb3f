using SpiKernel.Core.Csv;

namespace SpiKernel.Evaluators.Results;

/// <summary>
/// What an interrupted evaluation already measured. The evaluator writes a measurement's per-layer rows, then its rows
/// (one per batch size): layer rows without result rows (a kill in between) are dropped, as are result rows without
/// layers (files of older versions wrote layers last) and rows that name no model file; both files are rewritten
/// atomically and those measurements made again. Every other row is a measurement that is not repeated. A results file
/// of an older layout (fewer columns) is rewritten in the current one, so the rows still to come can be appended.
/// </summary>
public static class MeasuredResume
{
    /// <summary>Where the per-layer rows of results file <paramref name="resultsPath"/> go: NAME.layers.csv beside it.</summary>
    public static string LayersPath(string resultsPath) =>
        Path.Combine(Path.GetDirectoryName(resultsPath) ?? "", Path.GetFileNameWithoutExtension(resultsPath) + ".layers.csv");

    /// <summary>Cleans the two files and returns the keys (<see cref="EvaluationRequest.Key"/>) already measured.</summary>
    public static IReadOnlySet<string> Prepare(string resultsPath, string layersPath)
    {
        if (!File.Exists(resultsPath)) return new HashSet<string>();
        List<EvaluationRow> rows = CsvFile.ReadLog<EvaluationRow>(resultsPath);
        List<LayerRow> layers = CsvFile.ReadLog<LayerRow>(layersPath);
        var withLayers = layers.Select(l => (l.Model, l.Profile, l.Precision)).ToHashSet();
        bool Complete(EvaluationRow r) => r.ModelSha256.Length > 0 && r.BatchSize is not null
            && (r.Status != EvaluationStatus.Ok || r.SpikesPerSample is null || withLayers.Contains((r.Model, r.Profile, r.Precision)));
        List<EvaluationRow> kept = rows.Where(Complete).ToList();
        var keptKeys = kept.Select(r => (r.Model, r.Profile, r.Precision)).ToHashSet();
        List<LayerRow> keptLayers = layers.Where(l => keptKeys.Contains((l.Model, l.Profile, l.Precision))).ToList();
        bool olderLayout = File.ReadLines(resultsPath).FirstOrDefault() != CsvFormat.Header<EvaluationRow>();
        if (kept.Count != rows.Count || olderLayout) CsvFile.WriteAll(resultsPath, kept);
        if (keptLayers.Count != layers.Count) CsvFile.WriteAll(layersPath, keptLayers);
        return kept.Where(r => r.BatchSize is not null).Select(r => EvaluationRequest.Key(r.ModelSha256, r.Profile, r.Precision, r.BatchSize)).ToHashSet();
    }
}
