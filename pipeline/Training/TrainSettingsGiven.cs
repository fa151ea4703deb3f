using SpiKernel.Pipeline.Data;

namespace SpiKernel.Pipeline.Training;

/// <summary>
/// Training settings as a user gave them, null where not given. <see cref="Resolve"/> fills in the rest: from the
/// checkpoint a resume continues (its own settings), or from the defaults for a new training.
/// </summary>
/// <param name="Epochs">Epochs; on resume a different total trains on to it (<see cref="Stages.TrainStageOptions.NewEpochs"/>).</param>
/// <param name="BatchSize">Images per step.</param>
/// <param name="Optimizer">SGD or Adam.</param>
/// <param name="LearningRate">Peak learning rate.</param>
/// <param name="Momentum">SGD momentum.</param>
/// <param name="WeightDecay">Weight decay.</param>
/// <param name="Seed">Seed.</param>
/// <param name="ValidationFraction">Share held out for validation.</param>
/// <param name="Augment">Augmentation.</param>
/// <param name="Threads">Torch threads (0: every core).</param>
public sealed record TrainSettingsGiven(int? Epochs = null, int? BatchSize = null, OptimizerKind? Optimizer = null,
    double? LearningRate = null, double? Momentum = null, double? WeightDecay = null, int? Seed = null,
    double? ValidationFraction = null, Augmentation? Augment = null, int? Threads = null)
{
    /// <summary>The weight decay an optimiser gets when none is given: SNASNet's 5e-4 for SGD, none for Adam.</summary>
    public static double DefaultWeightDecay(OptimizerKind optimizer) => optimizer == OptimizerKind.Sgd ? 5e-4 : 0.0;

    /// <summary>
    /// The settings to train with. <paramref name="checkpoint"/> (a resume: <see cref="Stages.TrainStage.SavedSettings"/>)
    /// supplies every setting not given; its learning rate and weight decay go with its optimiser, so naming another
    /// optimiser takes that one's defaults; its thread count is capped at this machine's cores. Without a checkpoint
    /// the defaults of <see cref="TrainOptions"/> apply, the weight decay by optimiser.
    /// </summary>
    public TrainOptions Resolve(TrainOptions? checkpoint = null)
    {
        TrainOptions basis = checkpoint ?? new TrainOptions();
        OptimizerKind optimizer = Optimizer ?? basis.Optimizer;
        if (Momentum is not null && optimizer != OptimizerKind.Sgd)
            throw new Core.SettingsException($"--momentum is SGD's; this training uses {Core.Csv.CsvFormat.Word(optimizer)} (give --optimizer sgd, or leave --momentum out).");
        bool sameOptimizer = checkpoint is not null && optimizer == checkpoint.Optimizer;
        return new TrainOptions(
            Epochs: Epochs ?? basis.Epochs,
            BatchSize: BatchSize ?? basis.BatchSize,
            Optimizer: optimizer,
            LearningRate: LearningRate ?? (sameOptimizer ? checkpoint!.LearningRate : null),
            Momentum: Momentum ?? basis.Momentum,
            WeightDecay: WeightDecay ?? (sameOptimizer ? checkpoint!.WeightDecay : DefaultWeightDecay(optimizer)),
            FinalLearningRateFactor: basis.FinalLearningRateFactor,
            Seed: Seed ?? basis.Seed,
            ValidationFraction: ValidationFraction ?? basis.ValidationFraction,
            Augment: Augment ?? checkpoint?.Augment,
            // the checkpoint's thread count (its weights depend on it), at most this machine's cores
            Threads: Threads ?? (checkpoint is null ? 0 : Math.Min(checkpoint.Threads, Environment.ProcessorCount)));
    }
}
