using System.Globalization;
using SpiKernel.Core;

namespace SpiKernel.Pipeline.ScaleOut;

/// <summary>Which scheduler the launch files are for.</summary>
public enum Scheduler
{
    /// <summary>Slurm: one sbatch script per stage (job arrays for sharded stages) and submit.sh chaining them with afterok.</summary>
    Slurm,

    /// <summary>Kubernetes: one batch/v1 Job per stage (Indexed Jobs for sharded stages) and submit.sh applying them in order.</summary>
    K8s,
}

/// <summary>Settings of the launch files <c>spikernel run --emit</c> writes into RUN/launch/.</summary>
/// <param name="Scheduler">Slurm or Kubernetes.</param>
/// <param name="Shards">Tasks of each sharded stage (also written to run.json as scale_out.shards).</param>
/// <param name="Launcher">How a task starts spikernel (Slurm: e.g. "dotnet /shared/spikernel/spikernel.dll"; Kubernetes: the command in the image).</param>
/// <param name="RunDirectory">The run folder as the tasks see it (Slurm: an absolute path on the shared file system).</param>
/// <param name="Cpus">CPU cores per task.</param>
/// <param name="MemoryGib">Memory per task, GiB.</param>
/// <param name="Time">Slurm wall-time limit per task (D-HH:MM:SS or HH:MM:SS).</param>
/// <param name="Partition">Slurm partition; null: the cluster's default.</param>
/// <param name="Image">Kubernetes container image holding spikernel.</param>
/// <param name="VolumeClaim">Kubernetes PersistentVolumeClaim (ReadWriteMany) holding the run folder.</param>
/// <param name="MountPath">Where the claim is mounted in the container; the run folder is MountPath/NAME.</param>
public sealed record LaunchOptions(Scheduler Scheduler, int Shards, string Launcher, string RunDirectory, int Cpus = 2, int MemoryGib = 8,
    string Time = "24:00:00", string? Partition = null, string Image = "spikernel:latest", string VolumeClaim = "spikernel-runs",
    string MountPath = "/runs")
{
    /// <summary>Parses "slurm" or "k8s" (also "kubernetes").</summary>
    public static Scheduler ParseScheduler(string text) => text.ToLowerInvariant() switch
    {
        "slurm" => Scheduler.Slurm,
        "k8s" or "kubernetes" => Scheduler.K8s,
        _ => throw new SettingsException($"--emit '{text}': expected slurm or k8s"),
    };

    /// <summary>Checks every value; throws <see cref="SettingsException"/> naming the option.</summary>
    public LaunchOptions Validated()
    {
        if (Shards < 1) throw new SettingsException(string.Create(CultureInfo.InvariantCulture, $"--shards must be at least 1 (got {Shards})"));
        if (Cpus < 1) throw new SettingsException(string.Create(CultureInfo.InvariantCulture, $"--cpus must be at least 1 (got {Cpus})"));
        if (MemoryGib < 1) throw new SettingsException(string.Create(CultureInfo.InvariantCulture, $"--mem-gib must be at least 1 (got {MemoryGib})"));
        if (string.IsNullOrWhiteSpace(Launcher)) throw new SettingsException("--launcher must name how a task starts spikernel");
        if (!System.Text.RegularExpressions.Regex.IsMatch(Time, @"^(\d+-)?\d{1,2}:\d{2}:\d{2}$"))
            throw new SettingsException($"--time '{Time}': expected HH:MM:SS or D-HH:MM:SS (Slurm)");
        if (Partition is { } p && !System.Text.RegularExpressions.Regex.IsMatch(p, "^[A-Za-z0-9_.,-]+$"))
            throw new SettingsException($"--partition '{p}': letters, digits, '_', '.', ',' and '-' only");
        if (!System.Text.RegularExpressions.Regex.IsMatch(VolumeClaim, "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"))
            throw new SettingsException($"--claim '{VolumeClaim}': a Kubernetes name (lower-case letters, digits and '-')");
        if (Scheduler == Scheduler.Slurm && RunDirectory.Any(char.IsWhiteSpace))
            throw new SettingsException($"run folder '{RunDirectory}': #SBATCH lines cannot quote a path with spaces; use a folder without them (or --task-dir)");
        if (!MountPath.StartsWith('/')) throw new SettingsException($"--mount-path '{MountPath}' must be absolute");
        if (Scheduler == Scheduler.Slurm && !Path.IsPathRooted(RunDirectory)) // the jobs start in launch/slurm, where a relative path means something else
            throw new SettingsException($"--task-dir '{RunDirectory}' must be absolute (the Slurm jobs start in the run's launch/slurm folder)");
        if (Scheduler == Scheduler.K8s && (string.IsNullOrWhiteSpace(Image) || Image.Any(char.IsWhiteSpace)))
            throw new SettingsException($"--image '{Image}': a container image reference (name[:tag], no spaces)");
        return this;
    }
}
