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
    [InlineData(null, 12, 8, 16, 2, 8)] // training.threads 8 on 16 cores: two workers of 8 threads, not 16
    [InlineData(4, 8, 2, 16, 4, 2)] // local_workers and training.threads both set: as given
    public void Should_ShareTheCores_When_WorkersArePlanned(int? configured, int units, int threads, int cores, int workers, int threadsEach)
    {
        LocalWorkerPlan plan = LocalWorkerPlan.For(configured, units, threads, cores);
        Assert.Equal((workers, workers, threadsEach), (plan.Shares, plan.Workers, plan.ThreadsEach));
        Assert.Equal(workers > 1, plan.InWorkers);
    }

    [Theory]
    [InlineData(null, 3, 3, 2)] // memory for three trainings of this size: three at a time
    [InlineData(null, 1, 1, 2)] // memory for one: one at a time, but still two threads each, as with enough memory
    [InlineData(6, 1, 6, 2)] // local_workers set: the user's count stands
    public void Should_LimitOnlyConcurrency_When_MemoryIsShort(int? configured, int fitInMemory, int workers, int threadsEach)
    {
        LocalWorkerPlan plan = LocalWorkerPlan.For(configured, 8, 0, 16, fitInMemory);
        Assert.Equal((workers, threadsEach), (plan.Workers, plan.ThreadsEach));
        Assert.True(plan.InWorkers); // the thread count of a unit never depends on memory (nor on how many are left)
    }

    [SkippableFact]
    public void Should_ReadThePeakResidentMemory_When_GetrusageIsAsked()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "getrusage through libc: Linux only (elsewhere the plan has no worker peaks)");
        using var self = System.Diagnostics.Process.GetCurrentProcess();
        self.Refresh();
        long before = self.PeakWorkingSet64; // VmHWM of /proc/self/status

        long peak = LocalWorkerPlan.PeakResident(LocalWorkerPlan.ResourceUsageSelf);

        self.Refresh();
        Assert.InRange(peak, before - (4L << 20), self.PeakWorkingSet64 + (4L << 20)); // ru_maxrss is the same high-water mark, in KiB
    }

    [SkippableFact]
    public void Should_KnowTheLargestWorkersPeakMemory_When_AWorkerHasEnded()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "getrusage through libc: Linux only");
        // a child larger than every earlier child of the test host and than the host itself, so only the children's
        // figure can reach it: dd reads its whole block into one buffer, which stays resident until it ends
        long before = Math.Max(LocalWorkerPlan.LargestWorkerPeak(), LocalWorkerPlan.PeakResident(LocalWorkerPlan.ResourceUsageSelf));
        long size = before + (64L << 20);
        Skip.If(size > MemAvailable() / 2, $"a {size >> 20} MiB child would take more than half the memory available here");
        using var child = System.Diagnostics.Process.Start("dd", ["if=/dev/zero", "of=/dev/null", "count=1", "iflag=fullblock", "status=none",
            $"bs={size.ToString(System.Globalization.CultureInfo.InvariantCulture)}"]);
        child.WaitForExit();
        Assert.Equal(0, child.ExitCode);

        Assert.InRange(LocalWorkerPlan.LargestWorkerPeak(), size, size + (256L << 20));
    }

    private static long MemAvailable() => File.ReadLines("/proc/meminfo").Where(l => l.StartsWith("MemAvailable:", StringComparison.Ordinal))
        .Select(l => long.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024).First();

    // a worker as the shell plays it: $7 is its shard ("u/n"); it prints about its unit (once naming it itself), about
    // a stage before and the stage's start and end (not shown), an error line, and exits 0, 2 or 1 by shard
    private const string Script = """
        echo "[4/8 train] stage started"; echo "[4/8 train] working on $7"; echo "[3/8 select] stage started"
        echo "[4/8 train] c${7%%/*}: named by itself"
        case $7 in 1/4) echo "spikernel: no room for $7" >&2; exit 2;; 3/4) exit 1;; esac
        echo "[4/8 train] done with $7"; echo "[4/8 train] stage done in 0.1 s"; echo "[4/8 train] train finished in 0 s"
        """;

    [Fact]
    public void Should_RunEveryUnitAndRelayItsLines_When_WorkersEndEachWayTheyCan()
    {
        var view = new Recorder();
        var launcher = new SelfLauncher("/bin/sh", ["-c", Script, "sh"]);

        var ex = Assert.Throws<WorkerFailedException>(() => LocalWorkers.Run(launcher, "/tmp/some-run", "train", [3, 1, 0], 4, u => $"c{u}",
            new LocalWorkerPlan(2, 2, 1), alreadyDone: 1, view, CancellationToken.None));

        Assert.Equal(2, ex.ExitCode); // the first failed unit's (by unit, not by who ended first)
        Assert.Contains("the worker of c1 (shard 1/4) stopped with exit code 2 (and 1 more worker: c3)", ex.Message, StringComparison.Ordinal);
        Assert.Contains(Path.Combine("/tmp/some-run", "logs", "train.1-of-4.log"), ex.Message, StringComparison.Ordinal);
        Assert.Contains("c0: done with 0/4", view.Notes); // the failures stopped nothing
        Assert.Contains("c1: spikernel: no room for 1/4", view.Notes);
        Assert.Contains("c3: working on 3/4", view.Notes);
        Assert.DoesNotContain(view.Notes, n => n.Contains("select", StringComparison.Ordinal));
        Assert.Contains("c0: named by itself", view.Notes); // not "c0: c0: …"
        Assert.DoesNotContain(view.Notes, n => n.Contains("stage started", StringComparison.Ordinal) || n.Contains("stage done", StringComparison.Ordinal)
            || n.Contains("finished in", StringComparison.Ordinal));
        Assert.Equal(["c3: started (1 of 3)", "c1: started (2 of 3)", "c0: started (3 of 3)"], view.Notes.Where(n => n.Contains("started (", StringComparison.Ordinal)));
        Assert.Equal(2, view.Done); // the one done before and c0
    }

    [Fact]
    public void Should_StopTheWorkers_When_TheRunIsCancelled()
    {
        var view = new Recorder();
        var launcher = new SelfLauncher("/bin/sh", ["-c", "echo \"[4/8 train] waiting\"; exec sleep 60", "sh"]);
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        var clock = System.Diagnostics.Stopwatch.StartNew();

        Assert.ThrowsAny<OperationCanceledException>(() => LocalWorkers.Run(launcher, "/tmp/some-run", "train", [0, 1, 2], 3, u => $"c{u}",
            new LocalWorkerPlan(2, 2, 1), 0, view, cancel.Token));

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"the workers were not stopped: {clock.Elapsed}"); // SIGINT ends sleep
        Assert.Equal(2, view.Notes.Count(n => n.Contains("started (", StringComparison.Ordinal))); // the third never started
    }

    [Fact]
    public void Should_EndTheWorkers_When_TheRunAloneIsKilled()
    {
        using var data = new TempDir();
        using var work = new TempDir();
        (string config, string dir) = TwoWorkerRun(data, work);
        using (System.Diagnostics.Process run = RunFolders.Start(["run", "--config", config, "--out", dir]))
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (!(File.Exists(Path.Combine(dir, "run.log")) && File.ReadAllText(Path.Combine(dir, "run.log")).Contains("started (2 of 3)", StringComparison.Ordinal)))
            {
                Assert.True(clock.Elapsed < TimeSpan.FromMinutes(3) && !run.HasExited, "the run never started its second worker");
                Thread.Sleep(20);
            }
            run.Kill(entireProcessTree: false); // SIGKILL to the run only: its workers get SIGTERM from the kernel (and would
                                                // end at their next line of output anyway, their pipe broken)
            run.WaitForExit();
        }
        var wait = System.Diagnostics.Stopwatch.StartNew();
        while (Workers(dir).Length > 0 && wait.Elapsed < TimeSpan.FromSeconds(5)) Thread.Sleep(100); // SIGTERM ends a worker at once; its candidate would train for longer
        Assert.Empty(Workers(dir));
        Assert.Equal(0, RunFolders.Finish("run", "--resume", dir).Code); // no shard lock left behind
    }

    // processes whose command line names the run folder
    private static int[] Workers(string dir) => Directory.GetDirectories("/proc").Select(Path.GetFileName).Where(n => n!.All(char.IsAsciiDigit))
        .Where(pid => Cmdline(pid!).Contains(dir, StringComparison.Ordinal)).Select(pid => int.Parse(pid!, System.Globalization.CultureInfo.InvariantCulture)).ToArray();

    private static string Cmdline(string pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline");
        }
        catch (IOException)
        {
            return ""; // ended meanwhile
        }
        catch (UnauthorizedAccessException)
        {
            return "";
        }
    }

    // the tiny run of RunFolders with two local workers: its configuration and run folder
    private static (string Config, string Dir) TwoWorkerRun(TempDir data, TempDir work) =>
        (RunFolders.WithLocalWorkers(RunFolders.TinyRun(data, work), 2), Path.Combine(work.Path, "run"));

    private sealed class Recorder : Core.IProgressObserver
    {
        public List<string> Notes { get; } = [];

        public double Done { get; private set; }

        public void Begin(string task, double total) { }

        public void Advance(double done, string? status = null) => Done = done;

        public void Note(string line) => Notes.Add(line);
    }

    [Fact]
    public void Should_NameTheWorkerAndKeepTheOthers_When_AWorkerFails()
    {
        using var data = new TempDir();
        using var work = new TempDir();
        (string config, string dir) = TwoWorkerRun(data, work);
        var layout = new RunLayout(dir);
        foreach (string stage in new[] { "kernel-study", "search", "select" })
            Assert.Equal(0, RunFolders.Finish(stage == "kernel-study" ? ["run", "--config", config, "--out", dir, "--stage", stage] : ["run", "--resume", dir, "--stage", stage]).Code);
        string[] ids = CsvFile.ReadAll<SelectionRow>(layout.Selection).Where(s => s.Status is SelectionStatus.Selected or SelectionStatus.Trained).Select(s => s.CandidateId).ToArray();
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
        Assert.Contains($"{ids[1]}: spikernel: {blocked}: is a file, not a folder", File.ReadAllText(layout.Log), StringComparison.Ordinal); // the worker's own line
        foreach (string id in new[] { ids[0], ids[2] })
            Assert.Equal([1, 2], CsvFile.ReadAll<EpochMetrics>(Path.Combine(layout.TrainFolder(id), Trainer.MetricsFile)).Select(e => e.Epoch));
        Assert.False(File.Exists(layout.Results), "the run went on past the failed training");

        File.Delete(blocked);
        Assert.Equal(0, RunFolders.Finish("run", "--resume", dir).Code);
        Assert.All(CsvFile.ReadAll<SelectionRow>(layout.Selection).Where(s => s.Status is SelectionStatus.Selected or SelectionStatus.Trained),
            s => Assert.Equal(SelectionStatus.Trained, s.Status));
        Assert.True(File.Exists(layout.ReportHtml));
    }
}
