namespace SpiKernel.Evaluators.Results;

/// <summary>What became of one measurement; written to the CSV as a lower-case word.</summary>
public enum EvaluationStatus
{
    /// <summary>Measured.</summary>
    Ok,

    /// <summary>The provider cannot run here (the reason says why).</summary>
    Skipped,

    /// <summary>The model or its input was rejected (the reason says why).</summary>
    Failed,
}
