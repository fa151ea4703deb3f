using SpiKernel.Core.Csv;

namespace SpiKernel.Evaluators.Results;

/// <summary>
/// What an interrupted evaluation already measured. The evaluator writes a measurement's per-layer rows, then its rows
/// (one per batch size): layer rows without result rows (a kill in between) are dropped. A result row without its layer rows (files of older versions wrote layers last;
/// a results file copied without its layers file) is not counted as measured, but stays in the file until the same
/// measurement has been made again (<see cref="Finish"/>): a resume that does not measure it again loses nothing. A
/// results or layers file of an older layout (fewer columns) is rewritten in the current one, so the rows still to come
/// can be appended. A measurement found twice (a kill after it was made again but before <see cref="Finish"/>) keeps its newest
/// <c>ok</c> row, or its newest row when none is <c>ok</c>. A <c>skipped</c> or <c>failed</c> row is not counted as measured:
/// a resume tries it again (a provider installed since, a failure that has passed). Both files are rewritten atomically.
/// </summary>
public static class MeasuredResume
{
    /// <summary>Where the per-layer rows of results file <paramref name="resultsPath"/> go: NAME.layers.csv beside it.</summary>
    public static string LayersPath(string resultsPath) =>
        Path.Combine(Path.GetDirectoryName(resultsPath) ?? "", Path.GetFileNameWithoutExtension(resultsPath) + ".layers.csv");

    /// <summary>What <see cref="Prepare"/> found.</summary>
    /// <param name="Measured">The rows measured already (with their layer rows): not measured again.</param>
    /// <param name="Before">Rows in the results file before this evaluation appends.</param>
    /// <param name="Layered">The rows of <see cref="Measured"/> whose measurement has its layer rows on file: not written again.</param>
    public sealed record State(IReadOnlyList<EvaluationRow> Measured, int Before, IReadOnlyList<EvaluationRow> Layered)
    {
        /// <summary>The keys (<see cref="EvaluationRequest.Key"/>) of <see cref="Measured"/>.</summary>
        public IReadOnlySet<string> Done => Measured.Select(Key).ToHashSet();

        /// <summary>The keys (<see cref="EvaluationRequest.LayerKey"/>) of <see cref="Layered"/>.</summary>
        public IReadOnlySet<string> LayersDone => Layered.Select(r => EvaluationRequest.LayerKey(r.ModelSha256, r.Profile, r.DeviceId, r.Precision)).ToHashSet();

        /// <summary>
        /// What was measured on the machine whose rows carry <paramref name="at"/> (a bundle's <c>@DEVICE</c>) after their
        /// profile, under the profile names the evaluator uses there (without it).
        /// </summary>
        public State On(string at)
        {
            List<EvaluationRow> Mine(IEnumerable<EvaluationRow> rows) =>
                [.. rows.Where(r => r.Profile.EndsWith(at, StringComparison.Ordinal)).Select(r => r with { Profile = r.Profile[..^at.Length] })];
            return new State(Mine(Measured), Before, Mine(Layered));
        }
    }

    /// <summary>Cleans the two files and says what is measured already.</summary>
    public static State Prepare(string resultsPath, string layersPath)
    {
        if (!File.Exists(resultsPath)) return new State([], 0, []);
        List<EvaluationRow> rows = CsvFile.ReadLog<EvaluationRow>(resultsPath);
        List<LayerRow> layers = CsvFile.ReadLog<LayerRow>(layersPath);
        List<EvaluationRow> kept = Newest(rows);
        // layer rows are of one file (LayerRow.Of: its hash): a file of the same name measured before, or after a kill
        // before its rows, is another; looked up by measurement, not compared with every row
        ILookup<(string, string, string), EvaluationRow> keptBy = kept.ToLookup(r => (r.Model, r.Profile, r.Precision));
        List<LayerRow> keptLayers = layers.Where(l => keptBy[(l.Model, l.Profile, l.Precision)].Any(l.Of)).ToList();
        ILookup<(string, string, string), LayerRow> layersBy = keptLayers.ToLookup(l => (l.Model, l.Profile, l.Precision));
        bool HasLayers(EvaluationRow r) => layersBy[(r.Model, r.Profile, r.Precision)].Any(l => l.Of(r));
        if (kept.Count != rows.Count || OlderLayout<EvaluationRow>(resultsPath)) CsvFile.WriteAll(resultsPath, kept);
        if (keptLayers.Count != layers.Count || OlderLayout<LayerRow>(layersPath)) CsvFile.WriteAll(layersPath, keptLayers);
        // a skipped or failed row is tried again (the provider may be here now, the failure may have passed)
        bool Complete(EvaluationRow r) => r.Status == EvaluationStatus.Ok && (r.SpikesPerSample is null || HasLayers(r));
        List<EvaluationRow> measured = kept.Where(Complete).ToList();
        return new State(measured, kept.Count, measured.Where(HasLayers).ToList());
    }

    /// <summary>
    /// After the evaluation (interrupted too), so each measurement has one row again, by the rule <see cref="Prepare"/>
    /// applies to a file left twice: its newest <c>ok</c> row, or its newest row when none is. A <c>skipped</c> or
    /// <c>failed</c> row this evaluation tried again gives way to the new row, unless that says the same (status and reason:
    /// the earlier row stays, so a resume that changes nothing leaves the file as it was); a row without layer rows
    /// measured again is replaced by the new one when that is <c>ok</c>, and stays when the new one is not (a provider
    /// this machine lacks). Rows this evaluation did not measure again stay as they were, in their order.
    /// </summary>
    public static void Finish(string resultsPath, State state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (!File.Exists(resultsPath)) return;
        List<EvaluationRow> rows = CsvFile.ReadLog<EvaluationRow>(resultsPath);
        if (rows.Count <= state.Before) return;
        List<EvaluationRow> kept = Newest(rows);
        if (kept.Count != rows.Count) CsvFile.WriteAll(resultsPath, kept);
    }

    // one row per model file and measurement: the last ok one, or the last one when none is ok — except that a row tried
    // again with the same outcome (status and reason: the provider still missing here, the file still not loading) leaves
    // the earlier one, so that a resume which changes nothing rewrites nothing. A file that failed to load (a row without
    // batch size) and has been measured since loses that row. The file's order kept
    private static List<EvaluationRow> Newest(List<EvaluationRow> rows)
    {
        var chosen = new Dictionary<(string, string), int>();
        for (int i = 0; i < rows.Count; i++)
        {
            var at = (rows[i].Model, Key(rows[i]));
            if (!chosen.TryGetValue(at, out int before) || rows[i].Status == EvaluationStatus.Ok
                || rows[before].Status != EvaluationStatus.Ok && (rows[i].Status != rows[before].Status || rows[i].Reason != rows[before].Reason))
                chosen[at] = i;
        }
        bool LoadedSince(int i) => rows[i].BatchSize is null && Enumerable.Range(i + 1, rows.Count - i - 1)
            .Any(j => rows[j].BatchSize is not null && rows[j].ModelSha256.Length > 0 && rows[i].IsLoadFailureOf(rows[j]));
        List<int> keep = chosen.Values.Where(i => !LoadedSince(i)).Order().ToList();
        return keep.Count == rows.Count ? rows : keep.Select(i => rows[i]).ToList();
    }

    // a file of an older layout (fewer columns) is rewritten in the current one, so the rows still to come can be appended
    private static bool OlderLayout<T>(string path) => File.Exists(path) && File.ReadLines(path).FirstOrDefault() is { } header && header != CsvFormat.Header<T>();

    private static string Key(EvaluationRow r) => EvaluationRequest.Key(r.ModelSha256, r.Profile, r.DeviceId, r.Precision, r.BatchSize);
}
