namespace SpiKernel.Pipeline.Training;

/// <summary>Receives training progress (the CLI draws a progress bar from it). Calls come from the training thread.</summary>
public interface ITrainingObserver
{
    /// <summary>Training (re)starts at <paramref name="firstEpoch"/> of <paramref name="epochs"/>.</summary>
    void Started(int firstEpoch, int epochs, int stepsPerEpoch);

    /// <summary>A step finished; loss and accuracy are the epoch's running means.</summary>
    void Step(int epoch, int step, double loss, double accuracy, int images);

    /// <summary>An epoch finished and its checkpoint is on disk.</summary>
    void EpochDone(EpochMetrics metrics);
}
