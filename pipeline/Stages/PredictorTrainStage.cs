using SpiKernel.Core;
using SpiKernel.Core.Csv;
using SpiKernel.Evaluators.Results;
using SpiKernel.Pipeline.Prediction;
using SpiKernel.Pipeline.Ranking;

namespace SpiKernel.Pipeline.Stages;

/// <summary>Settings of <see cref="PredictorTrainStage"/>.</summary>
/// <param name="Results">Results CSVs of <c>evaluate</c> (or of <c>predictor dataset</c>); rows with status ok are used.</param>
/// <param name="OutputPath">The predictor zip to write; its metrics go to NAME.metrics.csv beside it.</param>
/// <param name="Profiles">Only these profiles (null: every profile in the results).</param>
/// <param name="LogTarget">Learn ln(ms) (relative errors; measured to help, docs/measurements/predictor.md).</param>
/// <param name="Folds">Cross-validation folds (fewer when a group has fewer rows).</param>
/// <param name="Seed">ML.NET seed and fold shuffle.</param>
/// <param name="MinimumRows">Groups with fewer measured networks (identical features counted once) are skipped (noted).</param>
public sealed record PredictorTrainOptions(IReadOnlyList<string> Results, string OutputPath, IReadOnlyList<string>? Profiles = null,
    bool LogTarget = true, int Folds = 5, int Seed = 1, int MinimumRows = 5);

/// <summary>What <see cref="PredictorTrainStage"/> wrote.</summary>
/// <param name="OutputPath">The predictor zip.</param>
/// <param name="MetricsPath">NAME.metrics.csv: the cross-validated figures of FastTree and the baseline per group.</param>
/// <param name="Manifest">The zip's manifest (groups and figures).</param>
/// <param name="Notes">Rows or groups left out, and why.</param>
public sealed record PredictorTrainResult(string OutputPath, string MetricsPath, PredictorManifest Manifest, IReadOnlyList<string> Notes);

/// <summary>
/// Trains the latency predictor: reads measured rows, computes each model's <see cref="LatencyFeatures"/> from its
/// ONNX file, fits one FastTree regressor per profile × batch size × precision on <c>latency_p50_ms</c>, judges it by
/// k-fold cross-validation next to a MACs-linear baseline, and saves one zip with a manifest.
/// </summary>
public sealed class PredictorTrainStage : IStage<PredictorTrainOptions, PredictorTrainResult>
{

    /// <inheritdoc />
    public string Name => "predictor-train";

    /// <summary>Where the metrics of predictor <paramref name="zipPath"/> go.</summary>
    public static string MetricsPath(string zipPath) =>
        Path.Combine(Path.GetDirectoryName(zipPath) ?? "", Path.GetFileNameWithoutExtension(zipPath) + ".metrics.csv");

    /// <inheritdoc />
    public bool IsComplete(PredictorTrainOptions options) =>
        File.Exists(options.OutputPath) && StageMarker.Matches(Folder(options), MarkerName(options), Identity(options));

    /// <inheritdoc />
    public PredictorTrainResult Run(PredictorTrainOptions options, IProgressObserver progress, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(progress);
        if (options.Results.Count == 0) throw new SettingsException("Name at least one results CSV to train on.");
        if (options.MinimumRows < 3) throw new SettingsException($"--min-rows must be at least 3 (got {options.MinimumRows}).");
        OutputFolder.EnsureWritableFile(options.OutputPath);
        var notes = new List<string>();
        List<(EvaluationRow Row, string Source)> rows = options.Results.SelectMany(p => ResultsFile.Read(p, ["model_path", "latency_p50_ms"]).Select(r => (r, p))).ToList(); // a predictor per GPU
        string[] profiles = rows.Select(r => r.Row.Profile).Where(CurrentRows.IsProfile).Distinct().Order(StringComparer.Ordinal).ToArray();
        foreach (string p in options.Profiles ?? [])
            if (!profiles.Contains(p))
                throw new SettingsException($"--profiles: '{p}' is not in the results (profiles there: {string.Join(", ", profiles)}).");

        // the rows that count, as the ranking counts them (a later failure voids a measurement), then the ok ones
        var usable = CurrentRows.Of(rows.Where(r => options.Profiles is null || !CurrentRows.IsProfile(r.Row.Profile) || options.Profiles.Contains(r.Row.Profile)), r => r.Row, (x, r) => (r, x.Source))
            .Where(r => r.Row.Status == EvaluationStatus.Ok && r.Row.LatencyP50Ms > 0)
            .ToList();
        var features = new Dictionary<string, float[]?>(StringComparer.Ordinal);
        var groups = new List<LatencyGroup>();
        var unreadable = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var g in usable.GroupBy(r => (r.Row.Profile, r.Row.BatchSize!.Value, r.Row.Precision))
                     .OrderBy(g => g.Key.Profile, StringComparer.Ordinal).ThenBy(g => g.Key.Item2).ThenBy(g => g.Key.Precision, StringComparer.Ordinal))
        {
            var members = g.OrderBy(r => r.Row.Model, StringComparer.Ordinal)
                .Select(r => (r.Row, F: FeaturesOf(r.Row, r.Source, features, unreadable))).Where(x => x.F is not null).ToList();
            int networks = PredictorTrainer.DistinctNetworks(members.Select(m => m.F!).ToList(), members.Select(m => m.Row.CandidateId).ToList());
            if (networks < options.MinimumRows)
            {
                string twins = networks < members.Count ? $" ({networks} different networks)" : "";
                notes.Add($"{g.Key.Profile}/{g.Key.Item2}/{g.Key.Precision}: {members.Count} measured SpiKernel models{twins}, fewer than {options.MinimumRows}; no regressor");
                continue;
            }
            groups.Add(new LatencyGroup(g.Key.Profile, g.Key.Item2, g.Key.Precision, members.Select(m => m.Row.Model).ToArray(),
                members.Select(m => m.F!).ToArray(), members.Select(m => m.Row.LatencyP50Ms!.Value).ToArray(),
                members.Select(m => m.Row.CandidateId).ToArray()));
        }
        if (unreadable.Count > 0)
            notes.Add($"{unreadable.Count} model files missing or not SpiKernel exports (first: {unreadable.Min}); their rows were left out");
        foreach (string n in notes) progress.Note(n);
        if (groups.Count == 0)
            throw new InvalidDataException($"{string.Join(", ", options.Results)}: no profile × batch × precision has {options.MinimumRows} or more measured SpiKernel models (ok rows with latency_p50_ms and a readable model file)");

        LatencyPredictor predictor = PredictorTrainer.Train(groups, options.LogTarget, options.Folds, options.Seed, options.Results, progress, cancel);
        predictor.Save(options.OutputPath);
        string metrics = MetricsPath(options.OutputPath);
        CsvFile.WriteAll(metrics, predictor.Manifest.Groups.SelectMany(PredictorMetricsRow.Of));
        StageMarker.Write(Folder(options), MarkerName(options), Identity(options));
        return new PredictorTrainResult(options.OutputPath, metrics, predictor.Manifest, notes);
    }

    /// <summary>
    /// The features of a row's model file; null when unreadable. The file is looked for as written (relative to where
    /// evaluate ran), relative to the results CSV, then by its name in the CSV's models/ folder and beside the CSV (a run
    /// folder copied elsewhere).
    /// </summary>
    private static float[]? FeaturesOf(EvaluationRow row, string source, Dictionary<string, float[]?> cache, ISet<string> unreadable)
    {
        string csvDir = Path.GetDirectoryName(Path.GetFullPath(source))!;
        string name = Path.GetFileName(row.ModelPath);
        string path = new[] { row.ModelPath, Path.Combine(csvDir, row.ModelPath), Path.Combine(csvDir, "models", name), Path.Combine(csvDir, name) }
            .FirstOrDefault(File.Exists) ?? row.ModelPath;
        if (cache.TryGetValue(path, out float[]? known)) return known;
        float[]? f = null;
        try
        {
            if (File.Exists(path)) f = LatencyFeatures.OfFile(path);
        }
        catch (Exception ex) when (ex is InvalidDataException or SettingsException)
        {
            // not a SpiKernel export, or its architecture text not one this version reads: counted below
        }
        if (f is null) unreadable.Add(path);
        cache[path] = f;
        return f;
    }

    private static string MarkerName(PredictorTrainOptions o) => "predictor-" + Path.GetFileName(o.OutputPath);

    private static string Folder(PredictorTrainOptions o) => Path.GetDirectoryName(Path.GetFullPath(o.OutputPath))!;

    private static string Identity(PredictorTrainOptions o) =>
        $"results={string.Join(',', o.Results.Select(Path.GetFullPath))} profiles={string.Join(',', o.Profiles ?? [])} log={o.LogTarget} " +
        $"folds={o.Folds} seed={o.Seed} min={o.MinimumRows}";
}
