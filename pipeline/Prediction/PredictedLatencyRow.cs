using CsvHelper.Configuration.Attributes;
using SpiKernel.Pipeline.Ranking;

namespace SpiKernel.Pipeline.Prediction;

/// <summary>One row of a search's predicted-latency.csv: a scored candidate's predicted latency on one profile × batch × precision.</summary>
internal sealed record PredictedLatencyRow
{
    /// <summary>The architecture.</summary>
    [Index(0), Name("candidate_id")]
    public string CandidateId { get; init; } = "";

    /// <summary>Profile the predictor was trained for.</summary>
    [Index(1), Name("profile")]
    public string Profile { get; init; } = "";

    /// <summary>Batch size.</summary>
    [Index(2), Name("batch_size")]
    public int BatchSize { get; init; }

    /// <summary>fp32 or int8.</summary>
    [Index(3), Name("precision")]
    public string Precision { get; init; } = "";

    /// <summary>Predicted median latency.</summary>
    [Index(4), Name("latency_p50_ms")]
    public double LatencyP50Ms { get; init; }

    /// <summary>Always <c>predicted</c>: nothing here was measured.</summary>
    [Index(5), Name("latency_source")]
    public LatencySource LatencySource { get; init; } = LatencySource.Predicted;

    /// <summary>The predictor file.</summary>
    [Index(6), Name("predictor")]
    public string Predictor { get; init; } = "";

    /// <summary>The timestep layout the candidate was exported in for its features (empty in files of earlier versions: batched).</summary>
    [Index(7), Name("layout")]
    public string Layout { get; init; } = "";

    /// <summary>The predictions of <paramref name="predictorPath"/> for every scored candidate of <paramref name="candidatesPath"/>.</summary>
    public static List<PredictedLatencyRow> For(string predictorPath, string candidatesPath, Exporters.TimestepLayout layout,
        Core.IProgressObserver progress, CancellationToken cancel) =>
        PredictedLatency.For(predictorPath, candidatesPath, [], layout, progress, cancel)
            .Select(m => new PredictedLatencyRow
            {
                CandidateId = m.Row.CandidateId, Profile = m.Row.Profile, BatchSize = m.Row.BatchSize ?? 0, Precision = m.Row.Precision,
                LatencyP50Ms = Math.Round(m.Row.LatencyP50Ms ?? double.NaN, 4), Predictor = predictorPath, Layout = Core.Csv.CsvFormat.Word(layout),
            }).ToList();
}
