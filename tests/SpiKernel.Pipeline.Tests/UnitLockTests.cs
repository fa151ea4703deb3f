using SpiKernel.Cli;
using SpiKernel.Pipeline.Stages;

namespace SpiKernel.Pipeline.Tests;

/// <summary>A unit another process is writing (its lock held) is refused with one line, and nothing of it is touched.</summary>
public class UnitLockTests(TrainedRunFixture fixture) : IClassFixture<TrainedRunFixture>
{
    [Fact]
    public void Should_StopWithOneLine_When_AnotherProcessTrainsTheSameFolder()
    {
        using var dir = new TempDir();
        using (UnitLock.For(dir.Path, "train", "test"))
        {
            var r = CliTests.Run("train", "--channels", "16", "--hidden", "16", "-T", "2", "--data", "embedded", "--epochs", "1", "--out", dir.Path);
            CliTests.AssertOneLineError(r, ExitCodes.InputError, "is already running in another process");
            Assert.False(File.Exists(dir.File("metrics.csv")));
        }
    }

    [Fact]
    public void Should_StopWithOneLine_When_AnotherProcessEvaluatesIntoTheSameFile()
    {
        using var dir = new TempDir();
        using (UnitLock.For(dir.Path, "evaluate-r.csv", "test"))
        {
            var r = CliTests.Run("evaluate", fixture.Model, "--out", dir.File("r.csv"), "--providers", "cpu", "--batch", "1", "--repeats", "2", "--no-accuracy");
            CliTests.AssertOneLineError(r, ExitCodes.InputError, "is already running in another process");
            Assert.False(File.Exists(dir.File("r.csv")));
        }
        Assert.Equal(0, CliTests.Run("evaluate", fixture.Model, "--out", dir.File("r.csv"), "--providers", "cpu", "--batch", "1", "--repeats", "2", "--no-accuracy").Code);
    }

    [Fact]
    public void Should_LeaveNoFileThatLooksLikeAModel_When_AFolderOfExportsIsEvaluated()
    {
        using var dir = new TempDir();
        Assert.Equal(0, CliTests.Run("export", fixture.RunPath, "--out", dir.File("m.onnx")).Code);
        Assert.Equal(["m.onnx"], Directory.GetFiles(dir.Path, "*.onnx").Select(Path.GetFileName)); // the export's lock file is not one
        var r = CliTests.Run("evaluate", dir.Path, "--out", dir.File("r.csv"), "--providers", "cpu", "--batch", "1", "--repeats", "2", "--no-accuracy");
        Assert.True(r.Code == 0, r.Err);
        Assert.Equal(["r.csv"], Directory.GetFiles(dir.Path, "*.csv").Select(f => Path.GetFileName(f)).Where(f => !f.EndsWith(".layers.csv", StringComparison.Ordinal)));
    }

    [Fact]
    public void Should_StopWithOneLine_When_AnotherProcessExportsToTheSameFile()
    {
        using var dir = new TempDir();
        using (UnitLock.For(dir.Path, "export-m.onnx", "test"))
        {
            var r = CliTests.Run("export", fixture.RunPath, "--out", dir.File("m.onnx"));
            CliTests.AssertOneLineError(r, ExitCodes.InputError, "is already running in another process");
            Assert.False(File.Exists(dir.File("m.onnx")));
        }
    }
}
