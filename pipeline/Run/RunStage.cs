using System.Diagnostics;
using System.Globalization;
using SpiKernel.Core;
using SpiKernel.Pipeline.Data;
using SpiKernel.Pipeline.Ranking;
using SpiKernel.Pipeline.ScaleOut;
using SpiKernel.Pipeline.Stages;

namespace SpiKernel.Pipeline.Run;

/// <summary>Settings of <see cref="RunStage"/>.</summary>
/// <param name="Config">Every setting of every stage.</param>
/// <param name="Directory">The run folder (<see cref="RunLayout"/>).</param>
/// <param name="Resume">The caller means to continue a run there (refused when there is none).</param>
/// <param name="Only">Run just this stage (a scheduler task; docs/scale-out.md) or <c>merge</c>; null: every stage in turn.</param>
/// <param name="Shard">With <paramref name="Only"/> a sharded stage (kernel-study, search, train, export, evaluate): the units this task does.</param>
/// <param name="Launcher">How this installation starts itself: with it, a run of every stage trains its candidates in
/// worker processes (<see cref="ScaleOutConfig.LocalWorkers"/>), and the kernel study its sizes; null: in this process.</param>
/// <param name="Threads">Torch threads of this process's training, instead of training.threads (a local worker's share of
/// the cores); not part of the configuration.</param>
public sealed record RunStageOptions(RunConfig Config, string Directory, bool Resume = false, string? Only = null, Shard? Shard = null,
    SelfLauncher? Launcher = null, int? Threads = null);

/// <summary>What a run produced.</summary>
/// <param name="Layout">Where everything is.</param>
/// <param name="Selection">The candidates chosen, their roles and accuracies.</param>
/// <param name="Recommendations">One model per profile, with why.</param>
/// <param name="Check">Whether the training-free score helped on this data.</param>
/// <param name="Seconds">Wall time of this invocation.</param>
public sealed record RunResult(RunLayout Layout, IReadOnlyList<SelectionRow> Selection, IReadOnlyList<Recommendation> Recommendations,
    ScoreCheck Check, double Seconds);

/// <summary>
/// <c>spikernel run</c>: the SpiKernel method end to end on one run folder — kernel-size study → kernel sets → search
/// under the budget → selection (top K and random controls, filtered by latency on the target) → train → export (fp32
/// and int8, verified) → evaluate on every profile → rank → report. Every stage, and every candidate within one, is a
/// unit that is complete (outputs written atomically, a marker recorded) or redone, so a run killed at any moment
/// continues with <c>--resume</c> and ends with the same ranking.
/// </summary>
public sealed class RunStage : IStage<RunStageOptions, RunResult>
{
    /// <inheritdoc />
    public string Name => "run";

    /// <inheritdoc />
    public bool IsComplete(RunStageOptions options) =>
        StageMarker.Matches(options.Directory, Name, RunConfigFile.Format(options.Config));

    /// <summary>The stages in order, as <c>--stage</c> names them.</summary>
    public static IReadOnlyList<string> StageNames { get; } = ["kernel-study", "search", "select", "train", "export", "evaluate", "rank", "report"];

    /// <summary>The stages whose units (kernel sizes, candidates) split over shards.</summary>
    public static IReadOnlyList<string> ShardedStages { get; } = ["kernel-study", "search", "train", "export", "evaluate"];

    /// <summary>The pseudo-stage that joins shard outputs (<c>spikernel merge</c>).</summary>
    public const string Merge = "merge";

    /// <inheritdoc />
    public RunResult Run(RunStageOptions options, IProgressObserver progress, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(progress);
        Shard shard = CheckStage(options);
        RunPlan plan = RunPlan.From(options.Config);
        if (options.Threads is { } threads)
        {
            if (threads < 1) throw new SettingsException($"--threads must be 1 or more (got {threads})");
            plan = plan with { Training = plan.Training with { Threads = threads }, StudyTraining = plan.StudyTraining with { Threads = threads } };
        }
        var layout = new RunLayout(options.Directory);
        RunConfig? recorded = CheckFolder(options, layout, shard);
        // a later stage's task on a folder without a run would write run.json (fixing the folder's settings) and fail
        string first = plan.StudySizes is null ? "search" : "kernel-study";
        if (options.Only == "kernel-study" && plan.StudySizes is null) throw NoSuchStage("kernel-study");
        if (recorded is null && options.Only is { } asked && asked != first && StageNames.Contains(asked))
            throw new SettingsException($"--stage {asked}: {layout.Root} holds no run yet (no run.json); its first stage starts it (--stage {first}, or the whole run)");
        DataSplit data = DatasetCatalog.Load(options.Config.Data);
        plan = plan.FittedTo(data.Train);
        OutputFolder.EnsureWritable(layout.Root);
        string[] reranked = recorded is null ? [] : RunConfigFile.Differences(recorded, options.Config).Where(RunConfigFile.RankingOnly).ToArray();
        if (recorded is null) RunConfigFile.Save(options.Config, layout.Config);
        else if (reranked.Length > 0)
        {
            if (options.Only is not (null or "rank" or "report"))
                throw new SettingsException($"{string.Join(", ", reranked)} changed: give the new ranking settings to the rank task (--stage rank) or the whole run, not to {options.Only}");
            RunConfigFile.Save(options.Config with { ScaleOut = recorded.ScaleOut }, layout.Config); // recorded: a later resume keeps them
        }

        var clock = Stopwatch.StartNew();
        string log = options.Only is { } only ? layout.StageLog(only, shard.FileTag) : layout.Log;
        Directory.CreateDirectory(Path.GetDirectoryName(log)!);
        using var view = new RunProgress(progress, log);
        view.Note($"spikernel {ToolInfo.Version} run {layout.Root} (preset {options.Config.Preset}, seed {options.Config.Seed})" +
                  (options.Only is null ? "" : $", stage {options.Only}" + (ShardedStages.Contains(options.Only) ? $" shard {shard}" : "")));
        if (reranked.Length > 0) view.Note($"ranking settings changed ({string.Join(", ", reranked)}): recorded in run.json; the run ranks again on its measurements");
        using IDisposable? held = options.Only is { } sharded && ShardedStages.Contains(sharded) ? ShardLock.Take(layout.Root, sharded, shard) : null;
        var run = new RunSteps(plan, layout, data, view, shard, stageMode: options.Only is not null, cancel) { Launcher = options.Launcher };
        var steps = new List<(string Name, Action<StepMode> Body)>();
        if (plan.StudySizes is not null) steps.Add(("kernel-study", run.KernelStudy));
        steps.AddRange([("search", run.Search), ("select", run.Select), ("train", run.Train), ("export", run.Export),
            ("evaluate", run.Evaluate), ("rank", mode => { if (mode != StepMode.Check) run.Rank(); }), // checked through evaluate; a task after it ranks once
            ("report", _ => run.Report())]);
        if (options.Only == Merge) MergeShards(steps, view);
        else if (options.Only is { } stage) RunOne(steps, stage, view, cancel);
        else RunAll(steps, view, cancel);
        ScoreCheck check = ScoreCheck.Of(run.Selected);
        if (options.Only is null or "report")
        {
            view.Note(check.Sentence);
            StageMarker.Write(layout.Root, Name, RunConfigFile.Format(options.Config));
        }
        view.Note(string.Create(CultureInfo.InvariantCulture, $"{RunProgress.Finished(options.Only ?? "run")}{clock.Elapsed.TotalSeconds:F0} s"));
        return new RunResult(layout, run.Selected, run.Recommendations, check, clock.Elapsed.TotalSeconds);
    }

    private static void RunAll(List<(string Name, Action<StepMode> Body)> steps, RunProgress view, CancellationToken cancel)
    {
        for (int i = 0; i < steps.Count; i++)
        {
            cancel.ThrowIfCancellationRequested();
            view.Stage(i + 1, steps.Count, steps[i].Name);
            var watch = Stopwatch.StartNew();
            steps[i].Body(StepMode.Run);
            view.Note(string.Create(CultureInfo.InvariantCulture, $"{RunProgress.StageDone}{watch.Elapsed.TotalSeconds:F1} s"));
        }
    }

    // the stages before it are read (merged first when a single task runs it; only checked when it is a shard), then it runs
    private static void RunOne(List<(string Name, Action<StepMode> Body)> steps, string stage, RunProgress view, CancellationToken cancel)
    {
        int at = steps.FindIndex(s => s.Name == stage);
        if (at < 0) throw NoSuchStage(stage);
        // every stage before it is checked first; a single task then merges them (nothing is written unless all check out)
        IEnumerable<StepMode> passes = ShardedStages.Contains(stage) ? [StepMode.Check] : [StepMode.Check, StepMode.Gather];
        foreach (StepMode pass in passes)
            for (int i = 0; i < at; i++)
            {
                cancel.ThrowIfCancellationRequested();
                view.Stage(i + 1, steps.Count, steps[i].Name);
                steps[i].Body(pass);
            }
        view.Stage(at + 1, steps.Count, stage);
        var watch = Stopwatch.StartNew();
        steps[at].Body(StepMode.Run);
        view.Note(string.Create(CultureInfo.InvariantCulture, $"{RunProgress.StageDone}{watch.Elapsed.TotalSeconds:F1} s"));
    }

    // joins every stage that has run, up to the first that has not; all of them are checked before anything is written
    private static void MergeShards(List<(string Name, Action<StepMode> Body)> steps, RunProgress view)
    {
        var ran = new List<(string Name, Action<StepMode> Body)>();
        foreach ((string name, Action<StepMode> body) in steps.TakeWhile(s => s.Name is not ("rank" or "report")))
        {
            try
            {
                body(StepMode.Check);
                ran.Add((name, body));
            }
            catch (StageNotRunException ex) when (ex.Stage == name)
            {
                view.Note($"{name}: not run yet; merging up to here");
                break;
            }
        }
        foreach ((string name, Action<StepMode> body) in ran)
        {
            body(StepMode.Gather);
            view.Note($"{name}: complete");
        }
    }

    private static Shard CheckStage(RunStageOptions o)
    {
        if (o.Only is null)
        {
            if (o.Shard is not null) throw new SettingsException("--shard needs --stage: a sharded run is one scheduler task per stage (spikernel run --emit slurm|k8s writes them; docs/scale-out.md)");
            return Shard.All;
        }
        if (o.Only != Merge && !StageNames.Contains(o.Only))
            throw new SettingsException($"--stage '{o.Only}': expected one of {string.Join(", ", StageNames)} (or use spikernel merge)");
        if (o.Shard is { Count: > 1 } s && !ShardedStages.Contains(o.Only))
            throw new SettingsException($"--shard {s}: {o.Only} runs as one task; only {string.Join(", ", ShardedStages)} split into shards");
        return o.Shard ?? Shard.All;
    }

    // the folder's run.json (null for a new run) when this run may continue it
    private static SettingsException NoSuchStage(string stage) => new($"--stage {stage}: this run has no such stage (kernel_study.enabled is false)");

    private static RunConfig? CheckFolder(RunStageOptions options, RunLayout layout, Shard shard)
    {
        if (!File.Exists(layout.Config))
        {
            if (shard.Count > 1 || options.Only == Merge)
                throw new SettingsException($"{layout.Root}: no run.json; write it before the shards start (spikernel run --emit slurm|k8s --out {layout.Root}, or run its first stage there without --shard)");
            if (options.Resume) throw new InvalidDataException($"{layout.Root}: nothing to resume (no run.json); start a run there without --resume");
            return null;
        }
        RunConfig existing = RunConfigFile.LoadOfRun(layout.Root);
        // scale_out shapes how the work is split, not what it gives: a folder emitted for 3 shards runs unsharded too
        // nor do the ranking's own settings: a resume that changes them ranks again on the same measurements
        string[] differ = RunConfigFile.Differences(existing, options.Config)
            .Where(k => !k.StartsWith("scale_out.", StringComparison.Ordinal) && !RunConfigFile.RankingOnly(k)).ToArray();
        if (differ.Length > 0)
            throw new SettingsException($"{layout.Root} holds a run with another configuration (differs in {string.Join(", ", differ)}); resume it with its own settings (run --resume {layout.Root}) or start this one in another folder with --out DIR");
        return existing;
    }
}
