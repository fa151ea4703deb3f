using SpiKernel.Core;
using SpiKernel.Pipeline.Stages;
using SpiKernel.Pipeline.Training;

namespace SpiKernel.Pipeline.Tests;

/// <summary>A training's folder stays what it was when a resume of it is refused.</summary>
public class TrainStageResumeTests
{
    [Fact]
    public void Should_KeepAFinishedTrainingFinished_When_ItsResumeIsRefused()
    {
        // train --resume --lr … on a finished candidate (the divergence message suggests a lower rate): the refusal cleared
        // the completion marker, and merge and every scheduler task after it then stopped on an "incomplete" unit
        using var dir = new TempDir();
        var options = new TrainStageOptions(TrainerTests.Tiny, new TrainOptions(Epochs: 1, BatchSize: 32, ValidationFraction: 0, Threads: 1), dir.Path, "embedded", TrainImages: 64);
        var stage = new TrainStage();
        stage.Run(options, NullProgress.Instance, default);
        Assert.True(stage.IsComplete(options));

        var refused = options with { Resume = true, Training = options.Training with { LearningRate = 1e-4 } };
        Assert.Contains("the checkpoint was trained with other settings", Assert.Throws<SettingsException>(() => stage.Run(refused, NullProgress.Instance, default)).Message);
        Assert.True(stage.IsComplete(options));
    }
}
