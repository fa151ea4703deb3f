using SpiKernel.Core;
using SpiKernel.Core.Csv;
using SpiKernel.Evaluators.Results;
using SpiKernel.Exporters;
using SpiKernel.Models.Architecture;
using SpiKernel.Pipeline.Ranking;
using SpiKernel.Pipeline.Search;

namespace SpiKernel.Pipeline.Prediction;

/// <summary>
/// Predicted rows for <c>rank --predictor</c>: every scored candidate of a candidates.csv that has no measured ok row
/// on a profile × batch size × precision the predictor knows gets a row there with the predicted <c>latency_p50_ms</c>,
/// marked <see cref="LatencySource.Predicted"/>. A measured row always wins: a candidate measured there gets no
/// prediction. Features come from the candidate exported in memory in the timestep layout given: the one of the files
/// the predictions stand beside (measured rows, or what will be deployed), as the predictor tells the layouts apart.
/// </summary>
internal static class PredictedLatency
{
    /// <summary>The predicted measurements to add to <paramref name="measured"/>.</summary>
    internal static IReadOnlyList<Measurement> For(string predictorPath, string candidatesPath, IReadOnlyList<Measurement> measured,
        TimestepLayout layout, IProgressObserver progress, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(measured);
        ArgumentNullException.ThrowIfNull(progress);
        LatencyPredictor predictor = LatencyPredictor.Load(predictorPath);
        IReadOnlyList<PredictorGroup> groups = predictor.For(layout, predictorPath, progress);
        if (!File.Exists(candidatesPath)) throw new FileNotFoundException($"{candidatesPath}: no such candidates file", candidatesPath);
        List<CandidateRow> candidates = CsvFile.ReadAll<CandidateRow>(candidatesPath)
            .Where(c => c.Status == CandidateStatus.Scored && c.CandidateId.Length > 0 && c.Architecture.Length > 0)
            .DistinctBy(c => c.CandidateId).ToList();
        var have = measured.Where(m => m.Row.Status == EvaluationStatus.Ok && m.Row.LatencyP50Ms is not null && m.Row.CandidateId.Length > 0)
            .Select(m => (m.Row.CandidateId, m.Row.Profile, m.Row.BatchSize ?? 0, m.Row.Precision)).ToHashSet();
        Dictionary<string, string> names = measured.Where(m => m.Row.CandidateId.Length > 0)
            .GroupBy(m => m.Row.CandidateId).ToDictionary(g => g.Key, g => g.First().Row.Model, StringComparer.Ordinal);
        var features = new Dictionary<(string, string), float[]?>(); // null: the network has no file of that precision
        var result = new List<Measurement>();
        progress.Begin("predict latency", groups.Count);
        int done = 0;
        foreach (PredictorGroup g in groups)
        {
            var todo = new List<CandidateRow>();
            var x = new List<float[]>();
            string? refused = null;
            foreach (CandidateRow c in candidates.Where(c => !have.Contains((c.CandidateId, g.Profile, g.BatchSize, g.Precision))))
            {
                cancel.ThrowIfCancellationRequested();
                if (!features.TryGetValue((c.CandidateId, g.Precision), out float[]? f))
                {
                    SnnArchitecture arch = Parse(c, candidatesPath);
                    ExportOptions export = Export(g.Precision, layout);
                    string? whyNot = export.WhyNot(arch.Macro); // an int8 file the network cannot have (docs/export.md)
                    refused = whyNot ?? refused;
                    features[(c.CandidateId, g.Precision)] = f = whyNot is null ? LatencyFeatures.Of(arch, export) : null;
                }
                if (f is null) continue;
                todo.Add(c);
                x.Add(f);
            }
            if (refused is not null) progress.Note($"{g.Key}: not predicted for candidates that cannot be exported as {g.Precision} ({refused})");
            double[] ms = predictor.Predict(g, x);
            for (int i = 0; i < todo.Count; i++)
            {
                CandidateRow c = todo[i];
                var row = new EvaluationRow
                {
                    Model = names.GetValueOrDefault(c.CandidateId) ?? c.CandidateId, CandidateId = c.CandidateId, Profile = g.Profile,
                    Precision = g.Precision, BatchSize = g.BatchSize, Status = EvaluationStatus.Ok, LatencyP50Ms = ms[i], Parameters = c.Parameters,
                };
                result.Add(new Measurement(row, predictorPath, c.Score, LatencySource.Predicted));
            }
            progress.Advance(++done);
        }
        progress.Note($"{result.Count} latencies predicted by {predictorPath} for {candidates.Count} scored candidates, {CsvFormat.Word(layout)} layout (measured rows kept)");
        return result;
    }

    private static SnnArchitecture Parse(CandidateRow c, string path)
    {
        try
        {
            return SnnArchitecture.Parse(c.Architecture).Validated();
        }
        catch (SettingsException ex)
        {
            throw new InvalidDataException($"{path}: candidate {c.CandidateId}: {ex.Message}", ex);
        }
    }

    private static ExportOptions Export(string precision, TimestepLayout layout) => precision switch
    {
        "fp32" => new ExportOptions(layout, WeightPrecision.Float32),
        "int8" => new ExportOptions(layout, WeightPrecision.Int8),
        _ => throw new InvalidDataException($"the predictor has a group of precision '{precision}'; only fp32 and int8 can be exported"),
    };
}
