namespace SpiKernel.Pipeline.Search;

/// <summary>What became of one search candidate; written to <c>candidates.csv</c> as a lower-case word.</summary>
public enum CandidateStatus
{
    /// <summary>Built and scored.</summary>
    Scored,

    /// <summary>Building or scoring failed (the reason says why).</summary>
    Failed,

    /// <summary>More parameters than the budget allows; not scored.</summary>
    OverBudget,
}
