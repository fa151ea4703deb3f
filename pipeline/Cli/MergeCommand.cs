using System.CommandLine;
using SpiKernel.Core;
using SpiKernel.Pipeline.Run;

namespace SpiKernel.Cli;

/// <summary><c>spikernel merge RUN_DIR</c>: joins the shard outputs of a run (also done by the stage after a sharded one).</summary>
internal static class MergeCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var dir = new Argument<string>("run-dir") { Description = "A run folder whose stages ran as shards (run --stage … --shard i/n)." };
        var cmd = new Command("merge", "Join the shards of a run's stages: candidates.csv from the search shards, selection accuracies from the training shards, results.csv from the evaluation shards (and any results copied into evaluations/). Stops at the first stage not run yet; names the shards that are missing or stale.");
        cmd.Arguments.Add(dir);
        cmd.SetAction(r => CommandRunner.Run(cancel =>
        {
            string folder = r.GetValue(dir)!;
            RunConfig config = RunConfigFile.LoadOfRun(folder);
            ConsoleProgress.Run(p => new RunStage().Run(new RunStageOptions(config, folder, Resume: true, Only: RunStage.Merge), p, cancel));
            return ExitCodes.Ok;
        }));
        return cmd;
    }
}
