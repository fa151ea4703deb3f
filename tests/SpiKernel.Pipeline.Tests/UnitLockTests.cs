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
    public async Task Should_WaitForTheLock_When_AnotherHoldsIt()
    {
        // two bundles publishing for one RID share a build folder: the second waits, says so once, then builds
        using var dir = new TempDir();
        string path = dir.File("build.lock");
        int told = 0;
        Task<UnitLock> second;
        using (UnitLock.Take(path, "test"))
        {
            second = Task.Run(() => UnitLock.Wait(path, () => Interlocked.Increment(ref told), default));
            await Task.Delay(1000);
            Assert.False(second.IsCompleted);
            Assert.Equal(1, told);
        }
        using (UnitLock taken = await second.WaitAsync(TimeSpan.FromSeconds(30)))
        {
            Assert.Equal(1, told);
            using var cancel = new CancellationTokenSource(300);
            Assert.Throws<OperationCanceledException>(() => UnitLock.Wait(path, () => { }, cancel.Token));
        }
        UnitLock.Wait(path, () => Interlocked.Increment(ref told), default).Dispose(); // free: taken at once
        Assert.Equal(1, told);

        // a lock file that cannot be opened at all is that error, not "held by another process" (Wait looped for ever)
        string bad = dir.File(new string('x', 300) + ".lock");
        Assert.Throws<PathTooLongException>(() => UnitLock.Take(bad, "test"));
        Assert.Throws<PathTooLongException>(() => UnitLock.Wait(bad, () => Interlocked.Increment(ref told), default));
        Assert.Equal(1, told);
    }

    [Fact]
    public void Should_StopWithOneLine_When_AnotherProcessSearchesIntoTheSameFolder()
    {
        // a run --resume beside a hand-started run --stage search (both unsharded) appended to one candidates.csv
        using var dir = new TempDir();
        var search = new Search.SearchOptions([("snasnet", Models.Architecture.KernelSet.Snasnet)], Models.Search.CellKind.Forward, Candidates: 2, Batch: 8, Repeat: 1, Top: 1, Seed: 2);
        var options = new SearchStageOptions(TrainerTests.Tiny, search, dir.Path, "embedded", ExplicitShape: true, Threads: 1);
        using (UnitLock.For(dir.Path, "search", "test"))
        {
            var ex = Assert.Throws<InvalidDataException>(() => new SearchStage().Run(options, Core.NullProgress.Instance, default));
            Assert.Contains("the search into " + dir.Path + " is already running in another process", ex.Message);
            Assert.False(File.Exists(dir.File("candidates.csv")));
        }
        Assert.Equal(2, new SearchStage().Run(options, Core.NullProgress.Instance, default).Search.Rows.Count);
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
