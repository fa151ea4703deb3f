using SpiKernel.Core;
using SpiKernel.Core.Csv;
using SpiKernel.Pipeline.Run;
using SpiKernel.Pipeline.Stages;
using SpiKernel.Pipeline.Training;

namespace SpiKernel.Pipeline.Tests;

/// <summary>A training whose loss stops being a number ends there, and a longer job takes that as the unit's outcome.</summary>
public class TrainingDivergenceTests
{
    // SGD at a learning rate of 1e10 with L2 decay 5e-4: each step multiplies the weights by about 1 − 1e10·5e-4 = −5e6,
    // so they overflow float32 within a few steps whatever the gradients
    private static readonly TrainOptions Exploding = new(Epochs: 2, BatchSize: 32, Optimizer: OptimizerKind.Sgd, LearningRate: 1e10, WeightDecay: 5e-4,
        Seed: 4, Threads: 2);

    [Fact]
    public void Should_StopAtTheFirstNonFiniteLoss_AndNotTrainAgainAsAUnit_When_TheTrainingDiverges()
    {
        using var dir = new TempDir();
        var options = new TrainStageOptions(TrainerTests.Tiny, Exploding, dir.Path, "embedded", TrainImages: 400);
        var stage = new TrainStage();

        var ex = Assert.Throws<TrainingDivergedException>(() => stage.Run(options, NullProgress.Instance, default));
        Assert.StartsWith($"the training in {dir.Path} diverged in epoch 1 of 2: the loss of step ", ex.Message);
        Assert.Contains("no epoch was saved", ex.Message);
        Assert.False(File.Exists(dir.File(Trainer.StateFile)) || File.Exists(dir.File(Trainer.CheckpointFile))); // nothing of the NaN weights kept
        Assert.False(stage.IsComplete(options));
        Assert.Equal(ex.Message, stage.Diverged(options));
        Assert.Null(stage.Diverged(options with { Training = Exploding with { LearningRate = 1e-3 } })); // other settings: not known to diverge

        // a longer job (run, kernel study) is told at once, without training again
        var notes = new TrainerTests.NoteLog();
        Assert.Equal(ex.Message, Assert.Throws<TrainingDivergedException>(() => stage.RunOrResume(options, notes, default)).Message);
        Assert.Empty(notes.Lines);
    }

    [Fact]
    public void Should_SayInOneLineWhereItDivergedAndExit1_When_TrainWasGivenFarTooHighALearningRate()
    {
        using var dir = new TempDir();
        (int code, string error) = RunFolders.Finish("train", "--data", "embedded", "--optimizer", "sgd", "--lr", "1e10", "--epochs", "1",
            "--channels", "16", "-T", "2", "--out", dir.Path);
        Assert.Equal(1, code);
        string line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"spikernel: the training in {dir.Path} diverged in epoch 1 of 1: the loss of step ", line);
        Assert.Contains("Train with a lower learning rate (now 1e10", line);
    }

    [Theory]
    [InlineData(null)] // two cores, one thread each: the trainings run in worker processes, which record the outcome
    [InlineData(1)] // in the run's own process
    public void Should_RecordEveryCandidateAsDivergedAndStopWithOneLine_When_NoneTrains(int? workers)
    {
        using var data = new TempDir();
        using var work = new TempDir();
        string config = RunFolders.TinyRun(data, work);
        string text = File.ReadAllText(config)
            .Replace("\"kernel_study\": { \"sizes\": [1, 3], \"epochs\": 1 }", "\"kernel_study\": { \"enabled\": false }", StringComparison.Ordinal)
            .Replace("\"search\": { ", "\"search\": { \"kernel_sets\": [\"1,3\"], ", StringComparison.Ordinal)
            .Replace("\"threads\": 1 }", "\"threads\": 1, \"optimizer\": \"sgd\", \"learning_rate\": 1e10, \"weight_decay\": 5e-4 }", StringComparison.Ordinal);
        File.WriteAllText(config, text);
        if (workers is { } n) config = RunFolders.WithLocalWorkers(config, n);
        string dir = work.File("run");

        (int code, string error) = RunFolders.Finish("run", "--config", config, "--out", dir);
        Assert.True(code == 2, error);
        Assert.Contains("the training of every selected candidate diverged", error);
        var layout = new RunLayout(dir);
        List<SelectionRow> selection = CsvFile.ReadAll<SelectionRow>(layout.Selection);
        Assert.Equal(3, selection.Count(s => s.Status == SelectionStatus.Diverged));
        Assert.All(selection.Where(s => s.Status == SelectionStatus.Diverged), s =>
        {
            Assert.StartsWith($"the training in {layout.TrainFolder(s.CandidateId)} diverged in epoch 1 of 2", s.Reason);
            Assert.Null(s.AccuracyTop1);
        });
        Assert.False(Directory.Exists(layout.Models)); // nothing exported

        // a resume does not train them again: the same line, quickly
        (int again, string error2) = RunFolders.Finish("run", "--resume", dir);
        Assert.Equal((2, error), (again, error2));
    }
}
