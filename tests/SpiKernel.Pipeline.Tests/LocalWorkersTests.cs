using SpiKernel.Core.Csv;
using SpiKernel.Pipeline.Run;
using SpiKernel.Pipeline.ScaleOut;
using SpiKernel.Pipeline.Training;

namespace SpiKernel.Pipeline.Tests;

/// <summary>
/// A run that trains its candidates in worker processes: how the cores are shared, and a worker that fails (here: its
/// candidate's training folder cannot be written) ends the run with one line naming it and its log, while what the
/// other workers completed is kept and the run continues once the cause is gone. Equality with training in the run's
/// own process, and kills at any point, are RunResumeTests.
/// </summary>
public class LocalWorkersTests
{
    [Theory]
    [InlineData(null, 5, 0, 2, 2, 1)] // the quick preset on these 2 cores: two candidates at a time, one thread each
    [InlineData(null, 1, 0, 2, 1, 2)] // one candidate: it gets every core (and trains in the run's process)
    [InlineData(1, 5, 0, 2, 1, 2)] // local_workers 1: one after the other
    [InlineData(null, 3, 0, 16, 3, 5)] // never more workers than candidates; the cores shared out
    [InlineData(4, 8, 2, 16, 4, 2)] // training.threads set: each worker takes that many
    public void Should_ShareTheCores_When_WorkersArePlanned(int? configured, int units, int threads, int cores, int workers, int threadsEach)
    {
        Assert.Equal(new LocalWorkerPlan(workers, threadsEach), LocalWorkerPlan.For(configured, units, threads, cores));
    }

    [Theory]
    [InlineData(null, 3, 3)] // memory for three trainings of this size: three workers, five threads each
    [InlineData(null, 1, 1)] // memory for one: the candidates train one after the other, on every core
    [InlineData(6, 1, 6)] // local_workers set: the user's count stands
    public void Should_StartNoMoreWorkersThanFitInMemory_When_TheCountIsAutomatic(int? configured, int fitInMemory, int workers)
    {
        Assert.Equal(workers, LocalWorkerPlan.For(configured, 8, 0, 16, fitInMemory).Workers);
    }

    [Fact]
    public void Should_NameTheWorkerAndKeepTheOthers_When_AWorkerFails()
    {
        using var data = new TempDir();
        using var work = new TempDir();
        string config = RunFolders.WithLocalWorkers(RunFolders.TinyRun(data, work), 2);
        string dir = Path.Combine(work.Path, "run");
        var layout = new RunLayout(dir);
        foreach (string stage in new[] { "kernel-study", "search", "select" })
            Assert.Equal(0, RunFolders.Finish(stage == "kernel-study" ? ["run", "--config", config, "--out", dir, "--stage", stage] : ["run", "--resume", dir, "--stage", stage]).Code);
        string[] ids = CsvFile.ReadAll<SelectionRow>(layout.Selection).Where(s => s.Status != SelectionStatus.OverLatency).Select(s => s.CandidateId).ToArray();
        Assert.Equal(3, ids.Length);
        string blocked = layout.TrainFolder(ids[1]);
        Directory.CreateDirectory(Path.GetDirectoryName(blocked)!);
        File.WriteAllText(blocked, "a file where the candidate's training folder goes");

        (int code, string error) = RunFolders.Finish("run", "--resume", dir);

        Assert.Equal(1, code); // the worker's own exit code: its output folder cannot be written
        string[] lines = error.Trim().Split('\n');
        Assert.Contains($"the worker of {ids[1]} (shard 1/3) stopped with exit code 1", lines[^1], StringComparison.Ordinal);
        Assert.Contains(Path.Combine("logs", "train.1-of-3.log"), lines[^1], StringComparison.Ordinal);
        Assert.True(File.Exists(layout.StageLog("train", "1-of-3")));
        Assert.Contains($"{ids[1]}: spikernel: {blocked}: cannot write the output folder", File.ReadAllText(layout.Log), StringComparison.Ordinal); // the worker's own line
        foreach (string id in new[] { ids[0], ids[2] })
            Assert.Equal([1, 2], CsvFile.ReadAll<EpochMetrics>(Path.Combine(layout.TrainFolder(id), Trainer.MetricsFile)).Select(e => e.Epoch));
        Assert.False(File.Exists(layout.Results), "the run went on past the failed training");

        File.Delete(blocked);
        Assert.Equal(0, RunFolders.Finish("run", "--resume", dir).Code);
        Assert.All(CsvFile.ReadAll<SelectionRow>(layout.Selection).Where(s => s.Status != SelectionStatus.OverLatency),
            s => Assert.Equal(SelectionStatus.Trained, s.Status));
        Assert.True(File.Exists(layout.ReportHtml));
    }
}
