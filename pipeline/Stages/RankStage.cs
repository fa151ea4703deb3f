using SpiKernel.Core;
using SpiKernel.Core.Csv;
using SpiKernel.Evaluators.Results;
using SpiKernel.Exporters;
using SpiKernel.Pipeline.Prediction;
using SpiKernel.Pipeline.Ranking;
using SpiKernel.Pipeline.Search;

namespace SpiKernel.Pipeline.Stages;

/// <summary>Settings of <see cref="RankStage"/>.</summary>
/// <param name="Results">Results CSVs of <c>evaluate</c> (several merge: e.g. one measured on a GPU machine, one here).</param>
/// <param name="OutputPath">The ranking CSV to write.</param>
/// <param name="Constraints">Bounds a model must meet (per profile and batch where they say so).</param>
/// <param name="Objectives">Columns to maximise or minimise, in order of importance (the order breaks ties).</param>
/// <param name="Candidates">A search's candidates.csv, joined by candidate_id for the <c>score</c> column.</param>
/// <param name="Predictor">A latency predictor zip: scored candidates not measured on one of its groups get a predicted latency there (needs <paramref name="Candidates"/>).</param>
/// <param name="PredictLayout">The timestep layout predicted for: that of the measured files they are ranked beside.</param>
public sealed record RankStageOptions(IReadOnlyList<string> Results, string OutputPath, IReadOnlyList<Constraint> Constraints,
    IReadOnlyList<Objective> Objectives, string? Candidates = null, string? Predictor = null, TimestepLayout PredictLayout = TimestepLayout.Batched);

/// <summary>What <see cref="RankStage"/> wrote.</summary>
/// <param name="Rows">Every row of ranking.csv.</param>
/// <param name="Recommendations">One per profile, with the sentence that says why.</param>
/// <param name="OutputPath">ranking.csv.</param>
public sealed record RankStageResult(IReadOnlyList<RankingRow> Rows, IReadOnlyList<Recommendation> Recommendations, string OutputPath);

/// <summary>SpiKernel step 4, hardware-aware: constraints, Pareto fronts per profile × batch size, one recommendation per profile (<see cref="Ranker"/>).</summary>
public sealed class RankStage : IStage<RankStageOptions, RankStageResult>
{
    /// <inheritdoc />
    public string Name => "rank";

    /// <inheritdoc />
    public bool IsComplete(RankStageOptions options) =>
        File.Exists(options.OutputPath) && StageMarker.Matches(Folder(options), Name, Identity(options));

    /// <inheritdoc />
    public RankStageResult Run(RankStageOptions options, IProgressObserver progress, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(progress);
        if (options.Results.Count == 0) throw new SettingsException("Name at least one results CSV to rank.");
        if (options.Predictor is not null && options.Candidates is null) throw new SettingsException("--predictor needs --candidates: the architectures whose latency it predicts.");
        if (options.Candidates is null && options.Constraints.Select(c => c.Column).Concat(options.Objectives.Select(o => o.Column)).Contains(RankColumns.Score))
            throw new SettingsException("score is the search's: give its candidates.csv with --candidates to rank or constrain on it.");
        OutputFolder.EnsureWritableFile(options.OutputPath);
        Dictionary<string, double?> scores = options.Candidates is { } c ? ReadScores(c) : [];
        var measurements = new List<Measurement>();
        foreach (string path in options.Results)
        {
            cancel.ThrowIfCancellationRequested();
            foreach (EvaluationRow row in ReadResults(path, options))
                measurements.Add(new Measurement(row, path, scores.GetValueOrDefault(row.CandidateId)));
        }
        if (options.Predictor is { } predictor) measurements.AddRange(PredictedLatency.For(predictor, options.Candidates!, measurements, options.PredictLayout, progress, cancel));
        if (measurements.Count == 0) throw new InvalidDataException($"{string.Join(", ", options.Results)}: no rows to rank");
        (IReadOnlyList<RankingRow> rows, IReadOnlyList<Recommendation> recs) = Ranker.Rank(measurements, options.Constraints, options.Objectives);
        CsvFile.WriteAll(options.OutputPath, rows);
        foreach ((string model, string[] networks) in CurrentRows.SharedNames(measurements, m => m.Row))
            progress.Note($"'{model}' names {networks.Length} networks in the inputs ({string.Join(", ", networks)}): only the newest row of each measurement counts; " +
                          "if they are two files, give them distinct names to rank both");
        foreach ((string device, int failures, string reason) in CurrentRows.MachinesWithoutMeasurements(measurements.Select(m => m.Row)))
            progress.Note($"{(device.Length == 0 ? "this machine's rows" : $"device {device[1..]}")}: no file loaded there ({failures} load failure{(failures == 1 ? "" : "s")}; first: {reason}), so nothing of it is ranked");
        foreach (Recommendation r in recs) progress.Note($"{r.Profile}: {r.Why}");
        StageMarker.Write(Folder(options), Name, Identity(options));
        return new RankStageResult(rows, recs, options.OutputPath);
    }

    // two GPUs' rows: two profiles (ResultsFile); score is the search's, from candidates.csv
    private static List<EvaluationRow> ReadResults(string path, RankStageOptions options) => ResultsFile.Read(path,
        options.Constraints.Select(c => c.Column).Concat(options.Objectives.Select(o => o.Column)).Where(n => n != RankColumns.Score));

    private static Dictionary<string, double?> ReadScores(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such candidates file", path);
        // a file without the two columns would join nothing and rank as if no candidates had been given
        return CsvFile.ReadCompleteRows<CandidateRow>(path, "candidates CSV of spikernel search", ["candidate_id", "score"]).Where(r => r.CandidateId.Length > 0)
            // an interrupted search's file is its log: a failed row, then its retry; the last score counts
            .GroupBy(r => r.CandidateId).ToDictionary(g => g.Key, g => g.LastOrDefault(r => r.Score is not null)?.Score);
    }

    private static string Folder(RankStageOptions o) => Path.GetDirectoryName(Path.GetFullPath(o.OutputPath))!;

    private static string Identity(RankStageOptions o) =>
        $"results={string.Join(',', o.Results.Select(Path.GetFullPath))} candidates={o.Candidates} predictor={o.Predictor} " +
        $"constraints={string.Join(';', o.Constraints.Select(c => c.Text))} objectives={string.Join(';', o.Objectives)}" +
        (o.Predictor is not null && o.PredictLayout != TimestepLayout.Batched ? $" predict-layout={o.PredictLayout}" : "");
}
