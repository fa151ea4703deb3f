using Onnx;
using SpiKernel.Cli;
using SpiKernel.Pipeline.Training;

namespace SpiKernel.Pipeline.Tests;

public class ExportCommandTests(TrainedRunFixture fixture) : IClassFixture<TrainedRunFixture>
{
    private readonly string _runPath = fixture.RunPath;

    [Theory]
    [InlineData("batched", "fp32")]
    [InlineData("step", "fp32")]
    [InlineData("batched", "int8")]
    [InlineData("step", "int8")]
    public void Should_WriteVerifiedOnnx_When_RunFolderIsExported(string layout, string precision)
    {
        using var outDir = new TempDir();
        string file = outDir.File("m.onnx");
        string[] quantize = precision == "int8" ? ["--quantize", "int8"] : [];
        var r = CliTests.Run(["export", _runPath, "--out", file, "--layout", layout, "--verify", "--verify-images", "40", "--data", "embedded", .. quantize]);
        Assert.True(r.Code == 0, r.Err + r.Out);
        // int8 is checked against TorchSharp's integer form (exact), and reports what it changes against the float network
        Assert.Contains(precision == "int8" ? "verified: ONNX Runtime and TorchSharp's integer form agree" : "verified: ONNX Runtime and TorchSharp agree", r.Out);
        if (precision == "int8") Assert.Matches(@"int8 changes accuracy by [+-]?\d+\.\d\d points against the float32 network", r.Out);
        Assert.Equal(["m.onnx"], Directory.GetFiles(outDir.Path, "m.onnx*").Select(Path.GetFileName)); // verified, then renamed: no .unverified left
        ModelProto m = ModelProto.Parser.ParseFrom(File.ReadAllBytes(file));
        var meta = m.MetadataProps.ToDictionary(p => p.Key, p => p.Value);
        Assert.Equal(TrainerTests.Tiny.ToString(), meta["spikernel.architecture"]);
        Assert.Equal("embedded (first 200/60)", meta["spikernel.dataset"]);
        Assert.Equal("0.286", meta["spikernel.normalization.mean"]);
        Assert.StartsWith("T-shirt/top\nTrouser", meta["spikernel.class_names"]);
        Assert.Equal(layout, meta["spikernel.layout"]);
        Assert.Equal(precision == "int8" ? "int8" : "float32", meta["spikernel.precision"]);
    }

    [Theory]
    [InlineData(256, 203, 214, true)]  // 11 images lost: within 5 %
    [InlineData(256, 201, 214, false)] // 13: beyond 12
    [InlineData(8, 5, 8, true)]        // 3 of 8: the least allowed
    [InlineData(8, 4, 8, false)]
    [InlineData(256, 230, 214, true)]  // a gain
    public void Should_RefuseAnInt8File_When_ItLosesMoreImagesThanWeightRoundingMay(int samples, int int8Right, int floatRight, bool passes)
    {
        static Exporters.VerificationResult Result(int n, int onnx, int torch, double maxDiff = 0.3) => new(n, maxDiff, 40, 10 * n, onnx, torch, 20, 0.2);
        Stages.ExportVerification v = new("test", Result(samples, int8Right, int8Right, 0), Result(samples, int8Right, floatRight));
        Assert.Equal(passes, v.Int8Failure() is null);
        Assert.Contains("non-finite", new Stages.ExportVerification("test", v.Deployed, Result(samples, 8, 8, double.NaN)).Int8Failure());
    }

    [Fact]
    public void Should_FailWithOneLineAndLeaveNoFile_When_CheckpointIsCorrupt()
    {
        using var outDir = new TempDir();
        using TempDir run = fixture.CopyRun();
        File.WriteAllBytes(Path.Combine(run.Path, Trainer.CheckpointFile), [1, 2, 3]);
        var r = CliTests.Run("export", run.Path, "--out", outDir.File("m.onnx"));
        CliTests.AssertOneLineError(r, ExitCodes.InputError, "not readable as this network's weights: damaged, or of another architecture");
        Assert.Empty(Directory.GetFiles(outDir.Path));
        // deleted: said so, by export and by a resumed training (which said "not a checkpoint of this architecture")
        File.Delete(Path.Combine(run.Path, Trainer.CheckpointFile));
        CliTests.AssertOneLineError(CliTests.Run("export", run.Path, "--out", outDir.File("m.onnx")), ExitCodes.InputError, "checkpoint.dat: no such checkpoint file");
        using (var net = new SpiKernel.Models.Network.SpikingNetwork(TrainerTests.Tiny))
            Assert.EndsWith("checkpoint.dat: the weights are missing (restore the file, or train again into another folder)",
                Assert.Throws<InvalidDataException>(() => Trainer.LoadWeights(net, Path.Combine(run.Path, Trainer.CheckpointFile))).Message);
        Assert.Empty(Directory.GetFiles(outDir.Path));
    }

    [Fact]
    public void Should_ExportTheCommittedWeights_When_AKillLeftThemStaged()
    {
        // a kill after checkpoint.json committed epoch N, before its weights were renamed into place: checkpoint.dat is
        // epoch N−1's (here garbage, so that reading it fails) and epoch N's wait staged beside it
        using TempDir run = fixture.CopyRun();
        string weights = Path.Combine(run.Path, Trainer.CheckpointFile);
        int epochs = TrainState.Load(Path.Combine(run.Path, Trainer.StateFile)).CompletedEpochs;
        string staged = $"{weights}.e{epochs}.tmp";
        File.Move(weights, staged);
        File.WriteAllBytes(weights, [1, 2, 3]);
        using (RunCheckpoint checkpoint = RunCheckpoint.Load(run.Path))
            Assert.Equal(staged, checkpoint.WeightsPath);
        using var outDir = new TempDir();
        var r = CliTests.Run("export", run.Path, "--out", outDir.File("m.onnx"), "--verify", "--verify-images", "8", "--data", "embedded");
        Assert.True(r.Code == 0, r.Err + r.Out);
        Assert.True(File.Exists(staged), "an export reads the folder; only a resumed training moves its files");
    }

    [Fact]
    public void Should_WriteNothing_When_TheVerifyDataCannotBeRead()
    {
        // the data was read after the export: an unverified file stayed behind, though nothing had been verified
        using var outDir = new TempDir();
        using var empty = new TempDir();
        string file = outDir.File("m.onnx");
        CliTests.AssertOneLineError(CliTests.Run("export", _runPath, "--out", file, "--verify", "--data", empty.Path), ExitCodes.InputError, empty.Path);
        Assert.Empty(Directory.GetFiles(outDir.Path, "*m.onnx*"));
    }

    [Fact]
    public void Should_FailWithOneLineAndLeaveNoFile_When_TheTrainingDiverged()
    {
        using TempDir run = fixture.CopyRun();
        string weights = Trainer.CommittedWeights(run.Path);
        using (var net = new SpiKernel.Models.Network.SpikingNetwork(SpiKernel.Models.Architecture.SnnArchitecture.Parse(TrainState.Load(run.File(Trainer.StateFile)).Architecture)))
        {
            Trainer.LoadWeights(net, weights);
            using (TorchSharp.torch.no_grad())
                net.parameters().Last().fill_(float.NaN); // one layer, as a diverged training leaves it
            net.save(weights);
        }
        foreach (string[] precision in new[] { Array.Empty<string>(), ["--quantize", "int8"] }) // fp32 reported a mismatch of NaN logits (exit 3), int8 rounded the NaNs to 0 and passed
        {
            string output = run.File($"m{precision.Length}.onnx");
            var r = CliTests.Run(["export", run.Path, "--out", output, "--verify", "--data", "embedded", "--verify-images", "32", .. precision]);
            CliTests.AssertOneLineError(r, ExitCodes.InputError, "holds NaN or infinite values: the training diverged");
            Assert.False(File.Exists(output));
        }
    }

    [Fact]
    public void Should_FailWithOneLine_When_CheckpointDoesNotMatchArchitecture()
    {
        using var outDir = new TempDir();
        using TempDir run = fixture.CopyRun();
        string state = Path.Combine(run.Path, Trainer.StateFile);
        File.WriteAllText(state, File.ReadAllText(state).Replace("hidden=16", "hidden=24"));
        var r = CliTests.Run("export", run.Path, "--out", outDir.File("m.onnx"));
        CliTests.AssertOneLineError(r, ExitCodes.InputError, "not readable as this network's weights: damaged, or of another architecture");
        Assert.Empty(Directory.GetFiles(outDir.Path));
    }

    [Fact]
    public void Should_FailWithOneLine_When_CheckpointIsMissing()
    {
        using var outDir = new TempDir();
        var r = CliTests.Run("export", Path.Combine(outDir.Path, "nothing"), "--out", outDir.File("m.onnx"));
        CliTests.AssertOneLineError(r, ExitCodes.InputError, "no such checkpoint or run folder");
    }

    [Fact]
    public void Should_FailWithOneLine_When_OutputFolderIsMissing()
    {
        var r = CliTests.Run("export", _runPath, "--out", "/nonexistent-spikernel/m.onnx");
        CliTests.AssertOneLineError(r, ExitCodes.InputError, "does not exist");
    }

    [Fact]
    public void Should_FailWithOneLine_When_LayoutIsUnknown()
    {
        using var outDir = new TempDir();
        CliTests.AssertOneLineError(CliTests.Run("export", _runPath, "--out", outDir.File("m.onnx"), "--layout", "diagonal"), ExitCodes.Usage, "--layout must be batched or step");
    }
}
