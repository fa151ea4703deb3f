using System.Globalization;
using System.Reflection;
using Microsoft.ML.OnnxRuntime;
using SpiKernel.Core;
using SpiKernel.Evaluators.Measurement;
using SpiKernel.Evaluators.Models;
using SpiKernel.Evaluators.Providers;
using SpiKernel.Evaluators.Results;

namespace SpiKernel.Evaluators;

// Tensors in evaluators: no TorchSharp; ONNX Runtime's OrtValues (inputs, bound outputs, run results) are disposed by
// the method that creates them (using); a session lives while one profile of one model is measured (using).
/// <summary>
/// Measures models on profiles: for each model variant and profile one session, then for each batch size a latency
/// measurement, and once per session the accuracy and spike activity on the test data. Every outcome is a row —
/// <c>ok</c>, <c>skipped</c> (the provider cannot run here, with ONNX Runtime's reason) or <c>failed</c> (with the
/// error) — handed to the sink as soon as it is known, so rows already written survive a later failure.
/// </summary>
public sealed class Evaluator
{
    private const double MiB = 1024.0 * 1024.0;
    private readonly EvaluationRequest _request;
    private readonly HostInfo _host = HostInfo.Current();
    private readonly IProgressObserver _observer;

    /// <summary>Creates an evaluator for <paramref name="request"/>.</summary>
    public Evaluator(EvaluationRequest request, IProgressObserver? observer = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        _request = request.Validated();
        _observer = observer ?? NullProgress.Instance;
    }

    /// <summary>The machine the rows are measured on.</summary>
    internal HostInfo Host => _host;

    /// <summary>Measures <paramref name="models"/>; returns the number of failed rows.</summary>
    public int Run(IReadOnlyList<ModelGroup> models, Action<EvaluationRow> sink, Action<LayerRow>? layerSink = null, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(models);
        ArgumentNullException.ThrowIfNull(sink);
        int failed = 0;
        var noted = new HashSet<string>(StringComparer.Ordinal);
        // each file is read, parsed and validated once, however many profiles run it
        var loaded = new Dictionary<string, (ModelInfo? Model, string? Error)>(StringComparer.Ordinal);
        void Emit(EvaluationRow row)
        {
            if (row.Status == EvaluationStatus.Failed) failed++;
            sink(row);
            // a provider that cannot run here is one story for every model and batch: said once per profile and reason
            if (row.Status != EvaluationStatus.Ok && noted.Add($"{row.Profile}|{row.Reason}"))
                _observer.Note($"{row.Model} · {(row.Profile.Length == 0 ? "load" : row.Profile)}: {row.Status.ToString().ToLowerInvariant()} — {row.Reason}");
        }

        foreach (ModelGroup group in models)
        {
            foreach (EvaluationProfile profile in _request.Profiles)
            {
                foreach ((string? path, string precisionWanted) in Variants(group, profile))
                {
                    cancel.ThrowIfCancellationRequested();
                    if (path is null)
                    {
                        foreach (int b in _request.BatchSizes)
                            Emit(Base(group.Name, null, profile, b, precisionWanted) with
                            {
                                Status = EvaluationStatus.Skipped,
                                Reason = $"no {precisionWanted} variant of {group.Name} (expected {group.Name}{(precisionWanted == "int8" ? ModelGroup.Int8Suffix : ".onnx")})",
                            });
                        continue;
                    }
                    if (!loaded.TryGetValue(path, out (ModelInfo? Model, string? Error) info))
                    {
                        loaded[path] = info = Load(path);
                        // a file nothing can be measured on is one failed row, not one per profile and batch size
                        if (info.Model is null)
                            Emit(Base(group.Name, null, profile, null, "") with { Profile = "", Provider = "", ModelPath = path, Reason = info.Error! });
                    }
                    if (info.Model is null) continue;
                    ModelInfo model = info.Model;
                    int[] batches = _request.BatchSizes.Where(b => _request.Done?.Contains(EvaluationRequest.Key(model.Sha256, profile.Name, model.Precision, b)) != true).ToArray();
                    if (batches.Length == 0) continue; // measured by an earlier, interrupted evaluation
                    RunProfile(group.Name, model, profile, batches, Emit, layerSink, cancel);
                }
            }
        }
        return failed;
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
                yield return profile.PreferInt8 && g.Int8Path is not null ? (g.Int8Path, "int8") : (g.FloatPath ?? g.Int8Path, g.FloatPath is null ? "int8" : "fp32");
                break;
        }
    }

    private static (ModelInfo? Model, string? Error) Load(string path)
    {
        try
        {
            return (ModelInfo.Load(path), null);
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            return (null, OneLine(ex.Message));
        }
    }

    private void RunProfile(string name, ModelInfo model, EvaluationProfile profile, IReadOnlyList<int> batches, Action<EvaluationRow> emit,
        Action<LayerRow>? layerSink, CancellationToken cancel)
    {
        string path = model.Path;
        TestData data = _request.DataFor(model);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        bool peakReset = MemoryProbe.ResetPeak();
        long? rssBefore = MemoryProbe.Resident();
        ProfileSession session;
        try
        {
            session = SessionFactory.Create(path, profile);
        }
        catch (Exception ex) when (ex is ProviderUnavailableException or OnnxRuntimeException)
        {
            EvaluationStatus status = ex is ProviderUnavailableException ? EvaluationStatus.Skipped : EvaluationStatus.Failed;
            foreach (int b in batches)
                emit(Base(name, model, profile, b, model.Precision) with { Status = status, Reason = OneLine(ex.Message) });
            return;
        }

        using (session)
        {
            var timed = batches.Select(batch => MeasureLatency(session, name, model, profile, data, batch, rssBefore, peakReset, cancel)).ToList();
            // accuracy after the timings, so its larger batches do not inflate their memory figures
            (AccuracyResult? acc, string? accuracyFailure) = timed.Any(r => r.Status == EvaluationStatus.Ok)
                ? MeasureAccuracy(session, name, model, profile, data, cancel)
                : (null, null);
            // per-layer rows first: a result row on disk then means its layers are complete (what a resume relies on);
            // a resume that measures only missing batch sizes already has this measurement's layers
            if (acc?.MeanSpikesPerLayer is { } spikes && layerSink is not null && batches.Count == _request.BatchSizes.Count)
                foreach (LayerRow l in Layers(name, profile, model, spikes)) layerSink(l);
            foreach (EvaluationRow row in timed)
            {
                if (row.Status != EvaluationStatus.Ok) emit(row);
                else if (acc is not null) emit(WithAccuracy(row, model, acc, data.Data!));
                else if (accuracyFailure is not null) emit(row with { Status = EvaluationStatus.Failed, Reason = accuracyFailure });
                else emit(row);
            }
        }
    }

    /// <summary>One batch size's latency row (failed with the reason when ONNX Runtime rejects the input).</summary>
    private EvaluationRow MeasureLatency(ProfileSession session, string name, ModelInfo model, EvaluationProfile profile, TestData data, int batch,
        long? rssBefore, bool peakReset, CancellationToken cancel)
    {
        EvaluationRow row = Base(name, model, profile, batch, model.Precision) with
        {
            SessionCreateMs = Round(session.CreateMilliseconds),
            RssBeforeMib = rssBefore is { } r ? Round(r / MiB, 1) : null,
        };
        try
        {
            long[] shape = InputShape(model, data, batch);
            float[] input = Input(data, shape);
            int planned = _request.Latency.Duration is null ? _request.Latency.Repeats : 0;
            _observer.Begin($"{name} · {profile.Name} · {model.Precision} · batch {batch}", planned);
            LatencyResult lat = LatencyMeter.Measure(session.Session, profile, model.InputName, input, shape, _request.Latency,
                (done, _) => _observer.Advance(done), cancel);
            LatencyStats s = lat.Stats;
            long? peak = MemoryProbe.Peak();
            return row with
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
        catch (Exception ex) when (ex is OnnxRuntimeException or InvalidDataException or ArgumentException)
        {
            return row with { Status = EvaluationStatus.Failed, Reason = OneLine(ex.Message) };
        }
    }

    /// <summary>Accuracy and spikes on the test data, or why they failed; (null, null) when there is no data.</summary>
    private (AccuracyResult? Result, string? Failure) MeasureAccuracy(ProfileSession session, string name, ModelInfo model, EvaluationProfile profile,
        TestData data, CancellationToken cancel)
    {
        if (data.Data is not { } images) return (null, null);
        try
        {
            int n = Math.Min(_request.AccuracyLimit ?? images.Count, images.Count);
            _observer.Begin($"{name} · {profile.Name} · {model.Precision} · accuracy on {images.Name}", n);
            return (AccuracyEvaluator.Evaluate(session.Session, model, images, data.Mean!, data.Std!, 64, _request.AccuracyLimit,
                (done, _) => _observer.Advance(done), cancel), null);
        }
        catch (Exception ex) when (ex is OnnxRuntimeException or InvalidDataException or ArgumentException)
        {
            return (null, $"accuracy: {OneLine(ex.Message)}");
        }
    }

    private static EvaluationRow WithAccuracy(EvaluationRow row, ModelInfo model, AccuracyResult acc, LabelledImages data)
    {
        row = row with
        {
            AccuracyTop1 = Round(acc.Top1, 6),
            AccuracyTop5 = Round(acc.Top5, 6),
            CorrectTop1 = acc.Top1Correct,
            TestSamples = acc.Samples,
            TestData = data.Name,
        };
        if (acc.MeanSpikesPerLayer is not { } spikes || model.Snn is not { } snn) return row;
        row = row with { SpikesPerSample = Round(spikes.Sum(), 2) };
        if (snn.FanOut is { } fan && fan.Length == spikes.Length)
        {
            double synops = spikes.Select((s, i) => s * fan[i]).Sum();
            row = row with { SynopsPerSample = Math.Round(synops) };
            if (snn.FirstLayerMacs is { } first)
                row = row with { EnergySnnUj = Round(EnergyModel.SpikingMicrojoules(first, synops), 3) };
        }
        return row;
    }

    private static IEnumerable<LayerRow> Layers(string name, EvaluationProfile profile, ModelInfo model, double[] spikes)
    {
        SnnFacts? snn = model.Snn;
        for (int l = 0; l < spikes.Length; l++)
        {
            long? neurons = snn?.Neurons is { } n && n.Length == spikes.Length ? n[l] : null;
            double? fan = snn?.FanOut is { } f && f.Length == spikes.Length ? f[l] : null;
            int t = snn?.Timesteps ?? 1;
            yield return new LayerRow
            {
                Model = name,
                CandidateId = snn?.CandidateId ?? "",
                Profile = profile.Name,
                Precision = model.Precision,
                LayerIndex = l,
                Layer = snn is not null && l < snn.SpikeLayers.Count ? snn.SpikeLayers[l] : $"layer{l}",
                Neurons = neurons,
                Timesteps = t,
                SpikesPerSample = Round(spikes[l], 3),
                FiringRate = neurons is { } nn ? Round(spikes[l] / (nn * (double)t), 6) : null,
                FanOut = fan,
                SynopsPerSample = fan is { } ff ? Math.Round(spikes[l] * ff) : null,
            };
        }
    }

    private EvaluationRow Base(string name, ModelInfo? model, EvaluationProfile profile, int? batch, string precision)
    {
        SnnFacts? snn = model?.Snn;
        return new EvaluationRow
        {
            TimestampUtc = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture),
            Model = name,
            CandidateId = snn?.CandidateId ?? "",
            ModelPath = model?.Path ?? "",
            ModelSha256 = model?.Sha256 ?? "",
            Profile = profile.Name,
            Provider = ProviderRegistry.OrtName(profile.Provider),
            Precision = precision,
            BatchSize = batch,
            Status = EvaluationStatus.Failed,
            FileBytes = model?.FileBytes,
            Parameters = model?.Parameters,
            WeightBytes = model?.WeightBytes,
            ReferenceAccuracy = snn?.TestAccuracy is { } a ? Round(a, 6) : null,
            Timesteps = snn?.Timesteps,
            FirstLayerMacs = snn?.FirstLayerMacs,
            AnnMacs = snn?.AnnMacs,
            EnergyAnnUj = snn?.AnnMacs is { } macs ? Round(EnergyModel.AnnMicrojoules(macs), 3) : null,
            IntraOpThreads = profile.IntraOpThreads,
            InterOpThreads = profile.InterOpThreads,
            ExecutionMode = profile.ModeText,
            GraphOptimization = profile.OptimizationText,
            MemoryArena = profile.MemoryArena,
            MemoryPattern = profile.MemoryPattern,
            DeviceId = profile.DeviceId,
            OutputsOnDevice = profile.OutputsOnDevice,
            ProviderOptions = profile.ProviderOptionsText,
            Isolated = _request.Isolated,
            OrtVersion = _host.OrtVersion,
            DeviceName = _host.DeviceName(profile.Provider, profile.DeviceId),
            CpuModel = _host.CpuModel,
            Cores = _host.Cores,
            Os = _host.Os,
            ToolVersion = ToolInfo.Version,
        };
    }

    /// <summary>
    /// The input shape for <paramref name="batch"/>: the batch always goes first (a model with a fixed batch size then
    /// rejects other sizes in ONNX Runtime's own words); other symbolic dimensions come from the test images or
    /// <c>--input-shape</c>.
    /// </summary>
    private long[] InputShape(ModelInfo model, TestData data, int batch)
    {
        if (_request.InputShape is { } given) return [batch, .. given];
        long[] dims = model.InputDims;
        var shape = new long[dims.Length];
        for (int i = 1; i < dims.Length; i++)
        {
            if (dims[i] >= 0) shape[i] = dims[i];
            else if (data.Data is { } d && dims.Length == 4) shape[i] = i == 1 ? d.Channels : i == 2 ? d.Height : d.Width;
            else throw new ArgumentException($"{model.Path}: input '{model.InputName}' dimension {i} is symbolic; pass --input-shape with the per-sample shape");
        }
        if (shape.Length > 0) shape[0] = batch;
        return shape;
    }

    private static float[] Input(TestData data, long[] shape)
    {
        long count = shape.Aggregate(1L, (a, d) => a * d);
        if (data.Data is { } d && shape.Length == 4 && shape[1] == d.Channels && shape[2] == d.Height && shape[3] == d.Width)
            return d.Normalized(0, (int)shape[0], data.Mean!, data.Std!);
        // no test data: fixed pseudo-random N(0, 1) values (dense operators take the same time on any values)
        var rng = new Random(0);
        var x = new float[count];
        for (long i = 0; i < count; i++)
            x[i] = (float)(Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()));
        return x;
    }

    private static double Round(double v, int digits = 4) => Math.Round(v, digits);

    private static string OneLine(string s) => s.ReplaceLineEndings(" ").Trim();
}
