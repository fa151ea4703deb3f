namespace SpiKernel.Pipeline.Ranking;

/// <summary>Where a ranking row's latency comes from (written <c>measured</c> or <c>predicted</c>).</summary>
public enum LatencySource
{
    /// <summary>Measured by <c>spikernel evaluate</c>.</summary>
    Measured,

    /// <summary>Predicted by a latency predictor (<c>rank --predictor</c>) for a candidate with no measured row there.</summary>
    Predicted,
}
