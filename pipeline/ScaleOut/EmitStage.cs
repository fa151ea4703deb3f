using SpiKernel.Core;
using SpiKernel.Pipeline.Run;
using SpiKernel.Pipeline.Stages;

namespace SpiKernel.Pipeline.ScaleOut;

/// <summary>Settings of <see cref="EmitStage"/>.</summary>
/// <param name="Config">The run's configuration (validated here; written as run.json with scale_out.shards set).</param>
/// <param name="Directory">The run folder on this machine (launch files go to its launch/ folder).</param>
/// <param name="Launch">Scheduler, shard count, resources; its <see cref="LaunchOptions.RunDirectory"/> is the folder as the tasks see it.</param>
public sealed record EmitOptions(RunConfig Config, string Directory, LaunchOptions Launch);

/// <summary>What <see cref="EmitStage"/> wrote.</summary>
/// <param name="RunJson">The run's configuration file.</param>
/// <param name="Files">The launch files, submit.sh first.</param>
public sealed record EmitResult(string RunJson, IReadOnlyList<string> Files);

/// <summary>
/// <c>spikernel run --emit slurm|k8s</c>: prepares a run folder for a scheduler — validates the configuration, writes
/// run.json (refusing a folder that holds another configuration) and one launch file per stage.
/// </summary>
public sealed class EmitStage : IStage<EmitOptions, EmitResult>
{
    /// <inheritdoc />
    public string Name => "emit";

    /// <inheritdoc />
    public bool IsComplete(EmitOptions options) => false; // cheap: always written anew

    /// <inheritdoc />
    public EmitResult Run(EmitOptions options, IProgressObserver progress, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(progress);
        LaunchOptions launch = options.Launch.Validated();
        RunConfig config = options.Config with { ScaleOut = options.Config.ScaleOut with { Shards = launch.Shards } };
        // what run refuses at once (a budget below the smallest network, more score images than the data has) is refused
        // here too, not by every task after the queue's wait; data not readable where the launch files are written is
        // checked by each task where it runs
        RunPlan plan = RunPlan.CheckedAgainstData(config, why =>
            progress.Note($"data: {why}; not readable here, so the configuration is not checked against it (each task checks it where it runs)"));
        var layout = new RunLayout(options.Directory);
        if (File.Exists(layout.Config))
        {
            RunConfig existing = RunConfigFile.LoadOfRun(layout.Root);
            if (RunConfigFile.Fingerprint(existing) != RunConfigFile.Fingerprint(config))
                throw new SettingsException($"{layout.Root} holds a run with another configuration (differs in {string.Join(", ", RunConfigFile.Differences(existing, config).Where(k => !k.StartsWith("scale_out.", StringComparison.Ordinal)))}); emit for that folder with its own settings (--resume {layout.Root}) or use another folder");
            // what only the ranking reads may change (as on run --resume), said rather than rewritten without a word
            string[] ranking = [.. RunConfigFile.Differences(existing, config).Where(RunConfigFile.RankingOnly)];
            if (ranking.Length > 0)
                progress.Note($"{layout.Config}: {string.Join(", ", ranking)} change{(ranking.Length == 1 ? "s" : "")} from the folder's run; read only by the ranking, whose task ranks again on the same measurements");
        }
        OutputFolder.EnsureWritable(layout.Root);
        Directory.CreateDirectory(Path.Combine(layout.Root, "logs")); // Slurm writes task output there and does not create folders
        RunConfigFile.Save(config, layout.Config);
        string[] stages = plan.StudySizes is null ? [.. RunStage.StageNames.Skip(1)] : [.. RunStage.StageNames];
        string folder = Path.Combine(layout.Root, "launch", launch.Scheduler == Scheduler.Slurm ? "slurm" : "k8s");
        Dictionary<string, int> units = plan.StudySizes is { } sizes ? new() { ["kernel-study"] = sizes.Sizes.Length } : [];
        IReadOnlyList<string> files = LaunchFiles.Write(folder, stages, RunStage.ShardedStages.ToHashSet(), launch, units);
        return new EmitResult(layout.Config, files);
    }
}
