using SpiKernel.Core;

namespace SpiKernel.Pipeline.Prediction;

/// <summary>The measured latencies of one profile × batch size × precision with each model's features.</summary>
/// <param name="Profile">Profile.</param>
/// <param name="BatchSize">Batch size.</param>
/// <param name="Precision">fp32 or int8.</param>
/// <param name="Models">Model names, one per row.</param>
/// <param name="Features">Feature vectors (<see cref="LatencyFeatures"/>).</param>
/// <param name="Ms">Measured latency p50, ms.</param>
/// <param name="CandidateIds">Each row's candidate_id ("" when unknown; null: none known).</param>
internal sealed record LatencyGroup(string Profile, int BatchSize, string Precision, IReadOnlyList<string> Models,
    IReadOnlyList<float[]> Features, IReadOnlyList<double> Ms, IReadOnlyList<string>? CandidateIds = null);

/// <summary>
/// Fits a <see cref="LatencyRegressor"/> per group and judges it by k-fold cross-validation (k = min(folds, distinct
/// networks), folds drawn by a seeded shuffle) next to the MACs-linear baseline fitted and scored on the same folds; the
/// final regressor is then fitted on all rows. Rows of one network always share a fold: rows with the same features (one
/// network under two candidate ids, say a cell searched with two kernel sets whose extra sizes it does not use) and rows
/// with the same candidate id (one network exported in both layouts); one in training would otherwise predict its twin
/// in the test fold, and the figures would flatter the model.
/// </summary>
internal static class PredictorTrainer
{
    /// <summary>Fits and cross-validates every group; <paramref name="progress"/> gets one line per group.</summary>
    public static LatencyPredictor Train(IReadOnlyList<LatencyGroup> groups, bool logTarget, int folds, int seed, IReadOnlyList<string> sources,
        IProgressObserver progress, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(groups);
        ArgumentNullException.ThrowIfNull(progress);
        if (folds < 2) throw new SettingsException($"--folds must be at least 2 (got {folds}).");
        var manifestGroups = new List<PredictorGroup>();
        var regressors = new Dictionary<string, LatencyRegressor>(StringComparer.Ordinal);
        progress.Begin("predictor train", groups.Count);
        foreach (LatencyGroup g in groups)
        {
            cancel.ThrowIfCancellationRequested();
            (FitMetrics tree, FitMetrics baseline, int k) = CrossValidate(g, logTarget, folds, seed);
            MacsLinear line = MacsLinear.Fit(Macs(g.Features), g.Ms);
            string entry = $"models/{g.Profile}-b{g.BatchSize}-{g.Precision}.zip";
            var group = new PredictorGroup(g.Profile, g.BatchSize, g.Precision, entry, DistinctNetworks(g.Features, g.CandidateIds), k, tree, baseline, line,
                LatencyFeatures.Layouts(g.Features));
            regressors[group.Key] = LatencyRegressor.Fit(g.Features, g.Ms, logTarget, seed);
            manifestGroups.Add(group);
            progress.Note(Describe(group));
            progress.Advance(manifestGroups.Count);
        }
        var manifest = new PredictorManifest(PredictorManifest.FormatName, ToolInfo.Version, LatencyFeatures.Names, logTarget, seed,
            "latency_p50_ms", sources, manifestGroups);
        return new LatencyPredictor(manifest, regressors);
    }

    /// <summary>One line: the group, its rows, FastTree's and the baseline's cross-validated figures.</summary>
    public static string Describe(PredictorGroup g) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"{g.Key}: {g.Architectures} architectures, {g.Folds}-fold CV: FastTree MAPE {g.FastTree.Mape:P1} R² {Num(g.FastTree.R2)} ρ {Num(g.FastTree.SpearmanRho)}; " +
            $"MACs-linear MAPE {g.Baseline.Mape:P1} R² {Num(g.Baseline.R2)} ρ {Num(g.Baseline.SpearmanRho)}{(g.UsesBaseline ? "; the MACs-linear line was closer, so it predicts this group" : "")}");

    /// <summary>Out-of-fold figures of FastTree and of the baseline, and the number of folds used.</summary>
    public static (FitMetrics Tree, FitMetrics Baseline, int Folds) CrossValidate(LatencyGroup g, bool logTarget, int folds, int seed)
    {
        ArgumentNullException.ThrowIfNull(g);
        int n = g.Ms.Count;
        string[] network = Networks(g.Features, g.CandidateIds);
        string[] distinct = network.Distinct().ToArray(); // in first-seen order: the shuffle below is seeded and stable
        if (distinct.Length < 2) throw new ArgumentException($"{g.Profile}/{g.BatchSize}/{g.Precision}: cross-validation needs two different networks; all {n} rows have the same features", nameof(g));
        int k = Math.Min(folds, distinct.Length);
        new Random(seed).Shuffle(distinct);
        var foldOf = distinct.Select((key, i) => (key, i % k)).ToDictionary(x => x.key, x => x.Item2, StringComparer.Ordinal);
        int[] fold = network.Select(key => foldOf[key]).ToArray();
        var tree = new double[n];
        var line = new double[n];
        double[] macs = Macs(g.Features);
        for (int f = 0; f < k; f++)
        {
            int[] train = Enumerable.Range(0, n).Where(i => fold[i] != f).ToArray();
            int[] test = Enumerable.Range(0, n).Where(i => fold[i] == f).ToArray();
            LatencyRegressor r = LatencyRegressor.Fit(train.Select(i => g.Features[i]).ToArray(), train.Select(i => g.Ms[i]).ToArray(), logTarget, seed);
            double[] p = r.Predict(test.Select(i => g.Features[i]).ToArray());
            MacsLinear b = MacsLinear.Fit(train.Select(i => macs[i]).ToArray(), train.Select(i => g.Ms[i]).ToArray());
            for (int j = 0; j < test.Length; j++)
            {
                tree[test[j]] = p[j];
                line[test[j]] = b.Predict(macs[test[j]]);
            }
        }
        return (FitMetrics.Of(g.Ms, tree), FitMetrics.Of(g.Ms, line), k);
    }

    /// <summary>
    /// How many different networks the rows hold: rows with identical feature vectors, or with the same non-empty
    /// candidate id, are one network (and so, transitively, are rows linked through either).
    /// </summary>
    public static int DistinctNetworks(IReadOnlyList<float[]> features, IReadOnlyList<string>? candidateIds = null) =>
        Networks(features, candidateIds).Distinct().Count();

    // one key per network: the first row of its group, rows joined by bit-identical features or a shared candidate id
    private static string[] Networks(IReadOnlyList<float[]> features, IReadOnlyList<string>? candidateIds)
    {
        int n = features.Count;
        int[] parent = Enumerable.Range(0, n).ToArray();
        int Root(int i) => parent[i] == i ? i : parent[i] = Root(parent[i]);
        void Join(IEnumerable<string> keys)
        {
            var first = new Dictionary<string, int>(StringComparer.Ordinal);
            int i = 0;
            foreach (string key in keys)
            {
                if (key.Length > 0)
                {
                    if (first.TryGetValue(key, out int j)) parent[Root(i)] = Root(j);
                    else first[key] = i;
                }
                i++;
            }
        }
        Join(features.Select(f => string.Join(',', f.Select(v => BitConverter.SingleToInt32Bits(v).ToString(System.Globalization.CultureInfo.InvariantCulture)))));
        if (candidateIds is not null) Join(candidateIds);
        return Enumerable.Range(0, n).Select(i => Root(i).ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
    }

    private static double[] Macs(IReadOnlyList<float[]> features) => features.Select(f => (double)f[LatencyFeatures.MacsIndex]).ToArray();

    private static string Num(double? v) => v?.ToString("0.000", System.Globalization.CultureInfo.InvariantCulture) ?? "n/a";
}
