using SpiKernel.Pipeline.Prediction;
using SpiKernel.Core.Csv;
using System.Globalization;
using SpiKernel.Core;
using SpiKernel.Exporters;
using SpiKernel.Models.Architecture;
using SpiKernel.Pipeline.Data;
using SpiKernel.Pipeline.ScaleOut;
using SpiKernel.Pipeline.Search;
using SpiKernel.Pipeline.Training;

namespace SpiKernel.Pipeline.Stages;

/// <summary>Settings of <see cref="SearchStage"/>.</summary>
/// <param name="Template">Macro network and LIF settings; each candidate replaces its cell and kernel set.</param>
/// <param name="Search">Kernel sets, cell kind, candidates, budget, score batches, seed.</param>
/// <param name="OutputDirectory">Folder of candidates.csv, top/*.arch.txt and search.txt.</param>
/// <param name="Data">Training images for the score (as for train).</param>
/// <param name="ExplicitShape">The user fixed input shape and classes.</param>
/// <param name="Threads">Torch threads (0: all cores).</param>
/// <param name="Resume">Keep candidates already scored in candidates.csv (an interrupted search of the same settings).</param>
/// <param name="Predictor">A latency predictor (<c>predictor train</c>): every scored candidate's latency is predicted
/// for each profile × batch × precision it knows, into predicted-latency.csv.</param>
/// <param name="PredictLayout">The timestep layout the predictions are for: the one the candidates will be exported in.</param>
public sealed record SearchStageOptions(SnnArchitecture Template, SearchOptions Search, string OutputDirectory,
    string? Data = null, bool ExplicitShape = false, int Threads = 0, bool Resume = false, string? Predictor = null,
    TimestepLayout PredictLayout = TimestepLayout.Batched);

/// <summary>What <see cref="SearchStage"/> produced.</summary>
/// <param name="Search">Every candidate, ranked.</param>
/// <param name="Summary">One line: candidates, duplicates, time, rate (also in search.txt).</param>
public sealed record SearchStageResult(SearchResult Search, string Summary)
{
    /// <summary>Per kernel set, in the order of the candidates: how many were scored, failed and over budget, and the best.</summary>
    public IReadOnlyList<KernelSetSummary> BySet => Search.Rows.GroupBy(x => x.KernelSetName).Select(g => new KernelSetSummary(g.Key,
        g.Count(x => x.Status == CandidateStatus.Scored), g.Count(x => x.Status == CandidateStatus.Failed), g.Count(x => x.Status == CandidateStatus.OverBudget),
        g.Where(x => x.Rank is not null).MinBy(x => x.Rank))).ToArray();
}

/// <summary>What the search found in one kernel set.</summary>
/// <param name="KernelSet">The set's name.</param>
/// <param name="Scored">Candidates scored.</param>
/// <param name="Failed">Candidates whose score failed.</param>
/// <param name="OverBudget">Candidates over the parameter budget (not built).</param>
/// <param name="Best">The best-ranked candidate of the set, if any was scored.</param>
public sealed record KernelSetSummary(string KernelSet, int Scored, int Failed, int OverBudget, CandidateRow? Best);

/// <summary>SpiKernel step 3: the training-free SAHD search over kernel-size sets under a parameter budget.</summary>
public sealed class SearchStage : IStage<SearchStageOptions, SearchStageResult>
{
    /// <summary>The one-line summary of the search.</summary>
    public const string SummaryFile = "search.txt";

    /// <summary>Predicted latencies of the scored candidates (with a predictor).</summary>
    public const string PredictionsFile = "predicted-latency.csv";

    /// <inheritdoc />
    public string Name => "search";

    /// <inheritdoc />
    public bool IsComplete(SearchStageOptions options) =>
        StageMarker.Matches(options.OutputDirectory, Name, Identity(options));

    /// <inheritdoc />
    public SearchStageResult Run(SearchStageOptions options, IProgressObserver progress, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(progress);
        (SnnArchitecture template, DataSplit split) = Prepare(options);
        using UnitLock held = Lock(options); // two searches appending to one candidates.csv would cut each other's rows
        RefuseOtherScores(options, split.Source);
        StageMarker.Clear(options.OutputDirectory, Name);
        StageMarker.Write(options.OutputDirectory, Scoring, ScoringIdentity(options, split.Source));
        SearchResult result = SearchRunner.Run(template, split.Train, options.Search, options.OutputDirectory, progress, cancel, options.Resume);
        return Complete(options, result, progress, cancel);
    }

    // held while this process writes candidates.csv and what goes with it (scoring, or joining the shards into it)
    private UnitLock Lock(SearchStageOptions options)
    {
        Directory.CreateDirectory(options.OutputDirectory);
        return UnitLock.For(options.OutputDirectory, Name, $"the search into {options.OutputDirectory}");
    }

    /// <summary>
    /// The candidates file of one shard: search/shards/candidates.FINGERPRINT.I-of-N.csv. The configuration's
    /// fingerprint in the name keeps rows of an earlier configuration from being resumed or merged.
    /// </summary>
    internal static string ShardFile(string outputDirectory, string fingerprint, Shard shard) =>
        Path.Combine(outputDirectory, "shards", $"candidates.{fingerprint}.{shard.FileTag}.csv");

    /// <summary>
    /// Scores the candidates <paramref name="shard"/> owns into its own file (<see cref="ShardFile"/>), continuing
    /// what an earlier attempt of the same shard scored. The stage is complete once <see cref="Merge"/> joins the shards.
    /// </summary>
    /// <returns>The shard's candidate ids, all scored (or over budget, or failed, with the reason).</returns>
    internal IReadOnlyList<string> RunShard(SearchStageOptions options, string fingerprint, Shard shard, IProgressObserver progress, CancellationToken cancel)
    {
        (SnnArchitecture template, DataSplit split) = Prepare(options);
        SearchPlan plan = SearchRunner.Plan(template, options.Search);
        string path = ShardFile(options.OutputDirectory, fingerprint, shard);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        List<CandidateRow> rows = SearchRunner.Score(plan, shard, split.Train, options.Search, path, progress, cancel, resume: true);
        return rows.Select(r => r.CandidateId).ToArray();
    }

    /// <summary>
    /// Joins the shard files into candidates.csv, top/, search.txt (and predicted latencies) exactly as an unsharded
    /// search writes them, once <paramref name="ledger"/> has confirmed every candidate has its row: nothing dropped,
    /// nothing twice, nothing written when a shard is missing.
    /// </summary>
    internal SearchStageResult Merge(SearchStageOptions options, ShardLedger ledger, IProgressObserver progress, CancellationToken cancel)
    {
        (SearchPlan plan, List<CandidateRow> rows) = ShardRows(options, ledger);
        using UnitLock held = Lock(options);
        SearchResult result = SearchRunner.Finish(rows, plan, options.Search, options.OutputDirectory, rows.Sum(r => r.Seconds));
        return Complete(options, result, progress, cancel);
    }

    /// <summary>
    /// Scores the shards of <paramref name="count"/> that have no record in run folder <paramref name="root"/>, each as
    /// its task would: under its lock, continuing its file, then recorded. A shard another process holds is left to it.
    /// </summary>
    /// <returns>The shards left to another process.</returns>
    internal IReadOnlyList<Shard> CompleteShards(SearchStageOptions options, string root, string fingerprint, int count, IProgressObserver progress, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(progress);
        var busy = new List<Shard>();
        bool Recorded(Shard s) => ShardRecord.ReadAll(root, Name).Any(r => r.Index == s.Index && r.Count == s.Count);
        Shard[] missing = [.. Enumerable.Range(0, count).Select(i => new Shard(i, count)).Where(s => !Recorded(s))];
        if (missing.Length > 0)
            progress.Note($"search: {count - missing.Length} of {count} shards scored; scoring {string.Join(", ", missing)} here");
        foreach (Shard s in missing)
        {
            IDisposable held;
            try
            {
                held = ShardLock.Take(root, Name, s);
            }
            catch (InvalidDataException)
            {
                busy.Add(s);
                continue;
            }
            using (held)
                if (!Recorded(s)) // not finished by its task meanwhile
                    ShardRecord.Write(root, Name, s, fingerprint, RunShard(options, fingerprint, s, progress, cancel));
        }
        return busy;
    }

    /// <summary>The shard count in the names of this configuration's shard files (0: none, or files of several counts).</summary>
    internal static int ShardFilesCount(string outputDirectory, string fingerprint)
    {
        string folder = Path.Combine(outputDirectory, "shards");
        if (!Directory.Exists(folder)) return 0;
        int[] counts = Directory.GetFiles(folder, $"candidates.{fingerprint}.*-of-*.csv")
            .Select(f => System.Text.RegularExpressions.Regex.Match(Path.GetFileName(f), @"\.\d+-of-(\d+)\.csv$")).Where(m => m.Success)
            .Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).Distinct().ToArray();
        return counts.Length == 1 ? counts[0] : 0;
    }

    /// <summary>Confirms that the shards hold every candidate, reading their files without changing them (a shard may still be appending).</summary>
    internal void VerifyShards(SearchStageOptions options, ShardLedger ledger) => ShardRows(options, ledger);

    private static (SearchPlan Plan, List<CandidateRow> Rows) ShardRows(SearchStageOptions options, ShardLedger ledger)
    {
        ArgumentNullException.ThrowIfNull(ledger);
        SnnArchitecture template = ArchitectureFit.ToData(options.Template, options.ExplicitShape, DatasetCatalog.Load(options.Data).Train);
        SearchPlan plan = SearchRunner.Plan(template, options.Search);
        int count = ledger.Count("search", sameCount: true);
        var rows = new Dictionary<string, CandidateRow>(StringComparer.Ordinal);
        for (int i = 0; i < count; i++)
            foreach (CandidateRow row in CsvFile.ReadCompleteRows<CandidateRow>(ShardFile(options.OutputDirectory, ledger.Fingerprint, new Shard(i, count))))
                rows[row.CandidateId] = row with { Rank = null }; // the last: a failed score tried again on resume follows it
        string[] ids = plan.Units.Select(u => u.Architecture.CandidateId).ToArray();
        ledger.RequireComplete("search", ids, u => rows.ContainsKey(ids[u]), sameCount: true);
        return (plan, ids.Select(id => rows[id]).ToList());
    }

    private static (SnnArchitecture Template, DataSplit Split) Prepare(SearchStageOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Threads < 0) throw new SettingsException($"--threads must be ≥ 0 (got {options.Threads}).");
        TorchSharp.torch.set_num_threads(options.Threads > 0 ? options.Threads : Environment.ProcessorCount);
        DataSplit split = DatasetCatalog.Load(options.Data);
        // a bad predictor file, or one fitted on another layout, fails before the search, not after
        if (options.Predictor is { } zip) Prediction.LatencyPredictor.Load(zip).For(options.PredictLayout, zip, NullProgress.Instance);
        SnnArchitecture template = ArchitectureFit.ToData(options.Template, options.ExplicitShape, split.Train);
        SearchRunner.Validate(template, options.Search); // the budget against the network as fitted to the data
        OutputFolder.EnsureWritable(options.OutputDirectory); // once the inputs are known good: a refusal leaves no empty folder
        return (template, split);
    }

    private SearchStageResult Complete(SearchStageOptions options, SearchResult result, IProgressObserver progress, CancellationToken cancel)
    {
        int scored = result.Rows.Count(x => x.Status == CandidateStatus.Scored);
        string summary = string.Create(CultureInfo.InvariantCulture,
            $"search: {result.Rows.Count} unique candidates ({result.Duplicates} duplicates skipped) in {result.Seconds:F1} s, {scored / Math.Max(result.Seconds, 1e-9):F2} scored candidates/s");
        if (result.Exhausted is { Count: > 0 } few)
            summary += $"; fewer distinct cells than asked: {string.Join("; ", few)}";
        AtomicFile.WriteAllText(Path.Combine(options.OutputDirectory, SummaryFile), summary + Environment.NewLine);
        if (options.Predictor is { } predictor)
        {
            List<PredictedLatencyRow> predicted = PredictedLatencyRow.For(predictor, Path.Combine(options.OutputDirectory, SearchRunner.CandidatesFile), options.PredictLayout, progress, cancel);
            CsvFile.WriteAll(Path.Combine(options.OutputDirectory, PredictionsFile), predicted);
        }
        // candidates.csv as scored: rows lost from it since (a torn row deleted by hand) are scored again, not passed over
        StageMarker.Write(options.OutputDirectory, Name, Identity(options), outputs: [Path.Combine(options.OutputDirectory, SearchRunner.CandidatesFile)]);
        return new SearchStageResult(result, summary);
    }

    // the marker of what candidates.csv's scores were computed with, written before the first is
    private const string Scoring = "search-scoring";

    /// <summary>
    /// A candidates.csv already in the folder is continued only when asked (<see cref="SearchStageOptions.Resume"/>) and
    /// only with the settings its scores came from; a search run again over it without --resume used to truncate it.
    /// </summary>
    private static void RefuseOtherScores(SearchStageOptions o, string source)
    {
        string candidates = Path.Combine(o.OutputDirectory, SearchRunner.CandidatesFile);
        if (!File.Exists(candidates)) return;
        if (!o.Resume)
            throw new SettingsException($"{candidates} exists: give --resume to continue that search (its scored candidates are kept), or choose another --out.");
        if (File.Exists(StageMarker.PathIn(o.OutputDirectory, Scoring)) && !StageMarker.Matches(o.OutputDirectory, Scoring, ScoringIdentity(o, source)))
            throw new SettingsException($"{candidates} was scored with other settings (network, data, kernel sets, cell, candidates, budget, batch, repeat or seed): resume it with those, or choose another --out.");
    }

    // what a candidate's row depends on: the data as loaded (not as --data was typed), and not --top or the predictor,
    // which only read the scores
    private static string ScoringIdentity(SearchStageOptions o, string source) =>
        Identity(o with { Predictor = null, Data = source }).Replace(string.Create(CultureInfo.InvariantCulture, $" top={o.Search.Top} "), " ", StringComparison.Ordinal);

    private static string Identity(SearchStageOptions o)
    {
        SearchOptions s = o.Search;
        string sets = string.Join(";", s.KernelSets.Select(k => $"{k.Name}={k.Set}"));
        return string.Create(CultureInfo.InvariantCulture,
            $"template={o.Template} explicit-shape={o.ExplicitShape} data={o.Data ?? "default"} sets={sets} cell={s.Cell} candidates={s.Candidates} budget={s.BudgetParameters} batch={s.Batch} repeat={s.Repeat} top={s.Top} seed={s.Seed}") +
            (o.Predictor is { } p ? $" predictor={Path.GetFullPath(p)}" + (o.PredictLayout == TimestepLayout.Batched ? "" : $" predict-layout={o.PredictLayout}") : "");
    }
}
