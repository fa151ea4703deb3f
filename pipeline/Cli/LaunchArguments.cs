using System.CommandLine;
using SpiKernel.Pipeline.ScaleOut;

namespace SpiKernel.Cli;

/// <summary>The options of <c>spikernel run --emit slurm|k8s</c> and how they become <see cref="LaunchOptions"/>.</summary>
internal sealed class LaunchArguments
{
    public Option<string?> Emit { get; } = new("--emit") { Description = "Write launch files for a scheduler instead of running: slurm (sbatch job arrays chained with afterok) or k8s (Indexed Jobs). docs/scale-out.md." };
    private readonly Option<int> Shards = new("--shards") { Description = "With --emit: tasks per sharded stage (kernel study: at most one per size; search, train, export, evaluate).", DefaultValueFactory = _ => 4 };
    private readonly Option<string?> Launcher = new("--launcher") { Description = "With --emit: how a task starts spikernel (default: this installation for slurm, 'spikernel' for k8s)." };
    private readonly Option<string?> TaskDir = new("--task-dir") { Description = "With --emit slurm: the run folder's path on the compute nodes (default: its absolute path here)." };
    private readonly Option<int> Cpus = new("--cpus") { Description = "With --emit: CPU cores per task.", DefaultValueFactory = _ => 2 };
    private readonly Option<int> MemoryGib = new("--mem-gib") { Description = "With --emit: memory per task in GiB.", DefaultValueFactory = _ => 8 };
    private readonly Option<string> Time = new("--time") { Description = "With --emit slurm: wall-time limit per task.", DefaultValueFactory = _ => "24:00:00" };
    private readonly Option<string?> Partition = new("--partition") { Description = "With --emit slurm: partition (default: the cluster's)." };
    private readonly Option<string> Image = new("--image") { Description = "With --emit k8s: container image holding spikernel.", DefaultValueFactory = _ => "spikernel:latest" };
    private readonly Option<string> Claim = new("--claim") { Description = "With --emit k8s: PersistentVolumeClaim (ReadWriteMany) holding the run folder.", DefaultValueFactory = _ => "spikernel-runs" };
    private readonly Option<string> MountPath = new("--mount-path") { Description = "With --emit k8s: where the claim is mounted; the run folder is MOUNT/NAME.", DefaultValueFactory = _ => "/runs" };

    /// <summary>Every option, for the command to add.</summary>
    public IEnumerable<Option> All => [Emit, Shards, Launcher, TaskDir, Cpus, MemoryGib, Time, Partition, Image, Claim, MountPath];

    /// <summary>Refuses a launch option given without <c>--emit</c>, where the run would go on locally and ignore it.</summary>
    public void RefuseWithoutEmit(ParseResult r)
    {
        if (r.GetValue(Emit) is null)
            foreach (Option o in All.Skip(1)) Cli.Parse.OnlyWhere(r, o, false, "with --emit");
    }

    /// <summary>The launch settings for run folder <paramref name="dir"/>; an option of the other scheduler is refused.</summary>
    public LaunchOptions Parse(ParseResult r, string dir)
    {
        Scheduler scheduler = LaunchOptions.ParseScheduler(r.GetValue(Emit)!);
        foreach (Option o in new Option[] { TaskDir, Time, Partition }) Cli.Parse.OnlyWhere(r, o, scheduler == Scheduler.Slurm, "with --emit slurm");
        foreach (Option o in new Option[] { Image, Claim, MountPath }) Cli.Parse.OnlyWhere(r, o, scheduler != Scheduler.Slurm, "with --emit k8s");
        string launcher = r.GetValue(Launcher) ?? (scheduler == Scheduler.Slurm ? ThisInstallation().ShellWords() : "spikernel");
        return new LaunchOptions(scheduler, r.GetValue(Shards), launcher, r.GetValue(TaskDir) ?? Path.GetFullPath(dir), r.GetValue(Cpus),
            r.GetValue(MemoryGib), r.GetValue(Time)!, r.GetValue(Partition), r.GetValue(Image)!, r.GetValue(Claim)!, r.GetValue(MountPath)!);
    }

    /// <summary>This installation: "dotnet /path/spikernel.dll" under the dotnet host, else the apphost itself.</summary>
    public static SelfLauncher ThisInstallation() => SelfLauncher.Current(typeof(LaunchArguments).Assembly.Location);
}
