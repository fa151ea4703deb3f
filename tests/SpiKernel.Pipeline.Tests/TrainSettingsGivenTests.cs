using SpiKernel.Pipeline.Data;
using SpiKernel.Pipeline.Training;

namespace SpiKernel.Pipeline.Tests;

public class TrainSettingsGivenTests
{
    private static readonly TrainOptions Checkpoint = new(Epochs: 3, BatchSize: 32, Optimizer: OptimizerKind.Sgd, LearningRate: 0.05,
        Momentum: 0.8, WeightDecay: 1e-3, FinalLearningRateFactor: 0.1, Seed: 7, ValidationFraction: 0.2, Augment: Augmentation.Parse("flip"), Threads: 1);

    [Fact]
    public void Should_TakeTheDefaults_When_NothingIsGivenForANewTraining()
    {
        Assert.Equal(new TrainOptions(), new TrainSettingsGiven().Resolve());
        // SGD named without a decay gets SNASNet's 5e-4; Adam none
        Assert.Equal(5e-4, new TrainSettingsGiven(Optimizer: OptimizerKind.Sgd).Resolve().WeightDecay);
        Assert.Null(new TrainSettingsGiven(Optimizer: OptimizerKind.Sgd).Resolve().LearningRate);
    }

    [Fact]
    public void Should_ContinueWithTheCheckpointsSettings_When_NothingIsGivenOnResume()
    {
        Assert.Equal(Checkpoint, new TrainSettingsGiven().Resolve(Checkpoint));
        // its optimizer named again keeps its lr and decay
        Assert.Equal(Checkpoint, new TrainSettingsGiven(Optimizer: OptimizerKind.Sgd).Resolve(Checkpoint));
    }

    [Fact]
    public void Should_ReplaceOnlyWhatIsGiven_When_Resumed()
    {
        TrainOptions resolved = new TrainSettingsGiven(Epochs: 9, Seed: 2, Augment: Augmentation.None).Resolve(Checkpoint);
        Assert.Equal(Checkpoint with { Epochs = 9, Seed = 2, Augment = Augmentation.None }, resolved);
    }

    [Fact]
    public void Should_RefuseMomentum_When_TheOptimizerIsAdam()
    {
        // Adam reads no momentum: a given one would be ignored without a word
        var ex = Assert.Throws<Core.SettingsException>(() => new TrainSettingsGiven(Momentum: 0.5).Resolve());
        Assert.Equal("--momentum is SGD's; this training uses adam (give --optimizer sgd, or leave --momentum out).", ex.Message);
        Assert.Throws<Core.SettingsException>(() => new TrainSettingsGiven(Optimizer: OptimizerKind.Adam, Momentum: 0.5).Resolve(Checkpoint));
        Assert.Equal(0.5, new TrainSettingsGiven(Momentum: 0.5).Resolve(Checkpoint).Momentum); // the checkpoint's SGD
    }

    [Fact]
    public void Should_TakeTheOtherOptimizersDefaults_When_AnotherOptimizerIsNamedOnResume()
    {
        TrainOptions resolved = new TrainSettingsGiven(Optimizer: OptimizerKind.Adam).Resolve(Checkpoint);
        Assert.Equal(OptimizerKind.Adam, resolved.Optimizer);
        Assert.Null(resolved.LearningRate); // Adam's default, not SGD's 0.05
        Assert.Equal(0.0, resolved.WeightDecay);
        Assert.Equal(Checkpoint.Seed, resolved.Seed);
    }

    [Fact]
    public void Should_CapTheCheckpointsThreads_When_ThisMachineHasFewerCores()
    {
        TrainOptions many = Checkpoint with { Threads = Environment.ProcessorCount + 3 };
        Assert.Equal(Environment.ProcessorCount, new TrainSettingsGiven().Resolve(many).Threads);
        Assert.Equal(Environment.ProcessorCount + 3, new TrainSettingsGiven(Threads: Environment.ProcessorCount + 3).Resolve(many).Threads);
    }
}
