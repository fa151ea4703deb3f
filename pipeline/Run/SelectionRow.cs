using CsvHelper.Configuration.Attributes;

namespace SpiKernel.Pipeline.Run;

/// <summary>Why a candidate was picked for training: the best by score, or a random control from the same pool.</summary>
public enum SelectionRole
{
    /// <summary>Among the top K by the training-free score.</summary>
    Top,

    /// <summary>Drawn at random (seeded) from the rest of the scored pool, to test whether the score helped.</summary>
    Control,
}

/// <summary>What became of a selected candidate.</summary>
public enum SelectionStatus
{
    /// <summary>Chosen; training not finished yet.</summary>
    Selected,

    /// <summary>Trained (accuracy_top1 filled).</summary>
    Trained,

    /// <summary>Not trained: its measured latency on the target profile is over the budget (reason says by how much).</summary>
    OverLatency,

    /// <summary>Not trained: the same network as a candidate considered before it, spelt in another kernel set (reason names it).</summary>
    Duplicate,

    /// <summary>Its training diverged (a loss or weight not a finite number; reason says where): not exported, evaluated or ranked.</summary>
    Diverged,
}

/// <summary>One row of selection.csv (column order fixed by <c>Index</c>; documented in docs/run.md).</summary>
public sealed record SelectionRow
{
    /// <summary>The architecture.</summary>
    [Index(0), Name("candidate_id")]
    public string CandidateId { get; init; } = "";

    /// <summary>top or control.</summary>
    [Index(1), Name("role")]
    public SelectionRole Role { get; init; }

    /// <summary>Training-free score (SAHD; higher is better).</summary>
    [Index(2), Name("score")]
    public double? Score { get; init; }

    /// <summary>Rank of the score in the search (1 = best).</summary>
    [Index(3), Name("score_rank")]
    public int? ScoreRank { get; init; }

    /// <summary>Weights.</summary>
    [Index(4), Name("parameters")]
    public long Parameters { get; init; }

    /// <summary>Latency p50 of the untrained export on the target profile, batch 1 (empty when no target).</summary>
    [Index(5), Name("target_latency_ms")]
    public double? TargetLatencyMs { get; init; }

    /// <summary>selected, trained, over_latency, duplicate or diverged.</summary>
    [Index(6), Name("status")]
    public SelectionStatus Status { get; init; }

    /// <summary>Test accuracy after training (fraction), empty until trained.</summary>
    [Index(7), Name("accuracy_top1")]
    public double? AccuracyTop1 { get; init; }

    /// <summary>Why a candidate was not trained; empty otherwise.</summary>
    [Index(8), Name("reason")]
    public string Reason { get; init; } = "";

    /// <summary>Canonical architecture text.</summary>
    [Index(9), Name("architecture")]
    public string Architecture { get; init; } = "";

    /// <summary>Whether target_latency_ms was measured here or predicted (search.predictor, when the target cannot run here).</summary>
    [Index(10), Name("target_latency_source")]
    public Ranking.LatencySource? TargetLatencySource { get; init; }
}
