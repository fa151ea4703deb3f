using System.Diagnostics;
using System.Globalization;
using SpiKernel.Core;
using SpiKernel.Core.Csv;
using SpiKernel.Evaluators;
using SpiKernel.Evaluators.Results;
using SpiKernel.Exporters;
using SpiKernel.Models.Architecture;
using SpiKernel.Models.Search;
using SpiKernel.Pipeline.Data;
using SpiKernel.Pipeline.Ranking;
using SpiKernel.Pipeline.Search;
using SpiKernel.Pipeline.Stages;

namespace SpiKernel.Pipeline.Run;

/// <summary>Settings of <see cref="RunStage"/>.</summary>
/// <param name="Config">Every setting of every stage.</param>
/// <param name="Directory">The run folder (<see cref="RunLayout"/>).</param>
/// <param name="Resume">The caller means to continue a run there (refused when there is none).</param>
public sealed record RunStageOptions(RunConfig Config, string Directory, bool Resume = false);

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

    /// <inheritdoc />
    public RunResult Run(RunStageOptions options, IProgressObserver progress, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(progress);
        RunPlan plan = RunPlan.From(options.Config);
        var layout = new RunLayout(options.Directory);
        CheckFolder(options, layout);
        DataSplit data = DatasetCatalog.Load(options.Config.Data);
        plan = plan.FittedTo(data.Train);
        OutputFolder.EnsureWritable(layout.Root);
        if (!File.Exists(layout.Config)) RunConfigFile.Save(options.Config, layout.Config);

        var clock = Stopwatch.StartNew();
        using var view = new RunProgress(progress, layout.Log);
        view.Note($"spikernel {ToolInfo.Version} run {layout.Root} (preset {options.Config.Preset}, seed {options.Config.Seed})");
        var steps = new List<(string Name, Action Body)>();
        var run = new Steps(plan, layout, data, view, cancel);
        if (plan.StudySizes is not null) steps.Add(("kernel-study", run.KernelStudy));
        steps.AddRange([("search", run.Search), ("select", run.Select), ("train", run.Train), ("export", run.Export),
            ("evaluate", run.Evaluate), ("rank", run.Rank), ("report", run.Report)]);
        for (int i = 0; i < steps.Count; i++)
        {
            cancel.ThrowIfCancellationRequested();
            view.Stage(i + 1, steps.Count, steps[i].Name);
            var watch = Stopwatch.StartNew();
            steps[i].Body();
            view.Note(string.Create(CultureInfo.InvariantCulture, $"stage done in {watch.Elapsed.TotalSeconds:F1} s"));
        }
        ScoreCheck check = ScoreCheck.Of(run.Selected);
        view.Note(check.Sentence);
        StageMarker.Write(layout.Root, Name, RunConfigFile.Format(options.Config));
        view.Note(string.Create(CultureInfo.InvariantCulture, $"run finished in {clock.Elapsed.TotalSeconds:F0} s"));
        return new RunResult(layout, run.Selected, run.Recommendations, check, clock.Elapsed.TotalSeconds);
    }

    private static void CheckFolder(RunStageOptions options, RunLayout layout)
    {
        if (!File.Exists(layout.Config))
        {
            if (options.Resume) throw new InvalidDataException($"{layout.Root}: nothing to resume (no run.json); start a run there without --resume");
            return;
        }
        RunConfig existing = RunConfigFile.Load(layout.Config);
        IReadOnlyList<string> differ = RunConfigFile.Differences(existing, options.Config);
        if (differ.Count > 0)
            throw new SettingsException($"{layout.Root} holds a run with another configuration (differs in {string.Join(", ", differ)}); resume it with its own settings (run --resume {layout.Root}) or use another folder");
    }

    /// <summary>The stages' bodies, sharing what one stage hands the next.</summary>
    private sealed class Steps(RunPlan plan, RunLayout layout, DataSplit data, RunProgress view, CancellationToken cancel)
    {
        private readonly RunConfig _c = plan.Config;
        private IReadOnlyList<(string Name, KernelSet Set)> _sets = plan.KernelSets;
        private IReadOnlyList<CandidateRow> _candidates = [];

        public List<SelectionRow> Selected { get; private set; } = [];

        public IReadOnlyList<Recommendation> Recommendations { get; private set; } = [];

        private IEnumerable<SelectionRow> Trainable => Selected.Where(s => s.Status != SelectionStatus.OverLatency);

        public void KernelStudy()
        {
            var stage = new KernelStudyStage();
            var options = new KernelStudyOptions(plan.Template, plan.StudySizes!, plan.StudyTraining, layout.KernelStudy, _c.Data,
                TrainImages: _c.KernelStudy.TrainImages);
            string proposed = Path.Combine(layout.KernelStudy, KernelStudyStage.ProposedSetsFile);
            IReadOnlyList<(string, KernelSet)> sets = stage.IsComplete(options)
                ? Models.Search.KernelStudy.ParseFile(proposed)
                : stage.Run(options, view, cancel).Proposed.Select(p => (p.Name, p.Set)).ToArray();
            if (_sets.Count == 0) _sets = sets;
            view.Note($"kernel sets searched: {string.Join("; ", _sets.Select(s => $"{s.Name} {{{s.Set}}}"))}");
        }

        public void Search()
        {
            var search = new SearchOptions(_sets, plan.Cell, _c.Search.Candidates, plan.BudgetParameters, _c.Search.Batch, _c.Search.Repeat,
                Top: _c.Selection.Top, Seed: _c.Seed);
            var options = new SearchStageOptions(plan.Template, search, layout.Search, _c.Data, Threads: _c.Training.Threads, Resume: true,
                Predictor: _c.Search.Predictor);
            var stage = new SearchStage();
            _candidates = stage.IsComplete(options) ? CsvFile.ReadAll<CandidateRow>(layout.Candidates) : stage.Run(options, view, cancel).Search.Rows;
            int scored = _candidates.Count(r => r.Status == CandidateStatus.Scored);
            view.Note($"{scored} of {_candidates.Count} candidates scored");
            if (scored == 0) throw new InvalidDataException($"{layout.Candidates}: no candidate could be scored (see its status and reason columns)");
        }

        public void Select()
        {
            if (File.Exists(layout.Selection))
            {
                Selected = CsvFile.ReadAll<SelectionRow>(layout.Selection);
                return;
            }
            Selection.LatencyProbe? probe = plan.Target is null ? null : new TargetLatency(plan, layout, data, view, cancel).Measure;
            Selected = Selection.Choose(_candidates, _c.Selection, _c.Seed, probe, _c.Target.MaxLatencyMs);
            if (!Trainable.Any())
                throw new SettingsException($"no candidate fits target.max_latency_ms = {_c.Target.MaxLatencyMs?.ToString(CultureInfo.InvariantCulture)} on {plan.Target?.Name} (see {layout.Selection})");
            CsvFile.WriteAll(layout.Selection, Selected);
            foreach (SelectionRow s in Selected)
                view.Note($"{s.Role.ToString().ToLowerInvariant(),-7} {s.CandidateId} score rank {s.ScoreRank} {s.Status.ToString().ToLowerInvariant()} {s.Reason}".TrimEnd());
        }

        public void Train()
        {
            var stage = new TrainStage();
            SelectionRow[] todo = Trainable.ToArray();
            for (int i = 0; i < todo.Length; i++)
            {
                SelectionRow s = todo[i];
                view.Note($"candidate {i + 1}/{todo.Length}: {s.CandidateId} ({s.Role.ToString().ToLowerInvariant()})");
                var options = new TrainStageOptions(SnnArchitecture.Parse(s.Architecture), plan.Training, layout.TrainFolder(s.CandidateId), _c.Data,
                    TrainImages: _c.Training.TrainImages);
                TrainStageResult result = stage.RunOrResume(options, view, cancel);
                Selected[Selected.IndexOf(s)] = s with { Status = SelectionStatus.Trained, AccuracyTop1 = result.Training.TestAccuracy };
                CsvFile.WriteAll(layout.Selection, Selected);
                view.Note(string.Create(CultureInfo.InvariantCulture, $"{s.CandidateId}: test accuracy {result.Training.TestAccuracy:P2}"));
            }
        }

        public void Export()
        {
            var stage = new ExportStage();
            Directory.CreateDirectory(layout.Models);
            foreach (SelectionRow s in Trainable)
                foreach (ExportOptions export in plan.Exports)
                {
                    string path = export.Precision == WeightPrecision.Int8 ? layout.Int8Model(s.CandidateId) : layout.Model(s.CandidateId);
                    var options = new ExportStageOptions(layout.TrainFolder(s.CandidateId), path, export, Verify: true, _c.Export.VerifyImages, _c.Data);
                    if (stage.IsComplete(options)) continue;
                    ExportStageResult r = stage.Run(options, view, cancel);
                    VerificationResult v = r.Verification!.Deployed;
                    view.Note(string.Create(CultureInfo.InvariantCulture,
                        $"{Path.GetFileName(path)}: {r.Bytes:N0} bytes, verified on {v.Samples} images: max |Δlogits| {v.MaxAbsLogitDiff:E2}, {v.DifferingSpikeCounts} differing spike counts"));
                }
        }

        public void Evaluate()
        {
            var stage = new EvaluateStage();
            string dir = Path.Combine(layout.Root, "evaluations");
            Directory.CreateDirectory(dir);
            var files = new List<string>();
            foreach (SelectionRow s in Trainable)
            {
                string csv = Path.Combine(dir, s.CandidateId + ".csv");
                files.Add(csv);
                var options = new EvaluateStageOptions(layout.Model(s.CandidateId), csv, plan.Profiles, _c.Evaluation.BatchSizes, plan.Latency,
                    PrecisionChoice.Auto, _c.Data, _c.Evaluation.Limit, Resume: true);
                if (stage.IsComplete(options)) continue;
                stage.Run(options, view, cancel); // a unit cut short keeps the measurements it finished and adds the rest
            }
            CsvFile.WriteAll(layout.Results, files.SelectMany(CsvFile.ReadAll<EvaluationRow>));
            CsvFile.WriteAll(EvaluateStage.LayersPath(layout.Results), files.SelectMany(f => CsvFile.ReadAll<LayerRow>(EvaluateStage.LayersPath(f))));
        }

        public void Rank()
        {
            var options = new RankStageOptions([layout.Results], layout.Ranking, plan.Constraints, plan.Objectives, layout.Candidates);
            Recommendations = new RankStage().Run(options, view, cancel).Recommendations;
        }

        public void Report()
        {
            var options = new ReportStageOptions(layout.Root);
            var stage = new ReportStage();
            if (stage.IsComplete(options)) return;
            ReportStageResult r = stage.Run(options, view, cancel);
            view.Note($"{r.HtmlPath} ({r.Present.Count} sections; missing: {(r.Missing.Count == 0 ? "none" : string.Join("; ", r.Missing))})");
        }
    }
}
