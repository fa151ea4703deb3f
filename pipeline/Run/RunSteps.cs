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
using SpiKernel.Pipeline.ScaleOut;
using SpiKernel.Pipeline.Search;
using SpiKernel.Pipeline.Stages;
using SpiKernel.Pipeline.Training;

namespace SpiKernel.Pipeline.Run;

/// <summary>
/// The stages' bodies, sharing what one stage hands the next. Each body is taken in one of three modes
/// (<see cref="StepMode"/>); the units of sharded stages (kernel sizes, candidates) are split by <paramref name="shard"/>, and a
/// shard never writes a file another shard or a merged output owns.
/// </summary>
internal sealed class RunSteps(RunPlan plan, RunLayout layout, DataSplit data, RunProgress view, Shard shard, bool stageMode, CancellationToken cancel)
{
    private readonly RunConfig _c = plan.Config;
    private readonly ShardLedger _ledger = new(layout.Root, RunConfigFile.Fingerprint(plan.Config), plan.Config.ScaleOut.Shards);
    private IReadOnlyList<(string Name, KernelSet Set)> _sets = plan.KernelSets;
    private readonly HashSet<string> _said = new(StringComparer.Ordinal); // a summary line a check and its gather would both print
    private IReadOnlyList<CandidateRow> _candidates = [];

    public List<SelectionRow> Selected { get; private set; } = [];

    /// <summary>How the tool starts itself; with it, a run of every stage trains in worker processes (<see cref="LocalWorkers"/>).</summary>
    public SelfLauncher? Launcher { get; init; }

    public IReadOnlyList<Recommendation> Recommendations { get; private set; } = [];

    /// <summary>The candidates trained, exported and evaluated, in selection order: the units of those stages.</summary>
    private SelectionRow[] Trainable => Selected.Where(s => s.Status is SelectionStatus.Selected or SelectionStatus.Trained).ToArray();

    private string Fingerprint => _ledger.Fingerprint;

    private void Once(string line)
    {
        if (_said.Add(line)) view.Note(line);
    }

    public void KernelStudy(StepMode mode)
    {
        var stage = new KernelStudyStage();
        var options = new KernelStudyOptions(plan.Template, plan.StudySizes!, plan.StudyTraining, layout.KernelStudy, _c.Data,
            TrainImages: _c.KernelStudy.TrainImages, BudgetParameters: plan.BudgetParameters, ValidationImages: _c.KernelStudy.ValidationImages);
        int[] sizes = plan.StudySizes!.Sizes.ToArray();
        string[] names = sizes.Select(KernelStudyStage.SizeName).ToArray();
        IReadOnlyList<(string, KernelSet)> sets;
        if (stage.IsComplete(options)) sets = Models.Search.KernelStudy.ParseFile(Path.Combine(layout.KernelStudy, KernelStudyStage.ProposedSetsFile));
        else
        {
            if (mode == StepMode.Run && !stageMode && InWorkers(sizes.Length, plan.StudyTraining.Threads) is { } workers)
            {
                // the largest kernels first: they take longest, so the workers end together
                int[] left = Enumerable.Range(0, sizes.Length).Where(u => !stage.IsSizeComplete(options, sizes[u])).OrderByDescending(u => sizes[u]).ToArray();
                if (left.Length > 0) StartWorkers("kernel-study", left, sizes.Length, u => names[u], workers, sizes.Length - left.Length);
                mode = StepMode.Gather;
            }
            if (mode == StepMode.Run)
            {
                stage.TrainSizes(options, shard.Select(sizes), view, cancel);
                if (stageMode) Done("kernel-study", shard.Select(names), "size");
                if (shard.Count > 1) return; // with the other shards' sizes, select (or merge) writes the study's outputs
            }
            else
            {
                Require("kernel-study", sizes, KernelStudyStage.SizeName, k => stage.IsSizeComplete(options, k), k => Directory.Exists(KernelStudyStage.SizeOptions(options, k).OutputDirectory));
            }
            // every size is trained: a single task writes the study's outputs; a shard of the stage after reads them in memory
            sets = stage.Summarize(options, write: mode != StepMode.Check).Proposed.Select(p => (p.Name, p.Set)).ToArray();
        }
        if (_sets.Count == 0) _sets = sets;
        Once($"kernel sets searched: {string.Join("; ", _sets.Select(s => $"{s.Name} {{{s.Set}}}"))}");
    }

    public void Search(StepMode mode)
    {
        var search = new SearchOptions(_sets, plan.Cell, _c.Search.Candidates, plan.BudgetParameters, _c.Search.Batch, _c.Search.Repeat,
            Top: _c.Selection.Top, Seed: _c.Seed);
        var options = new SearchStageOptions(plan.Template, search, layout.Search, _c.Data, Threads: _c.Training.Threads, Resume: true,
            Predictor: _c.Search.Predictor, PredictLayout: plan.Exports[0].Layout); // predicted for the files the run will export
        var stage = new SearchStage();
        int? shards = null; // the search's shard count when it runs here and finds itself sharded
        if (stage.IsComplete(options)) _candidates = CsvFile.ReadAll<CandidateRow>(layout.Candidates);
        else if (mode == StepMode.Run && stageMode && shard.Count > 1)
        {
            IReadOnlyList<string> units = stage.RunShard(options, Fingerprint, shard, view, cancel);
            ShardRecord.Write(layout.Root, "search", shard, Fingerprint, units);
            view.Note($"search shard {shard}: {units.Count} candidates in {SearchStage.ShardFile(layout.Search, Fingerprint, shard)}");
            return;
        }
        else if (mode == StepMode.Check && Directory.Exists(Path.Combine(layout.Search, "shards")))
        {
            stage.VerifyShards(options, _ledger); // complete, not merged yet: the task after the check merges
            view.Note("search: every shard complete");
            return;
        }
        else if (mode == StepMode.Run && (shards = ShardCount()) is null) _candidates = stage.Run(options, view, cancel).Search.Rows;
        else if (mode is StepMode.Run or StepMode.Gather && Directory.Exists(Path.Combine(layout.Search, "shards")))
        {
            // a run that finds the search sharded (a scheduler's run, finished or not) scores the shards that did not
            // finish here, each as its task would, and merges them all instead of scoring everything again
            if (shards is { } count)
            {
                IReadOnlyList<Shard> busy = stage.CompleteShards(options, layout.Root, Fingerprint, count, view, cancel);
                if (busy.Count > 0)
                    throw new InvalidDataException($"search: shard{(busy.Count > 1 ? "s" : "")} {string.Join(", ", busy)} {(busy.Count > 1 ? "are" : "is")} running in another process; the others are scored: run again once {(busy.Count > 1 ? "they end" : "it ends")}");
            }
            _candidates = stage.Merge(options, _ledger, view, cancel).Search.Rows;
            view.Note($"search: merged {_ledger.Count("search")} shards into {layout.Candidates}");
        }
        else throw new StageNotRunException("search", layout.Root);
        int scored = _candidates.Count(r => r.Status == CandidateStatus.Scored);
        Once($"{scored} of {_candidates.Count} candidates scored");
        if (scored == 0) throw new InvalidDataException($"{layout.Candidates}: no candidate could be scored (see its status and reason columns)");
    }

    // the shard count of a search sharded for this configuration (its records consistent, or, with none yet, its shard
    // files' names); null: not sharded here
    private int? ShardCount()
    {
        if (!Directory.Exists(Path.Combine(layout.Search, "shards"))) return null;
        try
        {
            int count = ShardRecord.ReadAll(layout.Root, "search").Count > 0
                ? _ledger.Count("search", sameCount: true)
                : SearchStage.ShardFilesCount(layout.Search, Fingerprint);
            return count > 1 ? count : null;
        }
        catch (InvalidDataException ex)
        {
            view.Note($"search: the shards there cannot be used ({ex.Message}); scoring every candidate here");
            return null;
        }
    }

    public void Select(StepMode mode)
    {
        if (File.Exists(layout.Selection)) Selected = CsvFile.ReadAll<SelectionRow>(layout.Selection);
        else
        {
            if (mode != StepMode.Run) throw new StageNotRunException("select", layout.Root);
            Selection.LatencyProbe? probe = plan.Target is null ? null : new TargetLatency(plan, layout, data, view, cancel).Measure;
            Selected = Selection.Choose(_candidates, _c.Selection, _c.Seed, probe, _c.Target.MaxLatencyMs);
            CsvFile.WriteAll(layout.Selection, Selected); // with every candidate's latency and reason, also when none fits
            foreach (SelectionRow s in Selected)
                view.Note($"{CsvFormat.Word(s.Role),-7} {s.CandidateId} score rank {s.ScoreRank} {CsvFormat.Word(s.Status)} {s.Reason}".TrimEnd());
        }
        // only the latency budget removes candidates before training (the search refuses a run with none scored); ones
        // that diverged are the train step's to take again or refuse (RequireTrained)
        if (Trainable.Length == 0 && !Selected.Any(s => s.Status == SelectionStatus.Diverged))
            throw new SettingsException($"no candidate fits target.max_latency_ms = {_c.Target.MaxLatencyMs?.ToString(CultureInfo.InvariantCulture)} on {plan.Target?.Name} (see {layout.Selection})");
    }

    public void Train(StepMode mode)
    {
        var stage = new TrainStage();
        // a candidate that diverged stays a unit: the same units whatever selection.csv says, and one whose record was
        // deleted trains again
        SelectionRow[] units = Selected.Where(s => s.Status is SelectionStatus.Selected or SelectionStatus.Trained or SelectionStatus.Diverged).ToArray();
        Dictionary<string, TrainStageOptions> options = units.ToDictionary(s => s.CandidateId, s => new TrainStageOptions(SnnArchitecture.Parse(s.Architecture),
            plan.Training, layout.TrainFolder(s.CandidateId), _c.Data, TrainImages: _c.Training.TrainImages));
        TrainStageOptions Options(SelectionRow s) => options[s.CandidateId];
        if (mode == StepMode.Run && !stageMode && InWorkers(units.Length, plan.Training.Threads) is { } workers)
        {
            // the costliest first, so the last to start are short ones and the workers end together
            int[] left = Enumerable.Range(0, units.Length).Where(u => !stage.IsSettled(Options(units[u]))).OrderByDescending(u => units[u].Parameters).ThenBy(u => u).ToArray();
            if (left.Length > 0) StartWorkers("train", left, units.Length, u => units[u].CandidateId, workers, units.Length - left.Length);
            mode = StepMode.Gather; // every unit's shard is complete: read the accuracies into selection.csv
        }
        if (mode == StepMode.Run)
        {
            SelectionRow[] todo = Owned(units);
            for (int i = 0; i < todo.Length; i++)
            {
                SelectionRow s = todo[i];
                view.Note($"candidate {i + 1}/{todo.Length}: {s.CandidateId} ({CsvFormat.Word(s.Role)})");
                SelectionRow outcome;
                try
                {
                    double accuracy = stage.RunOrResume(Options(s), view, cancel).Training.TestAccuracy;
                    view.Note(string.Create(CultureInfo.InvariantCulture, $"{s.CandidateId}: test accuracy {accuracy:P2}"));
                    outcome = AsTrained(s, accuracy);
                }
                catch (TrainingDivergedException ex) // the candidate's outcome (its folder records it); the others go on
                {
                    view.Note($"{s.CandidateId}: not trained: {ex.Message}");
                    outcome = AsDiverged(s, ex.Message);
                }
                if (!stageMode) Record(s, outcome); // a shard leaves selection.csv to the merge
            }
            if (stageMode) Done("train", todo);
            else RequireTrained();
            return;
        }
        Require("train", units, s => stage.IsSettled(Options(s)), s => Directory.Exists(layout.TrainFolder(s.CandidateId)));
        SelectionRow[] pending = units.Where(s => s.Status != SelectionStatus.Trained).ToArray();
        SelectionRow[] outcomes = pending.Select(s => stage.Diverged(Options(s)) is { } why ? AsDiverged(s, why)
            : AsTrained(s, TrainStage.ReadCompleted(layout.TrainFolder(s.CandidateId)).Training.TestAccuracy)).ToArray();
        for (int i = 0; i < pending.Length; i++) Selected[Selected.IndexOf(pending[i])] = outcomes[i];
        if (mode == StepMode.Gather && pending.Length > 0) CsvFile.WriteAll(layout.Selection, Selected); // once, after every accuracy is read
        RequireTrained();
    }

    // a candidate trained after its record of divergence was deleted: that reason no longer holds
    private static SelectionRow AsTrained(SelectionRow s, double accuracy) =>
        s with { Status = SelectionStatus.Trained, AccuracyTop1 = accuracy, Reason = s.Status == SelectionStatus.Diverged ? "" : s.Reason };

    private static SelectionRow AsDiverged(SelectionRow s, string why) => s with { Status = SelectionStatus.Diverged, Reason = why };

    // a run goes on without the candidates whose training diverged, not without any
    private void RequireTrained()
    {
        if (Trainable.Length == 0 && Selected.FirstOrDefault(s => s.Status == SelectionStatus.Diverged) is { } first)
            throw new SettingsException($"the training of every selected candidate diverged (see {layout.Selection}); {first.CandidateId}: {first.Reason}");
    }

    public void Export(StepMode mode)
    {
        var stage = new ExportStage();
        IEnumerable<(ExportStageOptions Options, string Path)> Exports(SelectionRow s) => plan.Exports.Select(export =>
        {
            string path = export.Precision == WeightPrecision.Int8 ? layout.Int8Model(s.CandidateId) : layout.Model(s.CandidateId);
            return (new ExportStageOptions(layout.TrainFolder(s.CandidateId), path, export, Verify: true, _c.Export.VerifyImages, _c.Data), path);
        });
        if (mode != StepMode.Run)
        {
            Require("export", Trainable, s => Exports(s).All(e => stage.IsComplete(e.Options) || stage.IsRefused(e.Options) && !File.Exists(e.Path)), s => Exports(s).Any(e => File.Exists(e.Path)));
            return;
        }
        Directory.CreateDirectory(layout.Models);
        SelectionRow[] todo = Owned(Trainable);
        foreach (SelectionRow s in todo)
            foreach ((ExportStageOptions options, string path) in Exports(s))
            {
                if (stage.IsComplete(options)) continue;
                if (stage.IsRefused(options)) // noted when these weights' file was refused
                {
                    if (Withdraw(s.CandidateId, path)) view.Note($"{Path.GetFileName(path)}: refused for these weights earlier; an older file of that name and its rows removed");
                    continue;
                }
                // a file new to the evaluation (an int8 file accepted after a refusal) is measured: reopened before the
                // export's marker can say the file is done, so a kill between the two cannot leave it unmeasured
                EvaluateStage.Reopen(layout.Evaluation(s.CandidateId));
                ExportStageResult r;
                try
                {
                    r = stage.Run(options, view, cancel);
                }
                catch (VerificationException ex) when (stage.IsRefused(options)) // an int8 file that loses more answers than rounding may
                {
                    Withdraw(s.CandidateId, path);
                    view.Note($"{Path.GetFileName(path)} not kept: {ex.Message}; the int8 profiles measure {Path.GetFileName(layout.Model(s.CandidateId))}");
                    continue;
                }
                VerificationResult v = r.Verification!.Deployed;
                view.Note(string.Create(CultureInfo.InvariantCulture,
                    $"{Path.GetFileName(path)}: {r.Bytes:N0} bytes, verified on {v.Samples} images: max |Δlogits| {v.MaxAbsLogitDiff:E2}, {Reports.ReportText.Plural(v.DifferingSpikeCounts, "differing spike count")}"));
                if (ExportStage.RoundingNote(v) is { } note) view.Note($"{Path.GetFileName(path)}: {note}");
            }
        if (stageMode) Done("export", todo);
    }

    public void Evaluate(StepMode mode)
    {
        var stage = new EvaluateStage();
        EvaluateStageOptions Options(SelectionRow s) => new(layout.Model(s.CandidateId), layout.Evaluation(s.CandidateId), plan.Profiles,
            _c.Evaluation.BatchSizes, plan.Latency, PrecisionChoice.Auto, _c.Data, _c.Evaluation.Limit, Resume: true);
        if (mode == StepMode.Run)
        {
            Directory.CreateDirectory(layout.Evaluations);
            SelectionRow[] todo = Owned(Trainable);
            foreach (SelectionRow s in todo)
                if (stage.HasWork(Options(s))) // a unit cut short keeps the measurements it finished and adds the rest; skipped and failed rows are tried again
                    stage.Run(Options(s), view, cancel);
            if (stageMode)
            {
                Done("evaluate", todo);
                return;
            }
        }
        else Require("evaluate", Trainable, s => stage.IsComplete(Options(s)), s => File.Exists(layout.Evaluation(s.CandidateId)));
        if (mode == StepMode.Check) return;
        // candidates' files in selection order, then any other results dropped into evaluations/ (a bundle's, measured elsewhere)
        string[] own = Trainable.Select(s => layout.Evaluation(s.CandidateId)).ToArray();
        string[] files = [.. own, .. Directory.GetFiles(layout.Evaluations, "*.csv").Where(f => !f.EndsWith(".layers.csv", StringComparison.Ordinal))
            .Select(Path.GetFullPath).Except(own.Select(Path.GetFullPath)).Order(StringComparer.Ordinal)];
        // a candidate's own rows of its current files only: rows of a file replaced since (trained again) stay in
        // evaluations/ID.csv as its history, not in the ranking, and so do fp32 rows on a profile that takes the int8 file
        // where there is one (measured while its int8 file was refused). A file that is not there (a folder merged
        // without its models) cannot be judged: its rows stay
        var hashes = new Dictionary<string, string?>(StringComparer.Ordinal);
        string? Hash(string name) => hashes.TryGetValue(name, out string? h) ? h
            : hashes[name] = File.Exists(Path.Combine(layout.Models, name)) ? Evaluators.Models.ModelInfo.HashOf(Path.Combine(layout.Models, name)) : null;
        HashSet<string> int8First = plan.Profiles.Where(p => p.PreferInt8).Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        bool Current(string file, EvaluationRow r) =>
            r.ModelSha256.Length == 0 || !own.Contains(file, StringComparer.Ordinal)
            || (Hash(Path.GetFileName(r.ModelPath)) is not { } now || now == r.ModelSha256)
               && !(r.Precision == "fp32" && int8First.Contains(r.Profile) && File.Exists(layout.Int8Model(r.CandidateId)));
        // a figure no measurement gives is named in the file it came from (results.csv is rebuilt from them on every resume)
        List<(string File, EvaluationRow Row)> rows = files.SelectMany(f => ResultsFile.Checked(f, CsvFile.ReadAll<EvaluationRow>(f))!.Where(r => Current(f, r)).Select(r => (f, r))).ToList();
        HashSet<string> kept = rows.Select(x => x.Row.ModelSha256).ToHashSet(StringComparer.Ordinal);
        // a measurement, not a file that failed to load (no hash, no batch size: two such files are not one measurement)
        if (rows.Where(x => x.Row.BatchSize is not null).GroupBy(x => (x.Row.ModelSha256, CurrentRows.OnDevice(x.Row).Profile, x.Row.Precision, x.Row.BatchSize)).FirstOrDefault(g => g.Count() > 1) is { } twice)
            throw new InvalidDataException($"{twice.Key.Profile} {twice.Key.Precision} batch {twice.Key.BatchSize} of model {twice.Key.ModelSha256} is measured twice ({string.Join(", ", twice.Select(x => Path.GetFileName(x.File)).Distinct())}); remove one (rows measured on another machine carry PROFILE@DEVICE, see docs/scale-out.md)");
        CsvFile.WriteAll(layout.Results, rows.Select(x => x.Row));
        CsvFile.WriteAll(EvaluateStage.LayersPath(layout.Results),
            files.Where(f => File.Exists(EvaluateStage.LayersPath(f))).SelectMany(f => CsvFile.ReadAll<LayerRow>(EvaluateStage.LayersPath(f))
                .Where(l => l.ModelSha256.Length == 0 || !own.Contains(f, StringComparer.Ordinal) || kept.Contains(l.ModelSha256))));
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

    private SelectionRow[] Owned(SelectionRow[] units) => shard.Select(units);

    // how a run of every stage spreads a stage's units over worker processes here; null: in this process
    private LocalWorkerPlan? InWorkers(int units, int threads)
    {
        if (Launcher is null) return null;
        int fit = _c.ScaleOut.LocalWorkers is null ? LocalWorkerPlan.FitInMemory(RecordedTrainingBytes()) : int.MaxValue; // a set count stands
        LocalWorkerPlan workers = LocalWorkerPlan.For(_c.ScaleOut.LocalWorkers, units, threads, Environment.ProcessorCount, fit);
        return workers.InWorkers ? workers : null;
    }

    private void StartWorkers(string stage, IReadOnlyList<int> pending, int unitCount, Func<int, string> name, LocalWorkerPlan workers, int alreadyDone)
    {
        NativeHeap.GiveBack(); // this process only waits now: its tensors of the stages before, and the heap they left, go back
        LocalWorkers.Run(Launcher!, layout.Root, stage, pending, unitCount, name, workers, alreadyDone, view, cancel);
    }

    // the most resident memory a training in this run folder recorded at an epoch's end (metrics.csv): unlike the
    // ended workers' peaks, a resumed run still has it
    private long RecordedTrainingBytes()
    {
        IEnumerable<string> folders = [.. Directory.Exists(layout.KernelStudy) ? Directory.GetDirectories(layout.KernelStudy) : [],
            .. Directory.Exists(layout.Train) ? Directory.GetDirectories(layout.Train) : []];
        double mib = 0;
        foreach (string metrics in folders.Select(f => Path.Combine(f, Trainer.MetricsFile)).Where(File.Exists))
            mib = Math.Max(mib, CsvFile.ReadCompleteRows<EpochMetrics>(metrics).Select(m => m.ResidentMib).DefaultIfEmpty(0).Max()); // a torn last row left out
        return (long)(mib * 1024 * 1024);
    }

    private void Done(string stage, SelectionRow[] units) => Done(stage, units.Select(s => s.CandidateId).ToArray(), "candidate");

    private void Done(string stage, string[] units, string noun)
    {
        ShardRecord.Write(layout.Root, stage, shard, Fingerprint, units);
        view.Note($"{stage} shard {shard}: {Reports.ReportText.Plural(units.Length, noun)} complete");
    }

    // every unit complete, or the stage not started at all (nothing of it on disk: StageNotRun), or the missing shards named
    private void Require(string stage, SelectionRow[] units, Func<SelectionRow, bool> complete, Func<SelectionRow, bool> started) =>
        Require(stage, units, s => s.CandidateId, complete, started);

    private void Require<T>(string stage, T[] units, Func<T, string> name, Func<T, bool> complete, Func<T, bool> started)
    {
        bool[] done = units.Select(complete).ToArray();
        if (!done.Any(d => d) && !units.Any(started) && ShardRecord.ReadAll(layout.Root, stage).Count == 0)
            throw new StageNotRunException(stage, layout.Root);
        _ledger.RequireComplete(stage, units.Select(name).ToArray(), u => done[u]);
    }

    // a file no longer deployed (the int8 file of weights it cannot hold) goes, with the rows that measured an earlier one
    // of its name: they would stand for it in the ranking; again on every resume, so a kill midway is finished later
    private bool Withdraw(string candidateId, string path)
    {
        bool rows = EvaluateStage.Forget(layout.Evaluation(candidateId), Path.GetFileName(path));
        bool file = File.Exists(path);
        File.Delete(path);
        return rows || file;
    }

    private void Record(SelectionRow s, SelectionRow outcome)
    {
        Selected[Selected.IndexOf(s)] = outcome;
        CsvFile.WriteAll(layout.Selection, Selected);
    }
}
