using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using SpiKernel.Evaluators.Providers;

namespace SpiKernel.Evaluators.Measurement;

/// <summary>What one latency measurement found.</summary>
/// <param name="FirstRunMilliseconds">The first run alone (lazy initialisation, kernel selection), kept out of the statistics.</param>
/// <param name="Stats">Statistics of the timed runs.</param>
public sealed record LatencyResult(double FirstRunMilliseconds, LatencyStats Stats)
{
    /// <summary>Every timed run in milliseconds, in the order they ran.</summary>
    public IReadOnlyList<double> Samples { get; init; } = [];
}

/// <summary>
/// Times <c>Run</c> on one session: the inputs are <see cref="OrtValue"/>s bound once through <see cref="OrtIoBinding"/>
/// (on an accelerator ONNX Runtime copies them to the device when bound, not per run). The first run lets ONNX Runtime
/// allocate the outputs; their shapes then size outputs pre-allocated on the host — or outputs stay on the device for
/// accelerator profiles — so no allocation or copy is inside the timed region; one <see cref="Stopwatch"/> timestamp
/// pair per run; warm-up runs are not timed.
/// </summary>
public static class LatencyMeter
{
    /// <summary>Measures <paramref name="session"/> on one float input (shape <paramref name="shape"/>, first dimension the batch).</summary>
    /// <param name="session">The session (its profile decides where outputs live).</param>
    /// <param name="profile">The profile the session was built for.</param>
    /// <param name="inputName">The model's input.</param>
    /// <param name="input">Input values, row-major.</param>
    /// <param name="shape">Input shape.</param>
    /// <param name="options">Warm-up and repeats.</param>
    /// <param name="progress">Called with (runs done, runs planned) — planned is 0 for duration-bound measurements.</param>
    /// <param name="cancel">Stops between runs.</param>
    public static LatencyResult Measure(InferenceSession session, EvaluationProfile profile, string inputName, float[] input, long[] shape,
        LatencyOptions options, Action<int, int>? progress = null, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(shape);
        using var inputValue = OrtValue.CreateTensorValueFromMemory(input, shape);
        return Measure(session, profile, [(inputName, inputValue)], (int)shape[0], options, progress, cancel);
    }

    /// <summary>Measures <paramref name="session"/> on <paramref name="inputs"/> (owned by the caller) holding <paramref name="batch"/> samples.</summary>
    /// <param name="session">The session (its profile decides where outputs live).</param>
    /// <param name="profile">The profile the session was built for.</param>
    /// <param name="inputs">Every model input with its value.</param>
    /// <param name="batch">Samples per run (for throughput).</param>
    /// <param name="options">Warm-up and repeats.</param>
    /// <param name="progress">Called with (runs done, runs planned) — planned is 0 for duration-bound measurements.</param>
    /// <param name="cancel">Stops between runs.</param>
    /// <param name="graphId">The CUDA graph id of these runs where the profile captures graphs (<see cref="GraphRuns"/>): one per
    /// measurement of a session, required there (a second measurement under the same id would time a replay of the first's graph).</param>
    public static LatencyResult Measure(InferenceSession session, EvaluationProfile profile, IReadOnlyList<(string Name, OrtValue Value)> inputs, int batch,
        LatencyOptions options, Action<int, int>? progress = null, CancellationToken cancel = default, int? graphId = null)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(profile);
        if (profile.CapturesGraph && graphId is null)
            throw new ArgumentException($"{profile.Name} captures CUDA graphs: each measurement of a session needs its own graph id", nameof(graphId));
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(options);
        using OrtIoBinding binding = session.CreateIoBinding();
        using RunOptions runOptions = GraphRuns.For(profile, graphId ?? GraphRuns.Untimed);
        var outputs = new List<OrtValue>();
        OrtMemoryInfo? deviceMemory = null;
        try
        {
            // bound once: for an input a device provider reads, ONNX Runtime copies the host value to the device here and
            // the binding keeps that copy at one address (IOBinding::BindInput → CopyOneInputAcrossDevices), which is what
            // a captured CUDA graph replays; no copy is timed
            foreach ((string name, OrtValue value) in inputs) binding.BindInput(name, value);
            if (profile.OutputsOnDevice)
                deviceMemory = new OrtMemoryInfo(OrtMemoryInfo.allocatorCUDA, OrtAllocatorType.DeviceAllocator, profile.DeviceId, OrtMemType.Default);
            foreach (string name in session.OutputNames) binding.BindOutputToDevice(name, deviceMemory ?? OrtMemoryInfo.DefaultInstance);
            binding.SynchronizeBoundInputs();

            double first = TimeRun(session, runOptions, binding);
            if (!profile.OutputsOnDevice) PreallocateOutputs(binding, outputs);
            for (int i = 0; i < options.Warmup; i++)
            {
                cancel.ThrowIfCancellationRequested();
                TimeRun(session, runOptions, binding);
            }

            var times = new List<double>(options.Repeats);
            int planned = options.Duration is null ? options.Repeats : 0;
            // garbage of building the inputs collected now, not during the timed runs (nor in the --duration window)
            GC.Collect();
            GC.WaitForPendingFinalizers();
            long deadline = options.Duration is { } d ? Stopwatch.GetTimestamp() + (long)(d.TotalSeconds * Stopwatch.Frequency) : long.MaxValue;
            long reported = 0, every = Stopwatch.Frequency / 10;
            while (options.Duration is null ? times.Count < options.Repeats : times.Count == 0 || Stopwatch.GetTimestamp() < deadline)
            {
                cancel.ThrowIfCancellationRequested();
                times.Add(TimeRun(session, runOptions, binding));
                // progress at most ten times a second (and at the end): the bar's bookkeeping stays out of the timed loop
                long now = Stopwatch.GetTimestamp();
                if (progress is not null && (now - reported >= every || times.Count == planned))
                {
                    reported = now;
                    progress(times.Count, planned);
                }
            }
            progress?.Invoke(times.Count, planned);
            return new LatencyResult(first, LatencyStats.From(times, batch)) { Samples = times };
        }
        finally
        {
            foreach (OrtValue v in outputs) v.Dispose();
            deviceMemory?.Dispose();
        }
    }

    /// <summary>Binds host outputs shaped as the first run's to every tensor output (others stay allocated per run by ONNX Runtime).</summary>
    private static void PreallocateOutputs(OrtIoBinding binding, List<OrtValue> owned)
    {
        string[] names = binding.GetOutputNames();
        using IDisposableReadOnlyCollection<OrtValue> produced = binding.GetOutputValues();
        for (int i = 0; i < names.Length; i++)
        {
            if (!produced[i].IsTensor) continue;
            OrtTensorTypeAndShapeInfo info = produced[i].GetTensorTypeAndShape();
            if (info.ElementDataType == TensorElementType.String) continue;
            OrtValue value = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, info.ElementDataType, info.Shape);
            owned.Add(value);
            binding.BindOutput(names[i], value);
        }
    }

    private static double TimeRun(InferenceSession session, RunOptions runOptions, OrtIoBinding binding)
    {
        long start = Stopwatch.GetTimestamp();
        session.RunWithBinding(runOptions, binding);
        binding.SynchronizeBoundOutputs();
        return Stopwatch.GetElapsedTime(start).TotalMilliseconds;
    }
}
