using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using SpiKernel.Pipeline.Ranking;
using SpiKernel.Pipeline.Run;
using SpiKernel.Pipeline.ScaleOut;
using SpiKernel.Core.Csv;

namespace SpiKernel.Cli;

/// <summary><c>spikernel run</c>: parses the configuration and its overrides, calls <see cref="RunStage"/>, prints the outcome.</summary>
internal sealed class RunCommand
{
    private readonly Option<string?> Config = new("--config") { Description = "A run configuration (JSON; only the keys that differ from its preset are needed). docs/run.md lists the keys." };
    private readonly Option<string?> Preset = new("--preset") { Description = "Starting configuration: quick (default, minutes on 2 cores), standard (full Fashion-MNIST: about a week on 2 cores, less with more cores in parallel workers) or paper (CIFAR/TinyImageNet scale, GPU weeks)." };
    private readonly Option<string?> Out = new("--out") { Description = "The run folder (default runs/PRESET). A folder holding a run of the same configuration is continued." };
    private readonly Option<string?> Resume = new("--resume") { Description = "Continue the run in this folder with the configuration in its run.json." };
    private readonly Option<bool> PrintConfig = new("--print-config") { Description = "Print the effective configuration as JSON and exit (a starting point for --config)." };
    private readonly Option<string?> Data = new("--data") { Description = "embedded or a data folder (Fashion-MNIST, CIFAR-10/100, TinyImageNet)." };
    private readonly Option<int?> Seed = new("--seed") { Description = "Seed of search, selection and training." };
    private readonly Option<int?> Candidates = new("--candidates") { Description = "Cells scored per kernel set." };
    private readonly Option<long?> Budget = new("--budget-params") { Description = "Parameter budget of the search." };
    private readonly Option<int?> Top = new("--top") { Description = "Candidates trained because their score is among the best." };
    private readonly Option<int?> Controls = new("--controls") { Description = "Random control candidates trained beside them." };
    private readonly Option<int?> Epochs = new("--epochs") { Description = "Training epochs of each selected candidate." };
    private readonly Option<string?> Profiles = new("--profiles") { Description = "Profiles to measure, comma-separated (cpu,edge,cuda,…)." };
    private readonly Option<string?> Target = new("--target") { Description = "Profile whose latency steers selection (untrained exports measured before training); 'none' for no target." };
    private readonly Option<double?> MaxLatency = new("--max-latency-ms") { Description = "Candidates slower than this at batch 1 on the target are not trained." };
    private readonly Option<long?> MaxParams = new("--max-params") { Description = "Parameter bound (search budget and ranking constraint)." };
    private readonly Option<double?> MinAccuracy = new("--min-accuracy") { Description = "Top-1 accuracy bound of the ranking, a fraction (0.85)." };
    private readonly Option<string?> Stage = new("--stage") { Description = "Run only this stage (a scheduler task): kernel-study, search, select, train, export, evaluate, rank or report; earlier stages must be complete." };
    private readonly Option<string?> ShardOption = new("--shard") { Description = "With --stage kernel-study|search|train|export|evaluate: do shard i of n (0-based, e.g. 1/3); default from SLURM_ARRAY_TASK_ID/COUNT or JOB_COMPLETION_INDEX." };
    private readonly Option<int?> Threads = new("--threads") { Description = "Torch threads of the kernel study's and the train stage's training in this process (default: training.threads): how a run's worker processes get their share of the cores. Not stored in run.json; give it again on --resume." };
    private readonly LaunchArguments Launch = new();

    private RunCommand()
    {
    }

    /// <summary>Builds the command.</summary>
    public static Command Create() => new RunCommand().Build();

    private Command Build()
    {
        var cmd = new Command("run", "The SpiKernel method end to end: kernel study → search → select → train → export → evaluate → rank → report, resumable.");
        foreach (Option o in new Option[] { Config, Preset, Out, Resume, PrintConfig, Data, Seed, Candidates, Budget, Top, Controls, Epochs, Profiles, Target, MaxLatency, MaxParams, MinAccuracy, Stage, ShardOption, Threads }.Concat(Launch.All))
            cmd.Options.Add(o);
        cmd.SetAction(r => CommandRunner.Run(cancel =>
        {
            string? resume = r.GetValue(Resume);
            (RunConfig config, string dir) = new RunRequest(r.GetValue(Config), r.GetValue(Preset), resume, r.GetValue(Out), c => Overrides(r, c))
                .Resolve(Environment.CurrentDirectory);
            Launch.RefuseWithoutEmit(r);
            if (r.GetValue(PrintConfig))
            {
                foreach (Option o in new Option[] { Stage, ShardOption, Threads, Launch.Emit }) Parse.OnlyWhere(r, o, false, "by a run, not with --print-config");
                // what it prints is a configuration that runs: checked as the run checks it before it starts, on its data
                _ = RunPlan.CheckedAgainstData(config, why => Console.Error.WriteLine($"spikernel: data: {why}; not readable here, so the configuration is not checked against it"));
                Console.Out.Write(RunConfigFile.Format(config));
                return ExitCodes.Ok;
            }
            if (r.GetValue(Launch.Emit) is not null)
            {
                // the launch files give each task its stage, shard and threads: here they would be ignored
                foreach (Option o in new Option[] { Stage, ShardOption, Threads }) Parse.OnlyWhere(r, o, false, "by a task itself, not with --emit");
                EmitResult emitted = ConsoleProgress.Run(p => new EmitStage().Run(new EmitOptions(config, dir, Launch.Parse(r, dir)), p, cancel));
                CommandRunner.Out.MarkupLine(Markup.Escape($"{emitted.RunJson} and {emitted.Files.Count} launch files; submit with {emitted.Files[0]}"));
                return ExitCodes.Ok;
            }
            string? stage = r.GetValue(Stage);
            Parse.OnlyWhere(r, Threads, stage is null or "kernel-study" or "train", "by the trainings (a whole run, --stage kernel-study or --stage train)");
            if (!LocalWorkers.TieToParent()) return CommandRunner.Fail("this worker's run has ended; nothing done", ExitCodes.Cancelled);
            Shard? shard = stage is null
                ? (r.GetValue(ShardOption) is { } s ? Shard.Parse(s) : null)
                : Shard.Resolve(r.GetValue(ShardOption), Environment.GetEnvironmentVariable, config.ScaleOut.Shards);
            var options = new RunStageOptions(config, dir, resume is not null, stage, shard, LaunchArguments.ThisInstallation(), r.GetValue(Threads));
            RunResult result = ConsoleProgress.Run(p => new RunStage().Run(options, p, cancel));
            if (stage is null or "rank" or "report") Print(result);
            return ExitCodes.Ok;
        }, interrupted: "interrupted; everything completed is kept: continue with spikernel run --resume FOLDER"));
        return cmd;
    }

    private RunConfig Overrides(ParseResult r, RunConfig c)
    {
        c = c with
        {
            Data = r.GetValue(Data) ?? c.Data,
            Seed = r.GetValue(Seed) ?? c.Seed,
            Search = c.Search with
            {
                Candidates = r.GetValue(Candidates) ?? c.Search.Candidates,
                BudgetParameters = r.GetValue(Budget) ?? c.Search.BudgetParameters,
            },
            Selection = c.Selection with { Top = r.GetValue(Top) ?? c.Selection.Top, Controls = r.GetValue(Controls) ?? c.Selection.Controls },
            Training = c.Training with { Epochs = r.GetValue(Epochs) ?? c.Training.Epochs },
            Target = c.Target with
            {
                MaxLatencyMs = r.GetValue(MaxLatency) ?? c.Target.MaxLatencyMs,
                MaxParameters = r.GetValue(MaxParams) ?? c.Target.MaxParameters,
                MinAccuracy = r.GetValue(MinAccuracy) ?? c.Target.MinAccuracy,
            },
        };
        if (r.GetValue(Profiles) is { } profiles)
            c = c with { Evaluation = c.Evaluation with { Profiles = profiles.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) } };
        if (r.GetValue(Target) is { } target)
            c = c with { Target = c.Target with { Profile = target.Equals("none", StringComparison.OrdinalIgnoreCase) ? null : target } };
        return c;
    }

    private static void Print(RunResult result)
    {
        IAnsiConsole console = CommandRunner.Out;
        static string P(double? v) => v?.ToString("P2", CultureInfo.InvariantCulture) ?? "";
        var table = new Table().AddColumns("candidate", "role", "score rank", "parameters", "target ms", "status", "top-1");
        foreach (SelectionRow s in result.Selection)
            table.AddRow(s.CandidateId, CsvFormat.Word(s.Role), s.ScoreRank?.ToString(CultureInfo.InvariantCulture) ?? "",
                s.Parameters.ToString("N0", CultureInfo.InvariantCulture), s.TargetLatencyMs?.ToString("0.###", CultureInfo.InvariantCulture) ?? "",
                Markup.Escape(CsvFormat.Word(s.Status)), P(s.AccuracyTop1));
        console.Write(table);
        console.MarkupLine(Markup.Escape(result.Check.Sentence));
        foreach (Recommendation rec in result.Recommendations)
            console.MarkupLine($"[bold]{Markup.Escape(rec.Profile)}[/]: {Markup.Escape(rec.Why)}");
        RunLayout l = result.Layout;
        console.MarkupLine($"run folder [bold]{Markup.Escape(l.Root)}[/]: report.html, ranking.csv, results.csv, models/, selection.csv, run.log; {result.Seconds.ToString("F0", CultureInfo.InvariantCulture)} s");
    }
}
