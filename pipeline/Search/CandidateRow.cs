namespace SpiKernel.Pipeline.Search;

/// <summary>One row of <c>candidates.csv</c>; the column order is the property order.</summary>
public sealed record CandidateRow
{
    /// <summary>The architecture's id (<see cref="SpiKernel.Core.CandidateId"/>), the join key of every CSV.</summary>
    public string CandidateId { get; init; } = "";

    /// <summary>1 = highest score among the scored candidates; empty for failed or rejected ones.</summary>
    public int? Rank { get; init; }

    /// <summary>Full architecture text (accepted by <c>spikernel train --arch</c>).</summary>
    public string Architecture { get; init; } = "";

    /// <summary>Kernel set, e.g. 1,3,5.</summary>
    public string Kernels { get; init; } = "";

    /// <summary>The name of the kernel set when it is a shipped one.</summary>
    public string KernelSetName { get; init; } = "";

    /// <summary>forward or backward.</summary>
    public string CellType { get; init; } = "";

    /// <summary>The (pruned) cell matrix.</summary>
    public string Cell { get; init; } = "";

    /// <summary>Trainable parameters.</summary>
    public long Parameters { get; init; }

    /// <summary>Multiply-accumulates per image over all timesteps.</summary>
    public long Macs { get; init; }

    /// <summary>Mean log|det K| over the score batches; empty unless scored.</summary>
    public double? Score { get; init; }

    /// <summary>Seconds spent building and scoring this candidate.</summary>
    public double Seconds { get; init; }

    /// <summary>scored, failed or over_budget.</summary>
    public CandidateStatus Status { get; init; }

    /// <summary>Why a candidate failed or was rejected.</summary>
    public string Reason { get; init; } = "";
}
