using System.Globalization;
using SpiKernel.Models.Network;

namespace SpiKernel.Pipeline.Training;

/// <summary>Stopping a training at the first loss or weight that is not a finite number.</summary>
internal static partial class Trainer
{
    // every step's loss: a NaN or infinite one ends the training there (the remaining steps would only spread it)
    private static void CheckLoss(double loss, int epoch, int step, int stepsPerEpoch, double lr, TrainOptions options, string outDir)
    {
        if (!double.IsFinite(loss))
            throw Diverged(outDir, epoch, options, string.Create(CultureInfo.InvariantCulture,
                $"the loss of step {step} of {stepsPerEpoch} was {Describe(loss)} at learning rate {lr:0.###e0}"));
    }

    // at each epoch's end, before its checkpoint is written: an update after the last finite loss can still leave
    // non-finite weights or BatchNorm statistics, which no later loss of this training would show
    private static void CheckWeights(SpikingNetwork net, int epoch, TrainOptions options, string outDir)
    {
        if (RunCheckpoint.NotFinite(net) is { } name)
            throw Diverged(outDir, epoch, options, $"{name} holds values that are not finite numbers after its last step");
    }

    private static TrainingDivergedException Diverged(string outDir, int epoch, TrainOptions options, string what)
    {
        string kept = epoch > 1 ? $"the folder keeps epoch {epoch - 1}" : "no epoch was saved";
        return new TrainingDivergedException(string.Create(CultureInfo.InvariantCulture,
            $"the training in {outDir} diverged in epoch {epoch} of {options.Epochs}: {what}; {kept}. Train again with a lower learning rate (now {options.PeakLearningRate:0.###e0}: --lr, or a run's training.learning_rate) into another folder"));
    }

    private static string Describe(double x) => double.IsNaN(x) ? "NaN" : x > 0 ? "+∞" : "−∞";
}
