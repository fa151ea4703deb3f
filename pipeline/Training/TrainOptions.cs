using SpiKernel.Core;
using SpiKernel.Pipeline.Data;

namespace SpiKernel.Pipeline.Training;

/// <summary>The optimisers training offers.</summary>
public enum OptimizerKind
{
    /// <summary>SGD with momentum and coupled L2 weight decay (SNASNet's configuration: lr 0.1, momentum 0.9, decay 5e-4, which its script passes as dampening: docs/method.md).</summary>
    Sgd,

    /// <summary>Adam with decoupled weight decay (AdamW semantics; identical to Adam when the decay is 0).</summary>
    Adam,
}

/// <summary>
/// Training settings. Defaults are the quick run of <c>spikernel train</c>; SNASNet's own recipe is
/// <see cref="Snasnet"/> (SGD 0.1, momentum 0.9, cosine to lr·0.01, batch 64, 300 epochs, decay 5e-4 as its configuration
/// intends; its script passes the 5e-4 as dampening and so trains without decay, docs/method.md).
/// Weight decay applies to convolution and linear weights only, never to BatchNorm parameters or biases.
/// </summary>
/// <param name="Epochs">Passes over the training split.</param>
/// <param name="BatchSize">Images per step.</param>
/// <param name="Optimizer">SGD or Adam.</param>
/// <param name="LearningRate">Peak learning rate; null picks 0.1 for SGD and 2e-3 for Adam.</param>
/// <param name="Momentum">SGD momentum (Adam's β1 stays 0.9).</param>
/// <param name="WeightDecay">L2 (SGD) or decoupled (Adam) decay of weights.</param>
/// <param name="FinalLearningRateFactor">The cosine schedule ends at lr·this (SNASNet: 0.01).</param>
/// <param name="Seed">Seeds initial weights, shuffling, augmentation, dropout and the validation split.</param>
/// <param name="ValidationFraction">Share of the training images held out (class-stratified) for validation.</param>
/// <param name="Augment">Training-time augmentation; null picks the data set's default (crop-flip for CIFAR/TinyImageNet).</param>
/// <param name="Threads">Torch intra-op threads; 0 uses every core.</param>
public sealed record TrainOptions(
    int Epochs = 8,
    int BatchSize = 64,
    OptimizerKind Optimizer = OptimizerKind.Adam,
    double? LearningRate = null,
    double Momentum = 0.9,
    double WeightDecay = 0.0,
    double FinalLearningRateFactor = 0.01,
    int Seed = 1,
    double ValidationFraction = 0.05,
    Augmentation? Augment = null,
    int Threads = 0)
{
    /// <summary>SNASNet's configuration values, with the weight decay applied as intended.</summary>
    public static TrainOptions Snasnet { get; } = new(Epochs: 300, BatchSize: 64, Optimizer: OptimizerKind.Sgd,
        LearningRate: 0.1, Momentum: 0.9, WeightDecay: 5e-4, ValidationFraction: 0.0);

    /// <summary>The torch threads a training runs on: <see cref="Threads"/>, or every core when 0.</summary>
    public int EffectiveThreads => Threads > 0 ? Threads : Environment.ProcessorCount;

    /// <summary>The learning rate in effect at the start of the schedule.</summary>
    public double PeakLearningRate => LearningRate ?? (Optimizer == OptimizerKind.Sgd ? 0.1 : 2e-3);

    /// <summary>Cosine schedule: the learning rate at <paramref name="step"/> of <paramref name="totalSteps"/>.</summary>
    public double LearningRateAt(long step, long totalSteps)
    {
        double max = PeakLearningRate, min = max * FinalLearningRateFactor;
        double progress = totalSteps <= 1 ? 0 : Math.Min(1.0, (double)step / (totalSteps - 1));
        return min + 0.5 * (max - min) * (1 + Math.Cos(Math.PI * progress));
    }

    /// <summary>Throws <see cref="SettingsException"/> naming the bad setting.</summary>
    /// <param name="configSection">Null: name the command line's options (--epochs); else the keys of this section of a
    /// run configuration (training.epochs).</param>
    public void Validate(string? configSection = null)
    {
        // the command line's option, or the configuration file's key (training.epochs) when validating one
        string N(string option, string key) => configSection is null ? option : $"{configSection}.{key}";
        if (Epochs < 1) throw new SettingsException($"{N("--epochs", "epochs")} must be at least 1 (got {Epochs}).");
        if (BatchSize < 1) throw new SettingsException($"{N("--batch", "batch_size")} must be at least 1 (got {BatchSize}).");
        if (LearningRate is { } lr && !(lr > 0 && double.IsFinite(lr))) throw new SettingsException($"{N("--lr", "learning_rate")} must be a positive number (got {lr}).");
        if (!(Momentum >= 0 && Momentum < 1)) throw new SettingsException($"{N("--momentum", "momentum")} must be in [0, 1) (got {Momentum}).");
        if (!(WeightDecay >= 0 && double.IsFinite(WeightDecay))) throw new SettingsException($"{N("--weight-decay", "weight_decay")} must be ≥ 0 (got {WeightDecay}).");
        if (!(FinalLearningRateFactor > 0 && FinalLearningRateFactor <= 1)) throw new SettingsException($"The final learning-rate factor must be in (0, 1] (got {FinalLearningRateFactor}).");
        if (!(ValidationFraction >= 0 && ValidationFraction < 1)) throw new SettingsException($"{N("--val", "validation_fraction")} must be in [0, 1) (got {ValidationFraction}).");
        if (Threads < 0) throw new SettingsException($"{N("--threads", "threads")} must be ≥ 0 (got {Threads}).");
    }
}
