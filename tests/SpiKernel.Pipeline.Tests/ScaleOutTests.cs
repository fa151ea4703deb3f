using System.Diagnostics;
using k8s;
using k8s.Models;
using SpiKernel.Core.Csv;
using SpiKernel.Pipeline.Run;
using SpiKernel.Pipeline.ScaleOut;
using SpiKernel.Pipeline.Search;
using SpiKernel.Pipeline.Stages;
using SpiKernel.Pipeline.Training;

namespace SpiKernel.Pipeline.Tests;

/// <summary>
/// A run whose sharded stages run as three concurrent spikernel processes each (as Slurm array tasks would), one of
/// them SIGKILLed and rerun, ends with the same CSV rows and ranking as an unsharded run; a merge with a shard missing,
/// or with a shard of another configuration, stops with one line and merges nothing.
/// </summary>
public class ScaleOutTests
{
    private const int Shards = 3;

    [Fact]
    public void Should_MatchTheUnshardedRun_When_TheLaunchFilesRunEachStageAsThreeShardsAndOneIsKilled()
    {
        using var data = new TempDir();
        using var work = new TempDir();
        string config = RunFolders.TinyRun(data, work);
        string straight = Path.Combine(work.Path, "straight"), sharded = Path.Combine(work.Path, "sharded");
        Assert.Equal(0, RunFolders.Spawn(["run", "--config", config, "--out", straight], Path.Combine(straight, "run.log"), kill: null));
        var layout = new RunLayout(sharded);

        // Slurm scripts run by bash with the variables Slurm sets; the evaluate stage from the Kubernetes manifest's command
        Assert.Equal(0, RunFolders.Finish("run", "--config", config, "--out", sharded, "--emit", "slurm", "--shards", "3").Code);
        Assert.Equal(0, RunFolders.Finish("run", "--resume", sharded, "--emit", "k8s", "--shards", "3", "--mount-path", work.Path,
            "--launcher", string.Join(' ', RunFolders.Spikernel)).Code);
        Assert.Equal(Shards, RunConfigFile.Load(layout.Config).ScaleOut.Shards);
        // nothing has run: a merge stops quietly at the first stage
        Assert.Equal(0, RunFolders.Finish("merge", sharded).Code);
        Assert.Contains("kernel-study: not run yet; merging up to here", File.ReadAllText(layout.StageLog("merge", "0-of-1")), StringComparison.Ordinal);

        // kernel study: sizes 1 and 3 are units 0 and 1, two tasks (one per size, though 3 shards were asked for); the
        // search refuses while shard 1 is missing
        Assert.Contains("#SBATCH --array=0-1", File.ReadAllText(Launch("slurm", "kernel-study.sbatch")), StringComparison.Ordinal);
        Slurm("kernel-study", 0, tasks: 2);
        (int code, string error) = RunFolders.Finish("run", "--resume", sharded, "--stage", "search", "--shard", "0/3");
        Assert.NotEqual(0, code);
        Assert.Contains("kernel-study: 1 of 2 units are not complete, or their outputs changed since (first: k3); shard 1/2 did not finish", error, StringComparison.Ordinal);
        Assert.Single(error.Trim().Split('\n'));
        Slurm("kernel-study", 1, tasks: 2);
        Slurm("search", 0); // reads the study's proposed sets without writing them (its shards are merged by select)
        Assert.False(File.Exists(Path.Combine(layout.KernelStudy, "kernel-study.csv")), "a search shard wrote the kernel study's merged outputs");
        Slurm("search", 1);

        (code, error) = RunFolders.Finish("merge", sharded);
        Assert.NotEqual(0, code);
        Assert.Contains("shard 2/3 did not finish", error, StringComparison.Ordinal);
        Assert.Single(error.Trim().Split('\n'));
        Assert.False(File.Exists(layout.Candidates), "a merge with a shard missing wrote candidates.csv");

        // the search run whole here (as after failed tasks) scores only what did not finish, then merges. With no record at
        // all (every task killed before its end) the shard files name the count; a shard another process holds is left to it
        string fingerprint = RunConfigFile.Fingerprint(RunConfigFile.Load(layout.Config));
        string[] scored = [.. Enumerable.Range(0, 2).Select(i => File.ReadAllText(SearchStage.ShardFile(layout.Search, fingerprint, new Shard(i, Shards))))];
        foreach (int i in new[] { 0, 1 }) File.Delete(Path.Combine(ShardRecord.Folder(sharded, "search"), $"{i}-of-3.json"));
        using (ShardLock.Take(sharded, "search", new Shard(2, Shards)))
        {
            (code, error) = RunFolders.Finish("run", "--resume", sharded, "--stage", "search");
            Assert.NotEqual(0, code);
            Assert.Contains("search: shard 2/3 is running in another process", error, StringComparison.Ordinal);
            Assert.Single(error.Trim().Split('\n'));
        }
        Assert.Equal(0, RunFolders.Finish("run", "--resume", sharded, "--stage", "search").Code);
        string searchLog = File.ReadAllText(layout.StageLog("search", "0-of-1"));
        Assert.Contains("search: 0 of 3 shards scored; scoring 0/3, 1/3, 2/3 here", searchLog, StringComparison.Ordinal);
        Assert.Contains("search: 2 of 3 shards scored; scoring 2/3 here", searchLog, StringComparison.Ordinal); // 0 and 1 recorded by the first
        Assert.Contains("search: merged 3 shards", searchLog, StringComparison.Ordinal);
        Assert.Equal(scored, Enumerable.Range(0, 2).Select(i => File.ReadAllText(SearchStage.ShardFile(layout.Search, fingerprint, new Shard(i, Shards)))));
        Assert.True(File.Exists(Path.Combine(ShardRecord.Folder(sharded, "search"), "2-of-3.json")));
        Slurm("select");
        Assert.Equal(Shards, Directory.GetFiles(Path.Combine(layout.Search, "shards"), $"candidates.{RunConfigFile.Fingerprint(RunConfigFile.Load(layout.Config))}.*-of-3.csv").Length);

        // train: shard 0 is killed in its second epoch while 1 and 2 run beside it, then rerun by hand
        Process[] others = [SlurmTask("train", 1), SlurmTask("train", 2)];
        string[] shard0 = ["run", "--resume", sharded, "--stage", "train", "--shard", "0/3"];
        Assert.Equal(RunFolders.KilledCode, RunFolders.Spawn(shard0, layout.StageLog("train", "0-of-3"), ("epoch 1/2 loss", 200)));
        WaitAll(others);
        (code, error) = RunFolders.Finish(["run", "--resume", sharded, "--stage", "export", "--shard", "1/3"]);
        Assert.NotEqual(0, code); // the stage after an unfinished shard refuses, naming it
        Assert.Contains("train: ", error, StringComparison.Ordinal);
        Assert.Contains("0/3", error, StringComparison.Ordinal);
        Assert.Equal(0, RunFolders.Spawn(shard0, layout.StageLog("train", "0-of-3"), kill: null));

        WaitAll([.. Enumerable.Range(0, Shards).Select(i => SlurmTask("export", i))]);
        V1Job evaluate = KubernetesYaml.Deserialize<V1Job>(File.ReadAllText(Launch("k8s", "evaluate.yaml")), strict: true);
        IList<string> command = evaluate.Spec.Template.Spec.Containers[0].Command;
        Assert.Equal("Failed", evaluate.Spec.PodReplacementPolicy);
        // as kubelet runs it: $(JOB_COMPLETION_INDEX) expanded from the variable the Job controller sets
        WaitAll([.. Enumerable.Range(0, Shards).Select(i => RunFolders.StartProgram(
            command.Select(a => a.Replace("$(JOB_COMPLETION_INDEX)", $"{i}", StringComparison.Ordinal)).ToArray(), Env(("JOB_COMPLETION_INDEX", $"{i}"))))]);
        Slurm("rank");
        Slurm("report");
        // the report task ranks once (merging what came before it), not again in its check pass
        Assert.Single(File.ReadLines(layout.StageLog("report", "0-of-1")), l => l.Contains(" rank] cpu: ", StringComparison.Ordinal));

        RunFolders.SameResults(new RunLayout(straight), layout);
        foreach (SelectionRow s in CsvFile.ReadAll<SelectionRow>(layout.Selection))
        {
            List<EpochMetrics> epochs = CsvFile.ReadAll<EpochMetrics>(Path.Combine(layout.TrainFolder(s.CandidateId), Trainer.MetricsFile));
            Assert.Equal([1, 2], epochs.Select(e => e.Epoch));
        }
        Assert.False(File.Exists(layout.Log), "a stage task appended to run.log (each writes logs/STAGE.I-of-N.log)");
        Assert.True(File.Exists(layout.ReportHtml));

        // a shard record of another configuration is refused by name, and nothing is merged
        string stale = Path.Combine(ShardRecord.Folder(sharded, "evaluate"), "1-of-3.json");
        File.WriteAllText(stale, File.ReadAllText(stale).Replace(RunConfigFile.Fingerprint(RunConfigFile.Load(layout.Config)), "0123456789abcdef", StringComparison.Ordinal));
        File.Delete(layout.Results);
        (code, error) = RunFolders.Finish("merge", sharded);
        Assert.Equal(1, code);
        Assert.Contains("evaluate: shard 1/3", error, StringComparison.Ordinal);
        Assert.Contains("another configuration", error, StringComparison.Ordinal);
        Assert.False(File.Exists(layout.Results));

        string Launch(string scheduler, string suffix) => Directory.GetFiles(Path.Combine(sharded, "launch", scheduler), "*-" + suffix).Single();

        Process SlurmTask(string stage, int? shard, int tasks = Shards) => RunFolders.StartProgram(["bash", Launch("slurm", stage + ".sbatch")],
            shard is { } i ? Env(("SLURM_ARRAY_TASK_ID", $"{i}"), ("SLURM_ARRAY_TASK_COUNT", $"{tasks}")) : null);

        void Slurm(string stage, int? shard = null, int tasks = Shards) => WaitAll([SlurmTask(stage, shard, tasks)]);
    }

    private static Dictionary<string, string> Env(params (string Key, string Value)[] pairs) => pairs.ToDictionary(p => p.Key, p => p.Value);

    [Theory]
    [InlineData("3/3", "outside 0…2")]
    [InlineData("0/0", "at least 1")]
    [InlineData("-1/3", "expected i/n")]
    [InlineData("1", "expected i/n")]
    public void Should_RefuseTheShard_When_ItIsNotOneOfN(string shard, string message)
    {
        var ex = Assert.Throws<SpiKernel.Core.SettingsException>(() => Shard.Parse(shard));
        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("search", "3/3", "outside 0…2")]
    [InlineData("train", "0/0", "at least 1")]
    [InlineData("select", "1/2", "select runs as one task")]
    public void Should_StopWithOneLineAndWriteNothing_When_TheShardIsBad(string stage, string shard, string message)
    {
        using var dir = new TempDir();
        string run = Path.Combine(dir.Path, "run");
        CliTests.AssertOneLineError(CliTests.Run("run", "--out", run, "--stage", stage, "--shard", shard), 2, message);
        Assert.False(Directory.Exists(run));
    }

    [Fact]
    public void Should_WriteNothing_When_ALaterStageIsAskedOfAFolderWithoutARun()
    {
        // it wrote run.json, logs/ and shards/ before failing, and run.json then refused the run the user meant to start
        using var dir = new TempDir();
        string run = Path.Combine(dir.Path, "run");
        CliTests.AssertOneLineError(CliTests.Run("run", "--out", run, "--stage", "train", "--data", "embedded"), 2,
            $"--stage train: {run} holds no run yet (no run.json); its first stage starts it (--stage kernel-study, or the whole run)");
        Assert.False(Directory.Exists(run));
    }

    [Fact]
    public void Should_SayWhatChanges_When_EmittingAgainWithOtherRankingSettings()
    {
        using var dir = new TempDir();
        string run = Path.Combine(dir.Path, "run");
        Assert.Equal(0, CliTests.Run("run", "--out", run, "--emit", "slurm").Code);
        var again = CliTests.Run("run", "--resume", run, "--emit", "slurm", "--min-accuracy", "0.9");
        Assert.True(again.Code == 0, again.Err);
        Assert.Contains("target.min_accuracy changes from the folder's run; read only by the ranking", again.Out.ReplaceLineEndings(" "));
        Assert.Equal(0.9, RunConfigFile.Load(Path.Combine(run, "run.json")).Target.MinAccuracy);
        Assert.DoesNotContain("changes from the folder's run", CliTests.Run("run", "--resume", run, "--emit", "slurm").Out);
    }

    [Fact]
    public void Should_RefuseARelativeTaskDir_When_EmittingSlurmJobs()
    {
        using var dir = new TempDir();
        string run = Path.Combine(dir.Path, "run");
        CliTests.AssertOneLineError(CliTests.Run("run", "--out", run, "--emit", "slurm", "--task-dir", "shared/td"), 2,
            "--task-dir 'shared/td' must be absolute (the Slurm jobs start in the run's launch/slurm folder)");
        Assert.False(Directory.Exists(run));
    }

    [Theory]
    [InlineData("", "--image needs a value, not an empty one")]
    [InlineData("my image", "--image 'my image': a container image reference")]
    public void Should_RefuseAnImageThatIsNoReference_When_EmittingKubernetesJobs(string image, string expected)
    {
        using var dir = new TempDir();
        string run = Path.Combine(dir.Path, "run");
        CliTests.AssertOneLineError(CliTests.Run("run", "--out", run, "--emit", "k8s", "--image", image), 2, expected);
        Assert.False(Directory.Exists(run));
    }

    [Fact]
    public void Should_TakeTheShardFromTheScheduler_When_NoneIsGiven()
    {
        Dictionary<string, string> slurm = new() { ["SLURM_ARRAY_TASK_ID"] = "7", ["SLURM_ARRAY_TASK_MIN"] = "5", ["SLURM_ARRAY_TASK_MAX"] = "8" };
        Assert.Equal(new Shard(2, 4), Shard.Resolve(null, slurm.GetValueOrDefault, 1));
        Assert.Equal(new Shard(1, 3), Shard.Resolve(null, new Dictionary<string, string> { ["SLURM_ARRAY_TASK_ID"] = "1", ["SLURM_ARRAY_TASK_COUNT"] = "3" }.GetValueOrDefault, 1));
        Assert.Equal(new Shard(4, 6), Shard.Resolve(null, new Dictionary<string, string> { ["JOB_COMPLETION_INDEX"] = "4" }.GetValueOrDefault, 6));
        Assert.Equal(new Shard(0, 2), Shard.Resolve("0/2", slurm.GetValueOrDefault, 1)); // --shard wins
        Assert.Equal(Shard.All, Shard.Resolve(null, _ => null, 3));
        Assert.Throws<SpiKernel.Core.SettingsException>(() => Shard.Resolve(null, new Dictionary<string, string> { ["JOB_COMPLETION_INDEX"] = "4" }.GetValueOrDefault, 1));
        Assert.Throws<SpiKernel.Core.SettingsException>(() => Shard.Resolve(null, new Dictionary<string, string> { ["JOB_COMPLETION_INDEX"] = "6" }.GetValueOrDefault, 6));
    }

    [Fact]
    public void Should_SplitUnitsSoEachBelongsToExactlyOneShard()
    {
        for (int n = 1; n <= 5; n++)
            for (int unit = 0; unit < 17; unit++)
                Assert.Single(Enumerable.Range(0, n), i => new Shard(i, n).Owns(unit));
    }

    private static void WaitAll(Process[] processes)
    {
        foreach (Process p in processes)
        {
            string error = p.StandardError.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, $"a shard exited {p.ExitCode}: {error}");
            p.Dispose();
        }
    }
}
