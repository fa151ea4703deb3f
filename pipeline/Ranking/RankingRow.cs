namespace SpiKernel.Pipeline.Ranking;

/// <summary>Where a model stands on one profile and batch size.</summary>
public enum RankStatus
{
    /// <summary>Measured and within every constraint; ranked.</summary>
    Feasible,

    /// <summary>Measured but outside a constraint (the reason names it); kept, not ranked.</summary>
    Infeasible,

    /// <summary>No usable measurement on this profile (skipped, failed or absent; the reason says which).</summary>
    Unmeasured,
}

/// <summary>
/// One row of <c>ranking.csv</c>: one model × precision on one profile × batch size. Column order is the property
/// order (docs/csv.md).
/// </summary>
public sealed record RankingRow
{
    /// <summary>The architecture's id (empty for models that are not SpiKernel exports).</summary>
    public string CandidateId { get; init; } = "";

    /// <summary>Model name.</summary>
    public string Model { get; init; } = "";

    /// <summary>Weight storage (fp32, int8).</summary>
    public string Precision { get; init; } = "";

    /// <summary>Profile.</summary>
    public string Profile { get; init; } = "";

    /// <summary>Batch size.</summary>
    public int BatchSize { get; init; }

    /// <summary>feasible, infeasible or unmeasured.</summary>
    public RankStatus Status { get; init; }

    /// <summary>The constraint an infeasible row fails, or why a row is unmeasured.</summary>
    public string Reason { get; init; } = "";

    /// <summary>Pareto front among the feasible rows of this profile and batch size (1 = non-dominated).</summary>
    public int? Front { get; init; }

    /// <summary>Position among the feasible rows of this profile and batch size: front, then the objectives in order, then the name.</summary>
    public int? Position { get; init; }

    /// <summary>The recommended model of this profile.</summary>
    public bool Recommended { get; init; }

    /// <summary>Top-1 accuracy through ONNX Runtime.</summary>
    public double? AccuracyTop1 { get; init; }

    /// <summary>Lower end of the 95 % Wilson interval of <see cref="AccuracyTop1"/> over the test images measured.</summary>
    public double? AccuracyCi95Low { get; init; }

    /// <summary>Upper end of that interval.</summary>
    public double? AccuracyCi95High { get; init; }

    /// <summary>Test images the accuracy is over.</summary>
    public int? TestSamples { get; init; }

    /// <summary>Median latency, ms.</summary>
    public double? LatencyP50Ms { get; init; }

    /// <summary>95th percentile latency, ms.</summary>
    public double? LatencyP95Ms { get; init; }

    /// <summary>Weights.</summary>
    public long? Parameters { get; init; }

    /// <summary>Estimated energy per sample, µJ.</summary>
    public double? EnergySnnUj { get; init; }

    /// <summary>Training-free search score (from candidates.csv).</summary>
    public double? Score { get; init; }

    /// <summary>The objective values the ranking used, name=value;….</summary>
    public string Objectives { get; init; } = "";

    /// <summary>The file measured.</summary>
    public string ModelPath { get; init; } = "";

    /// <summary>The results CSV the measurement came from.</summary>
    public string Source { get; init; } = "";

    /// <summary>measured or predicted (rank --predictor); empty on unmeasured rows.</summary>
    public LatencySource? LatencySource { get; init; }

    /// <summary>
    /// Which test images top-1 got right, packed, on which data (results.csv's <c>correct_bits</c> and <c>test_data</c>):
    /// for comparing two rows image by image, unpacked only where two are compared. Not a column of ranking.csv.
    /// </summary>
    internal (string Data, string Bits)? Answers { get; init; }

    /// <summary>The <see cref="Answers"/> of a results row; null where it has no accuracy or no <c>correct_bits</c>.</summary>
    internal static (string Data, string Bits)? AnswersOf(Evaluators.Results.EvaluationRow row) =>
        row.AccuracyTop1 is not null && row.CorrectBits.Length > 0 ? (row.TestData, row.CorrectBits) : null;
}
