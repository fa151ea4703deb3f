using SpiKernel.Core.Csv;
using SpiKernel.Models.Network;
using SpiKernel.Pipeline.Data;
using SpiKernel.Models.Architecture;
using SpiKernel.Models.Search;
using SpiKernel.Pipeline.Ranking;
using SpiKernel.Pipeline.Run;
using SpiKernel.Pipeline.Stages;
using SpiKernel.Pipeline.Training;

namespace SpiKernel.Pipeline.Tests;

/// <summary>
/// A training on some of the training images validated on more of them: the held-out images, the revalidation of a
/// finished training, and older run folders, which keep the validation they ran with.
/// </summary>
public class ValidationImagesTests
{
    private static HashSet<string> Images(ImageDataset d) =>
        Enumerable.Range(0, d.Count).Select(i => Convert.ToBase64String(d.Pixels, i * d.ImageSize, d.ImageSize)).ToHashSet();

    [Fact]
    public void Should_TopTheValidationUpWithImagesNotTrainedOn_And_LeaveTheTrainingDrawAsItWas()
    {
        DataSplit all = FashionMnist.LoadEmbedded();
        DataSplit plain = all.WithTrainImages(1000, seed: 3);
        DataSplit topped = all.WithTrainImages(1000, seed: 3, validationImages: 600);
        Assert.Equal(plain.Train.Pixels, topped.Train.Pixels);
        (ImageDataset train, ImageDataset val) = plain.SplitValidation(0.05, seed: 3);
        (ImageDataset train2, ImageDataset val2) = topped.SplitValidation(0.05, seed: 3);
        Assert.Equal(train.Pixels, train2.Pixels);
        Assert.Equal(50, val.Count);
        Assert.Equal(600, val2.Count);
        Assert.Equal(val.Pixels, val2.Pixels.AsSpan(0, val.Pixels.Length).ToArray()); // the split first, then the held-out images
        Assert.All(val2.ClassCounts(), c => Assert.Equal(60, c)); // 5 of the split and 55 held out per class
        int shared = Images(val2).Intersect(Images(train2)).Count();
        Assert.True(shared <= 2, $"{shared} validation images are trained on"); // Fashion-MNIST has a few exact duplicates
        ImageDataset added = val2.Subset(Enumerable.Range(50, 550).ToArray(), "added");
        int drawn = Images(added).Intersect(Images(plain.Train)).Count();
        Assert.True(drawn <= 2, $"{drawn} of the added images are among the 1,000 drawn for the training and its split");
        Assert.Equal(val2.Labels, all.WithTrainImages(1000, seed: 3, validationImages: 600).SplitValidation(0.05, seed: 3).Validation.Labels);

        // never beyond what the draw left: 9,000 of 10,000 images trained, so at most 1,000 held out
        (_, ImageDataset most) = all.WithTrainImages(9000, seed: 3, validationImages: 5000).SplitValidation(0.05, seed: 3);
        Assert.Equal(450 + 1000, most.Count);
    }

    [Fact]
    public void Should_ValidateAFinishedTrainingAgain_When_ResumedWithMoreValidationImages()
    {
        using var dir = new TempDir();
        DataSplit all = FashionMnist.LoadEmbedded();
        DataSplit Data(int? validation) => all.WithTrainImages(200, seed: 4, validation) with { Test = all.Test.Subset(Enumerable.Range(0, 60).ToArray(), "small test") };
        var options = new TrainOptions(Epochs: 1, BatchSize: 32, Seed: 4, ValidationFraction: 0.1, Threads: 2);
        TrainResult first = Trainer.Run(TrainerTests.Tiny, Data(null), options, dir.Path);
        Assert.Equal(20, first.ValCount);
        byte[] weights = File.ReadAllBytes(dir.File(Trainer.CheckpointFile));

        var notes = new TrainerTests.NoteLog();
        TrainResult again = Trainer.Run(TrainerTests.Tiny, Data(300), options, dir.Path, resume: true, observer: notes);
        Assert.Equal(300, again.ValCount);
        Assert.Contains(notes.Lines, n => n.StartsWith("validated again on 300 images (the checkpoint's record was of 20)", StringComparison.Ordinal));
        Assert.Equal(weights, File.ReadAllBytes(dir.File(Trainer.CheckpointFile))); // validation never shapes the weights
        Assert.Equal(first.TestCorrect, again.TestCorrect);

        using var net = new SpikingNetwork(TrainerTests.Tiny);
        Trainer.LoadWeights(net, dir.File(Trainer.CheckpointFile));
        (_, int correct, int count) = Trainer.Evaluate(net, Data(300).SplitValidation(0.1, seed: 4).Validation, 64);
        EpochMetrics row = Assert.Single(CsvFile.ReadAll<EpochMetrics>(dir.File(Trainer.MetricsFile)));
        Assert.Equal((double)correct / count, row.ValAccuracy, 1e-12);
        Assert.Equal(row.ValAccuracy, again.Epochs[^1].ValAccuracy);
        Assert.Equal(300, TrainState.Load(dir.File(Trainer.StateFile)).ValCount);
        (_, bool[] right) = Trainer.Answers(net, Data(300).SplitValidation(0.1, seed: 4).Validation, 64);
        Assert.Equal(correct, right.Count(r => r));
        Assert.Equal(right, again.ValRight); // each image's answer, recorded for paired comparisons
        Assert.Equal(right, TrainState.Load(dir.File(Trainer.StateFile)).ValRight());

        var later = new TrainerTests.NoteLog(); // recorded: the next resume finds nothing to measure again
        Trainer.Run(TrainerTests.Tiny, Data(300), options, dir.Path, resume: true, observer: later);
        Assert.DoesNotContain(later.Lines, n => n.StartsWith("validated again", StringComparison.Ordinal));

        // a checkpoint of a version that did not record its validation count: measured again only where images are added
        string state = dir.File(Trainer.StateFile);
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(state))!.AsObject();
        Assert.True(json.Remove("ValCount"));
        File.WriteAllText(state, json.ToJsonString());
        var plain = new TrainerTests.NoteLog();
        Trainer.Run(TrainerTests.Tiny, Data(null), options, dir.Path, resume: true, observer: plain);
        Assert.DoesNotContain(plain.Lines, n => n.StartsWith("validated again", StringComparison.Ordinal)); // and the record stays as it was
        var topped = new TrainerTests.NoteLog();
        Trainer.Run(TrainerTests.Tiny, Data(300), options, dir.Path, resume: true, observer: topped);
        Assert.Contains(topped.Lines, n => n.StartsWith("validated again on 300 images (the checkpoint's record was of an unrecorded number of)", StringComparison.Ordinal));
    }

    [Fact]
    public void Should_CompareEachSizeWithTheBestImageByImage_When_TheStudyValidatesThemOnTheSameImages()
    {
        using var dir = new TempDir();
        var training = new TrainOptions(Epochs: 1, BatchSize: 32, Seed: 4, ValidationFraction: 0.05, Threads: 2);
        var options = new KernelStudyOptions(TrainerTests.Tiny, KernelSet.Parse("1,3"), training, dir.Path, "embedded", ExplicitShape: true,
            TrainImages: 300, ValidationImages: 200);
        KernelStudyResult study = new KernelStudyStage().Run(options, Core.NullProgress.Instance, default);
        Dictionary<int, IReadOnlyList<bool>> right = study.Points.ToDictionary(p => p.Kernel,
            p => TrainStage.ReadCompleted(Path.Combine(dir.Path, KernelStudyStage.SizeName(p.Kernel))).Training.ValRight!);
        Assert.All(right.Values, r => Assert.Equal(200, r.Count));
        KernelStudyPoint best = study.Points.OrderByDescending(p => p.ValAccuracy).ThenBy(p => p.Parameters).First(), other = study.Points.Single(p => p != best);
        Assert.Null(best.ValPairedP);
        Assert.Equal(RankStatistics.McNemarP(right[best.Kernel], right[other.Kernel]), other.ValPairedP);
        Assert.NotNull(other.ValPairedP);
        Assert.Equal(other.ValPairedP, Core.Csv.CsvFile.ReadAll<KernelStudyPoint>(Path.Combine(dir.Path, KernelStudyStage.CsvFile)).Single(p => p.Kernel == other.Kernel).ValPairedP);
    }

    [Fact]
    public void Should_LeaveAFinishedStudyAsItWas_When_AnImageCountIsBad()
    {
        using var dir = new TempDir();
        StageMarker.Write(dir.Path, "kernel-study", "a finished study");
        var options = new KernelStudyOptions(TrainerTests.Tiny, KernelSet.Parse("1,3"), new TrainOptions(Epochs: 1), dir.Path, "embedded", TrainImages: 300, ValidationImages: 0);
        var ex = Assert.Throws<Core.SettingsException>(() => new KernelStudyStage().Run(options, Core.NullProgress.Instance, default));
        Assert.Equal("the number of validation images must be at least 1 (got 0)", ex.Message);
        Assert.True(StageMarker.Matches(dir.Path, "kernel-study", "a finished study")); // was cleared before the count was read
        Assert.Equal([StageMarker.PathIn(dir.Path, "kernel-study")], Directory.GetFileSystemEntries(dir.Path));
    }

    [Theory]
    [InlineData(10, 2, 0.03857421875)] // 2·P(X ≤ 2), X ~ Binomial(12, ½) = 2·79/4096
    [InlineData(3, 3, 1.0)]
    [InlineData(0, 0, 1.0)]            // they never disagree: nothing tells them apart
    public void Should_GiveMcNemarsExactP_When_TwoClassifiersAnsweredTheSameImages(int onlyA, int onlyB, double expected)
    {
        bool[] a = [.. Enumerable.Repeat(true, onlyA), .. Enumerable.Repeat(false, onlyB), true, true, false], b = [.. Enumerable.Repeat(false, onlyA), .. Enumerable.Repeat(true, onlyB), true, true, false];
        Assert.Equal(expected, RankStatistics.McNemarP(a, b)!.Value, 12);
        Assert.Null(RankStatistics.McNemarP(a, b[1..])); // not the same images
        // many disagreements: the exact sum in logarithms agrees with the normal approximation (continuity-corrected)
        bool[] x = [.. Enumerable.Repeat(true, 1100), .. Enumerable.Repeat(false, 1000)], y = [.. x.Select(v => !v)];
        Assert.Equal(0.0307, RankStatistics.McNemarP(x, y)!.Value, 0.002);
    }

    // the run.json of a quick run written by the build of 4ffca9b, before kernel_study.validation_images existed: that
    // build wrote fingerprint 9b5e7590015b2c4b into its shard records (read from a run folder it made, not computed here)
    private const string OlderRunJson = """
        {"spikernel_version": "0.1.0", "preset": "quick", "seed": 1, "data": "embedded",
         "architecture": "cell=\"0332 0003 0003 0000\" kernels=1,3 input=1x28x28 channels=16 ratio=1 stem-stride=2 hidden=128 classes=10 cluster=10 sap=1 timesteps=4 dropout=0.2 tau=1.3333333333333333 v-threshold=1 v-reset=0 reset=hard detach-reset=true surrogate=atan alpha=2",
         "kernel_study": {"enabled": true, "sizes": [1, 3, 5, 7], "epochs": 1, "train_images": 5000},
         "search": {"kernel_sets": [], "cell": "backward", "candidates": 32, "budget_parameters": 250000, "batch": 32, "repeat": 1, "predictor": null},
         "selection": {"top": 3, "controls": 2},
         "training": {"epochs": 3, "train_images": null, "batch_size": 64, "optimizer": "adam", "learning_rate": null, "momentum": 0.9, "weight_decay": 0, "validation_fraction": 0.05, "threads": 0},
         "export": {"layout": "step", "precisions": ["fp32", "int8"], "verify_images": 128},
         "evaluation": {"profiles": ["cpu", "edge", "cuda"], "batch_sizes": [1, 32], "warmup": 5, "repeats": 30, "limit": null},
         "target": {"profile": "edge", "max_latency_ms": null, "max_parameters": null, "min_accuracy": null},
         "ranking": {"constraints": [], "objectives": []},
         "scale_out": {"shards": 1, "local_workers": null}}
        """;

    [Fact]
    public void Should_KeepAnOlderRunFoldersValidationAndFingerprint_When_ItsRunJsonLacksTheKey()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("run.json"), OlderRunJson);
        RunConfig older = RunConfigFile.LoadOfRun(dir.Path);
        Assert.Null(older.KernelStudy.ValidationImages); // as it ran, not the preset's 5000
        Assert.Equal("9b5e7590015b2c4b", RunConfigFile.Fingerprint(older));

        RunConfig now = RunPresets.Get(RunPresets.Quick);
        Assert.Equal(5000, now.KernelStudy.ValidationImages);
        Assert.Equal(["kernel_study.validation_images"], RunConfigFile.Differences(older, now));
        Assert.NotEqual("9b5e7590015b2c4b", RunConfigFile.Fingerprint(now));

        RunConfigFile.Save(now, dir.File("run.json")); // written by this version: the key is there, and read as written
        Assert.Equal(5000, RunConfigFile.LoadOfRun(dir.Path).KernelStudy.ValidationImages);
        Assert.Equal(5000, RunConfigFile.Parse("""{"kernel_study": {"epochs": 2}}""", "user.json").KernelStudy.ValidationImages); // a user's file takes the preset's
    }
}
