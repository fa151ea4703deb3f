using Microsoft.ML.OnnxRuntime;
using SpiKernel.Core;
using SpiKernel.Evaluators.Inputs;
using SpiKernel.Evaluators.Measurement;
using SpiKernel.Evaluators.Models;
using SpiKernel.Evaluators.Providers;
using SpiKernel.Evaluators.Results;
using static SpiKernel.Evaluators.Results.RowBuilder;
using SpiKernel.Core.Csv;

namespace SpiKernel.Evaluators;

// Tensors in evaluators: no TorchSharp; ONNX Runtime's OrtValues (inputs, bound outputs, run results) are disposed by
// the method that creates them (using, or a try/finally over a list); a session lives while one profile of one model
// is measured (using). Host tensors (HostTensor) are plain byte arrays.
/// <summary>
/// Measures models on profiles: for each model variant its rows are planned once (<see cref="InputPlanner"/>: batch
/// sizes, shapes, what to feed), then for each profile one session, one latency measurement per planned row, the
/// output check where test data have expected outputs, and once per session the accuracy and spike activity on
/// labelled images. Every outcome is a row — <c>ok</c>, <c>skipped</c> (the provider cannot run here, or the model
/// cannot take the batch size, with the reason) or <c>failed</c> (with the error) — handed to the sink as soon as it is
/// known, so rows already written survive a later failure.
/// </summary>
public sealed class Evaluator
{
    private const double MiB = 1024.0 * 1024.0;
    private readonly EvaluationRequest _request;
    private readonly HostInfo _host = HostInfo.Current();
    private readonly RowBuilder _rows;
    private readonly IProgressObserver _observer;
    private readonly IReadOnlyList<TestDataSet>? _sharedSets;

    /// <summary>
    /// Creates an evaluator for <paramref name="request"/>; reads the test data of <see cref="InputOptions.Path"/> now,
    /// so unreadable files fail (<see cref="InvalidDataException"/>) before any row exists.
    /// </summary>
    public Evaluator(EvaluationRequest request, IProgressObserver? observer = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        _request = request.Validated();
        _observer = observer ?? NullProgress.Instance;
        _rows = new RowBuilder(_host, _request.Isolated);
        _sharedSets = _request.Feeding.Path is { } path ? TestDataSet.Load(path) : null;
    }

    /// <summary>The machine the rows are measured on.</summary>
    internal HostInfo Host => _host;

    /// <summary>A model file read and planned once, however many profiles run it.</summary>
    private sealed record Prepared(ModelInfo Model, TestData Images, IReadOnlyList<PlannedRun> Plan);

    /// <summary>Measures <paramref name="models"/>; returns the number of failed rows.</summary>
    public int Run(IReadOnlyList<ModelGroup> models, Action<EvaluationRow> sink, Action<LayerRow>? layerSink = null, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(models);
        ArgumentNullException.ThrowIfNull(sink);
        int failed = 0;
        var noted = new HashSet<string>(StringComparer.Ordinal);
        void Emit(EvaluationRow row, bool tell)
        {
            if (row.Status == EvaluationStatus.Failed) failed++;
            sink(row);
            // a provider that cannot run here is one story for every model and batch: said once per profile and reason
            if (tell && row.Status != EvaluationStatus.Ok && noted.Add($"{row.Profile}|{row.Reason}"))
                _observer.Note($"{row.Model} · {(row.Profile.Length == 0 ? "load" : row.Profile)}: {CsvFormat.Word(row.Status)} — {row.Reason}");
        }

        foreach (ModelGroup group in models)
        {
            (IReadOnlyList<TestDataSet> sets, string? dataError) = SetsFor(group);
            // per group (a file is in one): a group's test tensors go with it, not kept to the end
            var prepared = new Dictionary<string, (Prepared? Ready, string? Error)>(StringComparer.Ordinal);
            foreach (EvaluationProfile profile in _request.Profiles)
            {
                foreach ((string? path, string precisionWanted) in Variants(group, profile))
                {
                    cancel.ThrowIfCancellationRequested();
                    if (path is null)
                    {
                        foreach (int b in _request.BatchSizes)
                            Emit(_rows.Base(group.Name, null, profile, b, precisionWanted) with
                            {
                                Status = EvaluationStatus.Skipped,
                                Reason = $"no {precisionWanted} variant of {group.Name} (expected {group.Name}{(precisionWanted == "int8" ? ModelGroup.Int8Suffix : ".onnx")})",
                            }, tell: true);
                        continue;
                    }
                    if (!prepared.TryGetValue(path, out (Prepared? Ready, string? Error) p))
                    {
                        prepared[path] = p = Prepare(path, sets, dataError);
                        // a file nothing can be measured on is one failed row, not one per profile and batch size
                        if (p.Ready is null)
                            Emit(_rows.Base(group.Name, null, profile, null, precisionWanted) with { Profile = "", Provider = "", ModelPath = path, Reason = p.Error! }, tell: true);
                    }
                    if (p.Ready is not { } ready) continue;
                    ModelInfo model = ready.Model;
                    PlannedRun[] runs = ready.Plan.Where(r => _request.Done?.Contains(EvaluationRequest.Key(model.Sha256, profile.Name, profile.DeviceId, model.Precision, r.Batch)) != true).ToArray();
                    if (runs.Length == 0) continue; // measured by an earlier, interrupted evaluation
                    bool layered = _request.LayersDone?.Contains(EvaluationRequest.LayerKey(model.Sha256, profile.Name, profile.DeviceId, model.Precision)) == true;
                    RunProfile(group.Name, ready, profile, runs, writeLayers: !layered, Emit, layerSink, cancel);
                }
            }
        }
        return failed;
    }

    /// <summary>The test data of <paramref name="group"/>: <c>--inputs</c>, else its test folder's sets, else none; or why they cannot be read.</summary>
    private (IReadOnlyList<TestDataSet> Sets, string? Error) SetsFor(ModelGroup group)
    {
        if (_sharedSets is not null) return (_sharedSets, null);
        if (group.TestFolder is not { } folder) return ([], null);
        try
        {
            return (TestDataSet.Load(folder), null);
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            return ([], OneLine(ex.Message));
        }
    }

    private (Prepared? Ready, string? Error) Prepare(string path, IReadOnlyList<TestDataSet> sets, string? dataError)
    {
        ModelInfo model;
        try
        {
            model = ModelInfo.Load(path);
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            return (null, OneLine(ex.Message));
        }
        TestData images = _request.DataFor(model);
        // what the model cannot take is its failure, before what is wrong with its test data
        string? refused = InputPlanner.Unmeasurable(model) ?? dataError;
        IReadOnlyList<PlannedRun> plan = refused is null
            ? InputPlanner.Plan(model, _request.BatchSizes, sets, images, _request.Feeding)
            : _request.BatchSizes.Select(b => PlannedRun.Refuse(b, BatchSource.Option, EvaluationStatus.Failed, refused)).ToArray();
        return (new Prepared(model, images, plan), null);
    }

    private IEnumerable<(string? Path, string Precision)> Variants(ModelGroup g, EvaluationProfile profile)
    {
        switch (_request.Precision)
        {
            case PrecisionChoice.Fp32:
                yield return (g.FloatPath, "fp32");
                break;
            case PrecisionChoice.Int8:
                yield return (g.Int8Path, "int8");
                break;
            case PrecisionChoice.All:
                if (g.FloatPath is not null) yield return (g.FloatPath, "fp32");
                if (g.Int8Path is not null) yield return (g.Int8Path, "int8");
                break;
            default:
                yield return (profile.PreferInt8 || g.Int8Named) && g.Int8Path is not null ? (g.Int8Path, "int8") : (g.FloatPath ?? g.Int8Path, g.FloatPath is null ? "int8" : "fp32");
                break;
        }
    }

    private void RunProfile(string name, Prepared ready, EvaluationProfile profile, IReadOnlyList<PlannedRun> runs, bool writeLayers,
        Action<EvaluationRow, bool> emit, Action<LayerRow>? layerSink, CancellationToken cancel)
    {
        ModelInfo model = ready.Model;
        GC.Collect();
        GC.WaitForPendingFinalizers();
        bool peakReset = MemoryProbe.ResetPeak();
        long? rssBefore = MemoryProbe.Resident();
        ProfileSession session;
        try
        {
            session = SessionFactory.Create(model.Path, profile);
        }
        catch (Exception ex) when (ex is ProviderUnavailableException or OnnxRuntimeException or NotSupportedException)
        {
            EvaluationStatus status = ex is ProviderUnavailableException ? EvaluationStatus.Skipped : EvaluationStatus.Failed;
            foreach (PlannedRun run in runs)
                emit(run.Refused is null ? Planned(name, model, profile, run) with { Status = status, Reason = OneLine(ex.Message) } : Refused(name, model, profile, run), run.Refused != EvaluationStatus.Skipped);
            return;
        }

        using (session)
        {
            // each timed batch size captures its own CUDA graph where the profile captures (GraphRuns): ids 1, 2, …
            var timed = runs.Select((run, i) => run.Refused is null ? MeasureRun(session, name, model, profile, run, rssBefore, peakReset, i + 1, cancel) : Refused(name, model, profile, run)).ToList();
            // accuracy after the timings, so its larger batches do not inflate their memory figures
            (AccuracyResult? acc, string? accuracyFailure) = timed.Any(r => r.Status == EvaluationStatus.Ok)
                ? MeasureAccuracy(session, name, model, profile, ready.Images, cancel)
                : (null, null);
            // per-layer rows first: a result row on disk then means its layers are complete (what a resume relies on);
            // a resume that measures only missing batch sizes has this measurement's layers already, unless the rows
            // made before had no spike figures (no accuracy then)
            if (acc?.MeanSpikesPerLayer is { } spikes && layerSink is not null && writeLayers)
                foreach (LayerRow l in Layers(name, profile, model, spikes)) layerSink(l);
            for (int i = 0; i < timed.Count; i++)
            {
                EvaluationRow row = timed[i];
                if (row.Status != EvaluationStatus.Ok) emit(row, runs[i].Refused != EvaluationStatus.Skipped);
                else if (acc is not null) emit(WithAccuracy(row, model, acc, ready.Images.Data!), true);
                else if (accuracyFailure is not null) emit(row with { Status = EvaluationStatus.Failed, Reason = accuracyFailure }, true);
                else if (ready.Images is { Data: null, Note: { Length: > 0 } why }) // the row says why its accuracy columns are empty
                    emit(row with { Note = WithNote(row.Note, $"no accuracy: {why}") }, true);
                else emit(row, true);
            }
        }
    }

    /// <summary>The row of a planned run before it is measured: batch, where it comes from, what is fed.</summary>
    private EvaluationRow Planned(string name, ModelInfo model, EvaluationProfile profile, PlannedRun run) =>
        _rows.Base(name, model, profile, run.Batch, model.Precision) with
        {
            BatchSource = run.BatchSource,
            InputSource = run.Refused is null ? run.Source : null,
            Seed = run.Refused is null ? run.Seed : null,
            TestData = run.TestData,
            Note = run.Note,
        };

    private EvaluationRow Refused(string name, ModelInfo model, EvaluationProfile profile, PlannedRun run) =>
        Planned(name, model, profile, run) with { Status = run.Refused!.Value, Reason = run.Reason };

    /// <summary>One planned row measured: latency, then the output check when the run has expected outputs.</summary>
    private EvaluationRow MeasureRun(ProfileSession session, string name, ModelInfo model, EvaluationProfile profile, PlannedRun run,
        long? rssBefore, bool peakReset, int graphId, CancellationToken cancel)
    {
        EvaluationRow row = Planned(name, model, profile, run) with
        {
            SessionCreateMs = Round(session.CreateMilliseconds),
            RssBeforeMib = rssBefore is { } r ? Round(r / MiB, 1) : null,
        };
        try
        {
            IReadOnlyList<HostTensor> inputs = run.Inputs();
            row = row with { InputShapes = string.Join("; ", inputs.Select(t => $"{t.Name}={HostTensor.ShapeText(t.Shape)}")) };
            int planned = _request.Latency.Duration is null ? _request.Latency.Repeats : 0;
            _observer.Begin($"{name} · {profile.Name} · {model.Precision} · batch {run.Batch}", planned);
            LatencyResult lat = Time(session, profile, inputs, run.Batch, graphId, cancel);
            LatencyStats s = lat.Stats;
            long? peak = MemoryProbe.Peak();
            row = row with
            {
                Status = EvaluationStatus.Ok,
                FirstRunMs = Round(lat.FirstRunMilliseconds),
                WarmupRuns = _request.Latency.Warmup,
                MeasuredRuns = s.Runs,
                LatencyP50Ms = Round(s.P50), LatencyP90Ms = Round(s.P90), LatencyP95Ms = Round(s.P95), LatencyP99Ms = Round(s.P99),
                LatencyMinMs = Round(s.Min), LatencyMaxMs = Round(s.Max), LatencyMeanMs = Round(s.Mean), LatencyStdMs = Round(s.Std),
                ThroughputSps = Round(s.Throughput, 2),
                PeakRssAddedMib = peakReset && peak is { } p && rssBefore is { } rb ? Round(Math.Max(0, p - rb) / MiB, 1) : null,
            };
        }
        catch (Exception ex) when (ModelFailure(ex))
        {
            return row with { Status = EvaluationStatus.Failed, Reason = OneLine(ex.Message) };
        }
        catch (Exception ex) when (ex is OutOfMemoryException or OverflowException)
        {
            // this batch's inputs or outputs do not fit (over .NET's array limit, or this machine's memory): its row fails, the rest go on
            return row with { Status = EvaluationStatus.Failed, Reason = OneLine($"batch {run.Batch} does not fit in memory here ({ex.GetType().Name}: {ex.Message})") };
        }
        if (run.Checks.Count == 0) return row;
        OutputTolerance tolerance = _request.Feeding.Check;
        try
        {
            OutputCheckResult check = OutputComparer.Check(session.Session, run.Checks, tolerance, cancel, profile);
            return row with
            {
                OutputCheck = check.Passed ? OutputCheck.Passed : OutputCheck.Failed,
                OutputsChecked = check.Outputs,
                OutputMismatches = check.Mismatches,
                OutputMaxAbsError = check.MaxAbsError,
                OutputMaxRelError = check.MaxRelError,
                OutputRtol = tolerance.Rtol,
                OutputAtol = tolerance.Atol,
                Note = WithNote(row.Note, check.Note),
            };
        }
        catch (Exception ex) when (ModelFailure(ex))
        {
            return row with { Status = EvaluationStatus.Failed, Reason = $"output check: {OneLine(ex.Message)}" };
        }
    }

    // a row's note with one more remark after it ("; "), either may be empty
    private static string WithNote(string note, string more) => string.Join("; ", new[] { note, more }.Where(n => n.Length > 0));

    // what a model or its inputs can cause (ONNX Runtime's refusals, data or a shape that does not fit the model, said as
    // InvalidDataException where we find it): the row fails, the rest go on. Anything else — an ArgumentException above
    // all (a duplicate key, a null, an index out of range) — is our own bug and stops the evaluation with its trace.
    internal static bool ModelFailure(Exception ex) => ex is OnnxRuntimeException or InvalidDataException;

    /// <summary>Latency on <paramref name="inputs"/>, copied into OrtValues that live for the measurement.</summary>
    private LatencyResult Time(ProfileSession session, EvaluationProfile profile, IReadOnlyList<HostTensor> inputs, int batch, int graphId, CancellationToken cancel)
    {
        var values = new List<OrtValue>(inputs.Count);
        try
        {
            foreach (HostTensor t in inputs) values.Add(t.ToOrtValue());
            return LatencyMeter.Measure(session.Session, profile, inputs.Select((t, i) => (t.Name, values[i])).ToArray(), batch, _request.Latency,
                (done, _) => _observer.Advance(done), cancel, graphId);
        }
        finally
        {
            foreach (OrtValue v in values) v.Dispose();
        }
    }

    /// <summary>Accuracy and spikes on the test images, or why they failed; (null, null) when there are none.</summary>
    private (AccuracyResult? Result, string? Failure) MeasureAccuracy(ProfileSession session, string name, ModelInfo model, EvaluationProfile profile,
        TestData data, CancellationToken cancel)
    {
        if (data.Data is not { } images || !data.AccuracyPass) return (null, null);
        try
        {
            int n = Math.Min(_request.AccuracyLimit ?? images.Count, images.Count);
            _observer.Begin($"{name} · {profile.Name} · {model.Precision} · accuracy on {images.Name}", n);
            return (AccuracyEvaluator.Evaluate(session.Session, model, images, data.Mean!, data.Std!, 64, _request.AccuracyLimit,
                (done, _) => _observer.Advance(done), cancel, profile), null);
        }
        catch (Exception ex) when (ModelFailure(ex))
        {
            return (null, $"accuracy: {OneLine(ex.Message)}");
        }
    }
}
