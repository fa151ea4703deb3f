using System.Diagnostics;
using System.Text.RegularExpressions;
using k8s;
using k8s.Models;
using SpiKernel.Core;
using SpiKernel.Pipeline.Run;
using SpiKernel.Pipeline.ScaleOut;

namespace SpiKernel.Pipeline.Tests;

/// <summary>
/// The launch files of <c>run --emit</c>: every Kubernetes manifest deserialises strictly (unknown fields fail) into
/// the Kubernetes client's own batch/v1 Job model with the fields an Indexed Job needs; every Slurm script and both
/// submit scripts pass <c>bash -n</c>, and the #SBATCH lines are the options sbatch takes, before the first command.
/// </summary>
public class LaunchFilesTests
{
    private static readonly string[] Sharded = ["kernel-study", "search", "train", "export", "evaluate"];

    [Fact]
    public void Should_WriteIndexedJobs_When_EmittingForKubernetes()
    {
        using var dir = new TempDir();
        string run = Path.Combine(dir.Path, "Fashion Run_1");
        string longRun = Path.Combine(dir.Path, new string('r', 80));
        foreach (string stage in RunStage.StageNames)
            Assert.True(LaunchFiles.JobName(new LaunchOptions(Scheduler.K8s, 12, "spikernel", longRun), stage).Length + 1 + 2 <= 63, stage);
        EmitResult emitted = Emit(run, new LaunchOptions(Scheduler.K8s, 3, "spikernel", run, Cpus: 4, MemoryGib: 16, Image: "ghcr.io/acme/spikernel:1.0", VolumeClaim: "nas-runs"));

        Assert.Equal(RunStage.StageNames.Count + 1, emitted.Files.Count);
        BashSyntax(emitted.Files[0]);
        foreach (string file in emitted.Files.Skip(1))
        {
            V1Job job = KubernetesYaml.Deserialize<V1Job>(File.ReadAllText(file), strict: true);
            string stage = Regex.Match(Path.GetFileName(file), @"^\d\d-(.+)\.yaml$").Groups[1].Value;
            Assert.Equal("batch/v1", job.ApiVersion);
            Assert.Equal("Job", job.Kind);
            Assert.Matches("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", job.Metadata.Name);
            Assert.True(job.Metadata.Name.Length <= 63);
            Assert.EndsWith("-" + stage, job.Metadata.Name, StringComparison.Ordinal);
            Assert.Contains($"wait_job {job.Metadata.Name}", File.ReadAllText(emitted.Files[0]), StringComparison.Ordinal);
            if (Sharded.Contains(stage))
            {
                Assert.Equal("Indexed", job.Spec.CompletionMode);
                Assert.Equal(3, job.Spec.Completions);
                Assert.Equal(3, job.Spec.Parallelism);
            }
            else
            {
                Assert.Null(job.Spec.CompletionMode);
                Assert.Null(job.Spec.Completions);
            }
            V1PodSpec pod = job.Spec.Template.Spec;
            Assert.Equal("Never", pod.RestartPolicy);
            V1Container container = Assert.Single(pod.Containers);
            Assert.Equal("ghcr.io/acme/spikernel:1.0", container.Image);
            string[] shard = Sharded.Contains(stage) ? ["--shard", "$(JOB_COMPLETION_INDEX)/3"] : [];
            Assert.Equal(["spikernel", "run", "--resume", "/runs/Fashion Run_1", "--stage", stage, .. shard], container.Command);
            Assert.Equal("Failed", job.Spec.PodReplacementPolicy);
            Assert.True(job.Metadata.Name.Length + 1 + 1 <= 63, "pod hostnames JOB-NAME-INDEX would exceed 63 characters");
            Assert.Equal("4", container.Resources.Limits["cpu"].ToString());
            Assert.Equal("16Gi", container.Resources.Requests["memory"].ToString());
            Assert.Equal("/runs", Assert.Single(container.VolumeMounts).MountPath);
            Assert.Equal("nas-runs", Assert.Single(pod.Volumes).PersistentVolumeClaim.ClaimName);
        }
    }

    [Fact]
    public void Should_WriteJobArraysChainedWithAfterok_When_EmittingForSlurm()
    {
        using var dir = new TempDir();
        string run = Path.Combine(dir.Path, "run");
        EmitResult emitted = Emit(run, new LaunchOptions(Scheduler.Slurm, 5, "dotnet /opt/spikernel/spikernel.dll", run, Partition: "cpu", Time: "1-00:00:00"));

        string submit = File.ReadAllText(emitted.Files[0]);
        BashSyntax(emitted.Files[0]);
        Assert.Equal(RunStage.StageNames.Count, Regex.Matches(submit, @"sbatch --parsable \$\{prev:\+--dependency=afterok:\$prev\} \d\d-[a-z-]+\.sbatch").Count);
        string[] known = ["job-name", "array", "nodes", "ntasks", "cpus-per-task", "mem", "time", "partition", "output", "kill-on-invalid-dep", "exclusive"];
        foreach (string file in emitted.Files.Skip(1))
        {
            BashSyntax(file);
            string stage = Regex.Match(Path.GetFileName(file), @"^\d\d-(.+)\.sbatch$").Groups[1].Value;
            string[] lines = File.ReadAllLines(file);
            int firstCommand = Array.FindIndex(lines, l => l.Length > 0 && !l.StartsWith('#'));
            var sbatch = new Dictionary<string, string>();
            foreach (string line in lines.Take(firstCommand).Where(l => l.StartsWith("#SBATCH ", StringComparison.Ordinal)))
            {
                Match m = Regex.Match(line, @"^#SBATCH --([a-z-]+)(?:=(\S+))?$");
                Assert.True(m.Success, $"{file}: '{line}' is not '#SBATCH --option=value' or '#SBATCH --flag'");
                sbatch.Add(m.Groups[1].Value, m.Groups[2].Value);
            }
            Assert.DoesNotContain(lines.Skip(firstCommand), l => l.StartsWith("#SBATCH", StringComparison.Ordinal)); // sbatch stops reading at the first command
            Assert.All(sbatch.Keys, k => Assert.Contains(k, known));
            // 5 shards; the kernel study has 4 sizes (the quick preset's 1, 3, 5, 7): one task each, no idle fifth
            Assert.Equal(stage == "kernel-study" ? "0-3" : Sharded.Contains(stage) ? "0-4" : null, sbatch.GetValueOrDefault("array"));
            Assert.Equal("cpu", sbatch["partition"]);
            Assert.Equal(stage is "evaluate" or "select", sbatch.ContainsKey("exclusive")); // the stages that time models, alone on a node
            Assert.Equal("1-00:00:00", sbatch["time"]);
            Assert.StartsWith(Path.Combine(run, "logs"), sbatch["output"], StringComparison.Ordinal);
            // an array task names its shard from its index: `sbatch --array=2` (one failed task rerun) stays shard 2, not 0/1
            int tasks = stage == "kernel-study" ? 4 : Sharded.Contains(stage) ? 5 : 1;
            string shard = tasks > 1 ? $" --shard \"$SLURM_ARRAY_TASK_ID/{tasks}\"" : "";
            Assert.Equal($"exec dotnet /opt/spikernel/spikernel.dll run --resume '{run}' --stage {stage}{shard}", lines[^1]);
        }
        Assert.True(Directory.Exists(Path.Combine(run, "logs")), "Slurm does not create the --output folder");
    }

    [Fact]
    public void Should_RefuseToEmitWithNothingWritten_When_TheConfigurationDoesNotFitTheData()
    {
        // run refuses these at once; emitted, every task would have failed at its start, after the queue's wait
        using var dir = new TempDir();
        string run = Path.Combine(dir.Path, "run");
        RunConfig quick = RunPresets.Get(RunPresets.Quick);
        foreach ((RunConfig config, string expected) in new[]
                 {
                     (quick with { Search = quick.Search with { BudgetParameters = 100 } }, "search: "),
                     (quick with { Search = quick.Search with { Batch = 4000, Repeat = 1000 } }, "need more than the"),
                 })
        {
            var ex = Assert.Throws<SettingsException>(() => new EmitStage().Run(new EmitOptions(config, run, new LaunchOptions(Scheduler.Slurm, 2, "spikernel", run)),
                NullProgress.Instance, default));
            Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
            Assert.False(Directory.Exists(run));
        }
        // data mounted only where the tasks run (a login node without it): said, not refused; each task checks it
        var notes = new TrainerTests.NoteLog();
        EmitResult emitted = new EmitStage().Run(new EmitOptions(quick with { Data = "/nonexistent/cluster/fashion-mnist" }, run,
            new LaunchOptions(Scheduler.Slurm, 2, "spikernel", run)), notes, default);
        Assert.True(File.Exists(emitted.RunJson));
        Assert.Contains(notes.Lines, l => l.StartsWith("data: ", StringComparison.Ordinal) && l.Contains("not readable here", StringComparison.Ordinal));
    }

    [Fact]
    public void Should_RefuseToEmit_When_TheFolderHoldsAnotherConfiguration()
    {
        using var dir = new TempDir();
        string run = Path.Combine(dir.Path, "run");
        Emit(run, new LaunchOptions(Scheduler.Slurm, 2, "spikernel", run));
        EmitResult again = Emit(run, new LaunchOptions(Scheduler.Slurm, 4, "spikernel", run)); // another shard count: same results, allowed
        Assert.Equal(4, RunConfigFile.Load(again.RunJson).ScaleOut.Shards);
        var ex = Assert.Throws<SettingsException>(() => new EmitStage().Run(
            new EmitOptions(RunPresets.Get(RunPresets.Quick) with { Seed = 9 }, run, new LaunchOptions(Scheduler.Slurm, 2, "spikernel", run)), NullProgress.Instance, default));
        Assert.Contains("differs in seed", ex.Message, StringComparison.Ordinal);
        Assert.Throws<SettingsException>(() => Emit(run, new LaunchOptions(Scheduler.Slurm, 0, "spikernel", run)));
        Assert.Throws<SettingsException>(() => Emit(run, new LaunchOptions(Scheduler.Slurm, 2, "spikernel", "/a b/run")));
    }

    private static EmitResult Emit(string run, LaunchOptions launch) =>
        new EmitStage().Run(new EmitOptions(RunPresets.Get(RunPresets.Quick), run, launch), NullProgress.Instance, default);

    private static void BashSyntax(string script)
    {
        var psi = new ProcessStartInfo("bash", ["-n", script]) { RedirectStandardError = true, UseShellExecute = false };
        using Process p = Process.Start(psi)!;
        string error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"bash -n {script}: {error}");
    }
}
