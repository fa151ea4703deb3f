using SpiKernel.Core;
using SpiKernel.Core.Csv;
using SpiKernel.Models.Architecture;
using SpiKernel.Models.Search;
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
        Assert.Contains("Train again with a lower learning rate (now 1e10: --lr, or a run's training.learning_rate) into another folder", line);
    }

    [Theory]
    [InlineData(2)] // in two worker processes, which record the outcome
    [InlineData(1)] // in the run's own process
    public void Should_RecordEveryCandidateAsDivergedAndStopWithOneLine_When_NoneTrains(int workers)
    {
        using var data = new TempDir();
        using var work = new TempDir();
        string config = RunFolders.TinyRun(data, work);
        string text = File.ReadAllText(config)
            .Replace("\"kernel_study\": { \"sizes\": [1, 3], \"epochs\": 1 }", "\"kernel_study\": { \"enabled\": false }", StringComparison.Ordinal)
            .Replace("\"search\": { ", "\"search\": { \"kernel_sets\": [\"1,3\"], ", StringComparison.Ordinal)
            .Replace("\"threads\": 1 }", "\"threads\": 1, \"optimizer\": \"sgd\", \"learning_rate\": 1e10, \"weight_decay\": 5e-4 }", StringComparison.Ordinal);
        File.WriteAllText(config, text);
        config = RunFolders.WithLocalWorkers(config, workers);
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
        string Since(int from) => File.ReadAllText(layout.Log)[from..];
        int before = File.ReadAllText(layout.Log).Length;
        Assert.Equal(2, RunFolders.Finish("run", "--resume", dir).Code); // the resume above trained nothing
        Assert.DoesNotMatch(@"train [0-9a-f]{12}, 2 epochs", Since(before)); // no training began

        // unless a candidate's record is deleted: then it trains again (here, to diverge again)
        SelectionRow first = selection.First(s => s.Status == SelectionStatus.Diverged);
        File.Delete(Path.Combine(layout.TrainFolder(first.CandidateId), ".stage-train.diverged.json"));
        before = File.ReadAllText(layout.Log).Length;
        Assert.Equal(2, RunFolders.Finish("run", "--resume", dir).Code);
        Assert.Contains($"train {first.CandidateId}, 2 epochs", Since(before), StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(layout.TrainFolder(first.CandidateId), ".stage-train.diverged.json")));
    }

    [Fact]
    public void Should_ProposeFromTheSizesThatTrained_When_OneSizeOfTheKernelStudyDiverged()
    {
        using var dir = new TempDir();
        var training = new TrainOptions(Epochs: 1, BatchSize: 32, Seed: 4, ValidationFraction: 0.1, Threads: 2);
        var options = new KernelStudyOptions(TrainerTests.Tiny, KernelSet.Parse("1,3,5"), training, dir.Path, "embedded", ExplicitShape: true, TrainImages: 300);
        var stage = new KernelStudyStage();
        stage.Run(options, NullProgress.Instance, default);

        // k = 3's training as if it had diverged (no learning rate makes one size of three diverge on every machine)
        TrainStageOptions k3 = KernelStudyStage.SizeOptions(options, 3);
        const string why = "the training in k3 diverged in epoch 1 of 1: the loss of step 5 of 9 was NaN at learning rate 2e-3; no epoch was saved.";
        StageMarker.Clear(k3.OutputDirectory, "train");
        StageMarker.Write(k3.OutputDirectory, "train.diverged", TrainStage.Identity(k3), why);
        foreach (string png in Directory.GetFiles(dir.Path, "*.png")) File.Delete(png); // drawn again, without k = 3
        var notes = new TrainerTests.NoteLog();
        KernelStudyResult study = stage.Run(options, notes, default);

        Assert.Contains($"k = 3: left out of the proposals: {why}", notes.Lines);
        KernelStudyPoint diverged = study.Points.Single(p => p.Kernel == 3);
        Assert.Equal((KernelStudyStatus.Diverged, why, SnnArchitecture.Parse(File.ReadAllText(Path.Combine(k3.OutputDirectory, Trainer.ArchitectureFile))).CandidateId),
            (diverged.Status, diverged.Reason, diverged.CandidateId));
        Assert.True(double.IsNaN(diverged.Accuracy));
        Assert.All(study.Proposed, s => Assert.DoesNotContain(3, s.Set.Sizes));
        Assert.All(study.Proposed, s => Assert.Contains("validation accuracy", s.Why, StringComparison.Ordinal)); // the trained sizes were validated
        Assert.Equal([1, 5], study.Proposed.SelectMany(s => s.Set.Sizes).Distinct().Order());
        KernelStudyPoint written = CsvFile.ReadAll<KernelStudyPoint>(Path.Combine(dir.Path, KernelStudyStage.CsvFile)).Single(p => p.Kernel == 3);
        Assert.Equal((KernelStudyStatus.Diverged, why), (written.Status, written.Reason));
        Assert.True(File.Exists(Path.Combine(dir.Path, "accuracy-vs-kernel.png")));
    }

    [Fact]
    public void Should_StopWithOneLine_When_EverySizeOfTheKernelStudyDiverges()
    {
        using var dir = new TempDir();
        var options = new KernelStudyOptions(TrainerTests.Tiny, KernelSet.Parse("1,3"), Exploding with { Epochs = 1 }, dir.Path, "embedded", ExplicitShape: true, TrainImages: 300);
        var ex = Assert.Throws<SettingsException>(() => new KernelStudyStage().Run(options, NullProgress.Instance, default));
        Assert.StartsWith($"the training of every kernel size of the study diverged; k = 1: the training in {Path.Combine(dir.Path, "k1")} diverged in epoch 1 of 1", ex.Message);
        Assert.False(File.Exists(Path.Combine(dir.Path, KernelStudyStage.CsvFile)));
    }
}
