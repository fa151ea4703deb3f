using SpiKernel.Core.Csv;
using SpiKernel.Pipeline.Training;
using SpiKernel.Cli;

namespace SpiKernel.Pipeline.Tests;

public class CliTests
{
    internal static (int Code, string Out, string Err) Run(params string[] args)
    {
        TextWriter oldOut = Console.Out, oldErr = Console.Error;
        var o = new StringWriter();
        var e = new StringWriter();
        Console.SetOut(o);
        Console.SetError(e);
        try
        {
            return (Program.Main(args), o.ToString(), e.ToString());
        }
        finally
        {
            Console.SetOut(oldOut);
            Console.SetError(oldErr);
        }
    }

    internal static void AssertOneLineError((int Code, string Out, string Err) r, int code, string expected)
    {
        Assert.Equal(code, r.Code);
        string[] lines = r.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("spikernel: ", lines[0]);
        Assert.Contains(expected, lines[0]);
        Assert.DoesNotContain("   at ", r.Err);
    }

    [Theory]
    [InlineData("snasnet-cifar10", "19520356")]
    [InlineData("fmnist-small", "1002372")]
    [InlineData("fmnist-found", "997060")]
    public void Should_PrintExactParameterCount_When_ArchParamsIsRun(string preset, string expected)
    {
        var r = Run("arch", "params", "--preset", preset);
        Assert.Equal(0, r.Code);
        Assert.Equal(expected, r.Out.Split('\n')[0].Trim());
    }

    [Fact]
    public void Should_ApplyKnobsOverPreset_When_GivenOnCommandLine()
    {
        var r = Run("arch", "params", "--preset", "fmnist-small", "--hidden", "128", "--kernels", "1,3", "--cell", "0303 0030 2002 0200");
        // 1,002,372 − 3136·128 − 128·100 (fc1 and fc2 shrink)
        Assert.Equal((1_002_372 - 3136 * 128 - 128 * 100).ToString(), r.Out.Split('\n')[0].Trim());
        Assert.Contains("hidden=128", r.Out);
    }

    [Fact]
    public void Should_AcceptArchitectureFile_When_ArchNamesOne()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("a.txt"), "cell=\"0303 0030 2002 0200\" kernels=1,3 input=3x32x32 channels=128 ratio=2 stem-stride=1 hidden=1024 sap=4 timesteps=5\n");
        var r = Run("arch", "params", "--arch", dir.File("a.txt"));
        Assert.Equal("19520356", r.Out.Split('\n')[0].Trim());
    }

    [Theory]
    [InlineData(new[] { "train", "--bogus" }, "Unrecognized command or argument '--bogus'")]
    [InlineData(new[] { "explore-kernels", "--kernels", "1,3" }, "Unrecognized command or argument '--kernels'")] // --sizes; was accepted and ignored
    [InlineData(new[] { "arch", "params", "--input", "1x28x-28" }, "--input must be CxHxW")]
    [InlineData(new[] { "arch", "params", "--cell", "0303 0030" }, "must be 4 rows of 4 operation codes")]
    [InlineData(new[] { "arch", "params", "--kernels", "1,2" }, "Kernel size 2 is not allowed")]
    [InlineData(new[] { "arch", "params", "--preset", "huge" }, "Unknown preset 'huge'")]
    [InlineData(new[] { "arch", "params", "--hidden", "many" }, "--hidden must be a whole number from -2,147,483,648 to 2,147,483,647 (got 'many')")]
    [InlineData(new[] { "arch", "params", "--channels", "99999999999" }, "--channels must be a whole number from -2,147,483,648 to 2,147,483,647 (got '99999999999')")]
    [InlineData(new[] { "arch", "params", "--channels", "65536", "--ratio", "65536" }, "Cell 2 would have 2·C·r = 8,589,934,592 channels (C 65536, r 65536); at most 1,048,576.")] // wrapped round to 0 channels
    [InlineData(new[] { "arch", "params", "--cluster", "2000000000" }, "The classifier is too wide: hidden 128, 10 classes × cluster 2,000,000,000 output neurons")]
    [InlineData(new[] { "arch", "params", "--arch", "/nonexistent/archtecture.txt" }, "--arch /nonexistent/archtecture.txt: no such file (and not architecture text")]
    [InlineData(new[] { "train", "--epochs", "0" }, "--epochs must be at least 1")]
    [InlineData(new[] { "train", "--optimizer", "rmsprop" }, "--optimizer must be sgd or adam")]
    [InlineData(new[] { "train", "--dataset", "mnist2" }, "--dataset must be")]
    [InlineData(new[] { "bench", "export", "--batch", "0" }, "--batch sizes must be between 1 and 10000")]
    [InlineData(new[] { "bench", "export", "--batch", "1,x" }, "--batch: 'x' is not a whole number")]
    [InlineData(new[] { "bench", "export", "--rounds", "0" }, "--rounds must be at least 1")]
    [InlineData(new[] { "bench", "export", "--networks", "resnet" }, "--networks: unknown network 'resnet'; known: quickstart, forward cell, backward cell")]
    [InlineData(new[] { "evaluate", "m.onnx", "--out", "r.csv", "--duration", "1e20" }, "--duration must be a number of seconds above 0 and at most 86400 (got 1E+20)")] // was a crash in TimeSpan
    [InlineData(new[] { "evaluate", "m.onnx", "--out", "" }, "--out needs a value, not an empty one")] // was a crash in Path
    [InlineData(new[] { "rank", " " }, "the results argument of rank is empty")]
    // options nothing would read are refused, not ignored
    [InlineData(new[] { "evaluate", "m.onnx", "--out", "r.csv", "--no-accuracy", "--limit", "5" }, "--limit is read only without --no-accuracy")]
    [InlineData(new[] { "export", "run", "--out", "m.onnx", "--verify-images", "10" }, "--verify-images is read only with --verify; here it would be ignored.")]
    [InlineData(new[] { "rank", "r.csv", "--predict-layout", "step" }, "--predict-layout is read only with --predictor")]
    [InlineData(new[] { "explore-kernels", "--val-images", "500" }, "--val-images is read only with --train-images")]
    [InlineData(new[] { "explore-kernels", "--train-images", "100", "--val-images", "0" }, "the number of validation images must be at least 1 (got 0)")]
    [InlineData(new[] { "train", "--momentum", "0.5" }, "--momentum is SGD's; this training uses adam")]
    [InlineData(new[] { "run", "--cpus", "16" }, "--cpus is read only with --emit")]
    [InlineData(new[] { "run", "--emit", "slurm", "--stage", "train" }, "--stage is read only by a task itself, not with --emit")]
    [InlineData(new[] { "run", "--emit", "k8s", "--partition", "gpu" }, "--partition is read only with --emit slurm")]
    [InlineData(new[] { "run", "--print-config", "--threads", "2" }, "--threads is read only by a run, not with --print-config")]
    [InlineData(new[] { "run", "--stage", "evaluate", "--threads", "2" }, "--threads is read only by the trainings (a whole run, --stage kernel-study or --stage train)")]
    [InlineData(new[] { "bench", "search-quality", "--input", "3x32x32", "--out", "/nonexistent/sq" }, "The architecture takes 3x32x32 inputs but the data (")] // was a crash after every score failed
    [InlineData(new[] { "predictor", "dataset", "--out", "d", "--profiles", "," }, "--profiles names no provider or profile")]
    [InlineData(new[] { "predictor", "dataset", "--out", "d", "--no-int8", "--precision", "int8" }, "--precision int8 times the int8 files, and --no-int8 writes none")]
    [InlineData(new[] { "predictor", "dataset", "--out", "d", "--sap", "12", "--input", "1x96x96" }, "use sap 11 or less, or export fp32 only (give --no-int8 for float files only)")] // was after the first file
    public void Should_PrintOneLineAndExit2_When_ArgumentsAreBad(string[] args, string expected) =>
        AssertOneLineError(Run(args), ExitCodes.Usage, expected);

    [Fact]
    public void Should_ReadArchitectureFilesWithAByteOrderMark_And_RefuseBinaryOnes()
    {
        using var dir = new TempDir();
        string text = "cell=\"0303 0030 2002 0200\" kernels=1,3 input=3x32x32 channels=16 hidden=64 classes=10 cluster=10";
        File.WriteAllText(dir.File("bom.txt"), text, new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: true));
        File.WriteAllText(dir.File("utf16.txt"), text, System.Text.Encoding.Unicode);
        var inline = Run("arch", "params", "--arch", text);
        Assert.Equal(0, inline.Code);
        string expected = inline.Out;
        Assert.StartsWith("181780", expected); // the parameter count, then the full architecture text
        Assert.Equal(expected, Run("arch", "params", "--arch", dir.File("bom.txt")).Out);
        Assert.Equal(expected, Run("arch", "params", "--arch", dir.File("utf16.txt")).Out);

        File.WriteAllBytes(dir.File("model.onnx"), [0x08, 0x08, 0x12, 0x00, 0x3A, 0x01]);
        AssertOneLineError(Run("arch", "params", "--arch", dir.File("model.onnx")), ExitCodes.Usage, $"--arch {dir.File("model.onnx")}: a binary file, not architecture text");
    }

    [Fact]
    public void Should_PrintOneLineAndExit1_When_DataFolderIsCorrupt()
    {
        using var dir = new TempDir();
        using var outDir = new TempDir();
        IdxWriter.FashionMnistFolder(dir.Path, 4, 4, gzip: false);
        File.WriteAllBytes(dir.File("train-images-idx3-ubyte"), [0, 0, 8, 3, 0, 0]);
        AssertOneLineError(Run("train", "--data", dir.Path, "--out", outDir.File("run")), ExitCodes.InputError, "train-images-idx3-ubyte: truncated");
        Assert.False(Directory.Exists(outDir.File("run"))); // no empty folder left behind
    }

    [Fact]
    public void Should_PrintOneLineAndExit1_When_OutputCannotBeWritten()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("file"), "not a folder");
        AssertOneLineError(Run("train", "--data", "embedded", "--out", Path.Combine(dir.File("file"), "run")), ExitCodes.InputError, $"{dir.File("file")} is a file, not a folder");
    }

    [Fact]
    public void Should_ShowHelp_When_HelpIsAsked()
    {
        foreach (string[] args in new[] { new[] { "--help" }, new[] { "train", "--help" }, new[] { "arch", "params", "--help" }, new[] { "bench", "train", "--help" } })
        {
            var r = Run(args);
            Assert.Equal(0, r.Code);
            Assert.Contains("Usage:", r.Out);
        }
    }

    [Theory]
    [InlineData(new[] { "frobnicate" }, "unknown command 'frobnicate'; known: run, train, explore-kernels")]
    [InlineData(new[] { "bench", "frob" }, "unknown bench command 'frob'; known: train, export")]
    public void Should_NameTheUnknownCommand_When_ACommandIsMisspelt(string[] args, string expected) =>
        AssertOneLineError(Run(args), ExitCodes.Usage, expected);

    [Fact]
    public void Should_RefuseOnnxTestFolders_When_Bundled()
    {
        // two test folders, each a model.onnx: the second copy failed with "already exists" after the publish
        using var dir = new TempDir();
        foreach (string name in new[] { "test_a", "test_b" })
        {
            Directory.CreateDirectory(Path.Combine(dir.Path, name, "test_data_set_0"));
            File.WriteAllBytes(Path.Combine(dir.Path, name, "model.onnx"), [0]);
        }
        AssertOneLineError(Run("bundle", "--rid", "linux-x64", "--providers", "cpu", "--models", dir.Path, "--out", dir.File("b")), ExitCodes.Usage,
            "test_a is an ONNX test folder; a bundle takes .onnx files or a folder of them");
        Assert.False(Directory.Exists(dir.File("b")));
    }

    [Fact]
    public void Should_RefuseToResume_When_TheFolderHoldsNothingToResume()
    {
        using var dir = new TempDir();
        var r = Run("train", "--resume", "--out", dir.Path, "--data", "embedded");
        AssertOneLineError(r, ExitCodes.InputError, "nothing to resume (no checkpoint.json); run without --resume");
        Assert.Empty(Directory.GetFiles(dir.Path));
        // the folder's own architecture.txt, emptied or garbled, is a corrupt input file (1) named as such, not a bad --arch (2)
        foreach (string text in new[] { "", "cell=\"03\"" })
        {
            File.WriteAllText(dir.File("architecture.txt"), text);
            AssertOneLineError(Run("train", "--resume", "--out", dir.Path, "--data", "embedded"), ExitCodes.InputError,
                $"{dir.File("architecture.txt")}: not an architecture this tool wrote (");
        }
    }

    [Fact]
    public void Should_ContinueTheFoldersNetwork_When_ResumedWithoutArchitectureOptions()
    {
        using var data = new TempDir();
        using var run = new TempDir();
        IdxWriter.FashionMnistFolder(data.Path, 128, 32, gzip: false);
        string[] common = ["--data", data.Path, "--out", run.Path, "--batch", "32", "--threads", "1", "--epochs", "1"];
        Assert.Equal(0, Run(["train", "--channels", "16", "--hidden", "16", "-T", "2", .. common]).Code);
        string architecture = File.ReadAllText(run.File("architecture.txt"));

        // no --channels/--hidden/-T: the network of run/architecture.txt, not the default preset's (refused as "a different
        // architecture" before); the training settings given again are the same
        var r = Run(["train", "--resume", .. common]);
        Assert.True(r.Code == 0, r.Err);
        Assert.Equal(architecture, File.ReadAllText(run.File("architecture.txt")));
        Assert.Single(CsvFile.ReadAll<EpochMetrics>(run.File("metrics.csv"))); // complete already: no epoch added

        // no --data either: the checkpoint's own data folder, not the default data
        r = Run(["train", "--resume", .. common.Skip(2)]);
        Assert.True(r.Code == 0, r.Err);
        Assert.Contains($"data   {Path.GetFullPath(data.Path)}: 128 train", r.Out);
    }

    [Fact]
    public void Should_ContinueWithTheCheckpointsSettings_And_TrainOnToNewEpochs_When_Resumed()
    {
        using var data = new TempDir();
        using var run = new TempDir();
        IdxWriter.FashionMnistFolder(data.Path, 128, 32, gzip: false);
        Assert.Equal(0, Run("train", "--channels", "16", "--hidden", "16", "-T", "2", "--data", data.Path, "--out", run.Path, "--batch", "32",
            "--threads", "1", "--epochs", "1", "--lr", "0.004", "--seed", "5", "--val", "0.1").Code);

        // nothing but the folder: its network, data and settings (not the defaults: 8 epochs, lr 2e-3, seed 1, batch 64)
        var r = Run("train", "--resume", "--out", run.Path);
        Assert.True(r.Code == 0, r.Err);
        Assert.Single(CsvFile.ReadAll<EpochMetrics>(run.File("metrics.csv")));
        Assert.Contains("complete: 1 epoch trained and tested already", r.Out); // the recorded test result, not a second test
        r = Run("train", "--resume", "--out", run.Path, "--optimizer", "adam"); // the same optimizer keeps the checkpoint's lr 0.004
        Assert.True(r.Code == 0, r.Err);

        // --epochs trains on to the new total, and the checkpoint says where the schedule changed
        r = Run("train", "--resume", "--out", run.Path, "--epochs", "3");
        Assert.True(r.Code == 0, r.Err);
        Assert.Contains("epochs 1 → 3: epochs 2–3 follow the cosine schedule of 3 epochs", r.Out);
        List<EpochMetrics> epochs = CsvFile.ReadAll<EpochMetrics>(run.File("metrics.csv"));
        Assert.Equal([1, 2, 3], epochs.Select(e => e.Epoch));
        Assert.True(epochs[1].LearningRate > epochs[0].LearningRate, "epoch 2 starts the longer schedule over: its learning rate is higher than the end of the 1-epoch one");
        string state = File.ReadAllText(run.File("checkpoint.json"));
        Assert.Contains("\"FromEpoch\": 2", state);
        Assert.Contains("\"ToEpochs\": 3", state);
        Assert.Contains("epochs=3 batch=32 optimizer=adam lr=0.004", state);

        AssertOneLineError(Run("train", "--resume", "--out", run.Path, "--epochs", "2"), ExitCodes.Usage, "3 epochs are trained already; --epochs 2 would take some back");

        // a run planned for 5 epochs, stopped after 3 (as a kill leaves it), then told to stop there: recorded at once,
        // though no epoch follows, so a later plain resume does not train on to 5
        string path = run.File("checkpoint.json");
        File.WriteAllText(path, File.ReadAllText(path).Replace("epochs=3 ", "epochs=5 ", StringComparison.Ordinal)
            .Replace("\"TotalEpochs\": 3", "\"TotalEpochs\": 5", StringComparison.Ordinal));
        r = Run("train", "--resume", "--out", run.Path, "--epochs", "3");
        Assert.True(r.Code == 0, r.Err);
        Assert.Contains("epochs 5 → 3: the training stops at the 3 epochs done", r.Out);
        state = File.ReadAllText(path);
        Assert.Contains("epochs=3 batch=32", state);
        Assert.Contains("\"FromEpoch\": 4", state);
        r = Run("train", "--resume", "--out", run.Path);
        Assert.True(r.Code == 0, r.Err);
        Assert.Equal(3, CsvFile.ReadAll<EpochMetrics>(run.File("metrics.csv")).Count);
        AssertOneLineError(Run("train", "--resume", "--out", run.Path, "--seed", "6"), ExitCodes.Usage, "the checkpoint was trained with other settings");

        // a damaged checkpoint description (a null where a value belongs) is bad input named as such, not a crash
        string good = File.ReadAllText(path);
        foreach (string key in new[] { "Options", "ScheduleChanges", "Architecture" })
        {
            File.WriteAllText(path, System.Text.RegularExpressions.Regex.Replace(good, $"\"{key}\": (\"[^\"]*\"|\\[[^\\]]*\\])", $"\"{key}\": null"));
            Assert.Contains($"\"{key}\": null", File.ReadAllText(path));
            AssertOneLineError(Run("train", "--resume", "--out", run.Path), ExitCodes.InputError, "checkpoint.json: not a checkpoint description");
        }
        File.WriteAllText(path, good);
    }

    [Fact]
    public void Should_PrintNumbersTheInvariantWay_When_TheProcessRunsUnderAnotherCulture()
    {
        // the bench tables wrote $"{x:F1}" in the current culture: 1,2 seconds under de-DE
        System.Globalization.CultureInfo saved = System.Globalization.CultureInfo.CurrentCulture;
        try
        {
            System.Globalization.CultureInfo.CurrentCulture = new System.Globalization.CultureInfo("de-DE");
            // read the invariant way too: '.' is de-DE's group separator, so 100000.5 was read as 1000005
            AssertOneLineError(Run("evaluate", "m.onnx", "--out", "r.csv", "--duration", "100000.5"), ExitCodes.Usage, "at most 86400 (got 100000.5)");
            var r = Run("bench", "search", "--candidates", "1", "--rounds", "1");
            Assert.True(r.Code == 0, r.Err);
            Assert.Matches(@"\d\.\d", r.Out);
            Assert.DoesNotMatch(@"(?<!\{[\d,]*)\d,\d", r.Out); // a decimal comma; kernel sets such as {1,3} aside
            Assert.Equal("de-DE", System.Globalization.CultureInfo.CurrentCulture.Name); // the caller's culture given back
        }
        finally
        {
            System.Globalization.CultureInfo.CurrentCulture = saved;
        }
    }

    [Fact]
    public void Should_RefuseToTrainOverACheckpoint_When_NotResuming()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("checkpoint.json"), "{}");
        File.WriteAllText(dir.File("metrics.csv"), "epoch\n1\n");
        var r = Run("train", "--out", dir.Path, "--data", "embedded", "--epochs", "1");
        AssertOneLineError(r, ExitCodes.Usage, "holds a training already (checkpoint.json): continue it with --resume, or train into another --out");
        Assert.Equal("{}", File.ReadAllText(dir.File("checkpoint.json"))); // nothing of it touched
        Assert.Equal("epoch\n1\n", File.ReadAllText(dir.File("metrics.csv")));
    }

    [Fact]
    public void Should_PrintOneLineNamingTheTraceFile_When_ABugThrows()
    {
        TextWriter oldErr = Console.Error;
        var e = new StringWriter();
        Console.SetError(e);
        try
        {
            Assert.Equal(ExitCodes.InternalError, CommandRunner.Run(_ => throw new NullReferenceException("a bug")));
        }
        finally
        {
            Console.SetError(oldErr);
        }
        string line = Assert.Single(e.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("spikernel: internal error (a bug, please report it): NullReferenceException: a bug; full trace in ", line);
        string trace = line[(line.IndexOf("full trace in ", StringComparison.Ordinal) + "full trace in ".Length)..].Trim();
        Assert.Contains("   at ", File.ReadAllText(trace));
        File.Delete(trace);
    }
}
