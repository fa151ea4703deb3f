namespace SpiKernel.Pipeline.Training;

/// <summary>One row of <c>metrics.csv</c>: what an epoch achieved and cost. Column order is the property order.</summary>
public sealed record EpochMetrics
{
    /// <summary>The trained architecture's id (joins with <c>candidates.csv</c> and <c>results.csv</c>).</summary>
    public string CandidateId { get; init; } = "";

    /// <summary>1-based epoch.</summary>
    public int Epoch { get; init; }

    /// <summary>Mean cross-entropy over the epoch's training batches.</summary>
    public double TrainLoss { get; init; }

    /// <summary>Top-1 accuracy on the training batches as they were seen (train mode).</summary>
    public double TrainAccuracy { get; init; }

    /// <summary>Cross-entropy on the validation split (eval mode); NaN when there is none.</summary>
    public double ValLoss { get; init; }

    /// <summary>Top-1 accuracy on the validation split; NaN when there is none.</summary>
    public double ValAccuracy { get; init; }

    /// <summary>Learning rate at the epoch's last step.</summary>
    public double LearningRate { get; init; }

    /// <summary>Wall-clock seconds of the training part of the epoch.</summary>
    public double Seconds { get; init; }

    /// <summary>Training images per second.</summary>
    public double ImagesPerSecond { get; init; }

    /// <summary>Resident memory of the process at the end of the epoch, MiB.</summary>
    public double ResidentMib { get; init; }
}
