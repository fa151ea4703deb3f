using CsvHelper.Configuration.Attributes;

namespace SpiKernel.Evaluators.Results;

/// <summary>
/// One row of the results CSV: one model × profile × precision × batch size. The column order is fixed (the
/// <c>Index</c> of each property) and documented in the README; absent figures are empty cells.
/// </summary>
public sealed record EvaluationRow
{
    /// <summary>When the row was measured, ISO 8601 UTC.</summary>
    [Index(0), Name("timestamp_utc")]
    public string TimestampUtc { get; init; } = "";

    /// <summary>Model name (file name without .onnx / .int8).</summary>
    [Index(1), Name("model")]
    public string Model { get; init; } = "";

    /// <summary>The file measured.</summary>
    [Index(2), Name("candidate_id")]
    public string CandidateId { get; init; } = "";

    /// <summary>The file measured.</summary>
    [Index(3), Name("model_path")]
    public string ModelPath { get; init; } = "";

    /// <summary>First 12 hex digits of the file's SHA-256.</summary>
    [Index(4), Name("model_sha256")]
    public string ModelSha256 { get; init; } = "";

    /// <summary>Profile name (cpu, edge, cuda, …).</summary>
    [Index(5), Name("profile")]
    public string Profile { get; init; } = "";

    /// <summary>Execution provider (ONNX Runtime's name).</summary>
    [Index(6), Name("provider")]
    public string Provider { get; init; } = "";

    /// <summary>Weight storage of the file: fp32, fp16 or int8.</summary>
    [Index(7), Name("precision")]
    public string Precision { get; init; } = "";

    /// <summary>Samples per run; empty on the one row of a file that could not be loaded at all.</summary>
    [Index(8), Name("batch_size")]
    public int? BatchSize { get; init; }

    /// <summary>ok, skipped (the provider cannot run here) or failed.</summary>
    [Index(9), Name("status")]
    public EvaluationStatus Status { get; init; }

    /// <summary>Why a row is skipped or failed (ONNX Runtime's message); empty when ok.</summary>
    [Index(10), Name("reason")]
    public string Reason { get; init; } = "";

    /// <summary>Size of the .onnx file.</summary>
    [Index(11), Name("file_bytes")]
    public long? FileBytes { get; init; }

    /// <summary>Weights (exact for SpiKernel models; initializer elements otherwise).</summary>
    [Index(12), Name("parameters")]
    public long? Parameters { get; init; }

    /// <summary>Bytes of all initializer data.</summary>
    [Index(13), Name("weight_bytes")]
    public long? WeightBytes { get; init; }

    /// <summary>Creating the session: load, optimise, initialise the provider.</summary>
    [Index(14), Name("session_create_ms")]
    public double? SessionCreateMs { get; init; }

    /// <summary>The first run alone (not in the statistics).</summary>
    [Index(15), Name("first_run_ms")]
    public double? FirstRunMs { get; init; }

    /// <summary>Untimed runs after the first.</summary>
    [Index(16), Name("warmup_runs")]
    public int? WarmupRuns { get; init; }

    /// <summary>Timed runs.</summary>
    [Index(17), Name("measured_runs")]
    public int? MeasuredRuns { get; init; }

    /// <summary>Median run time.</summary>
    [Index(18), Name("latency_p50_ms")]
    public double? LatencyP50Ms { get; init; }

    /// <summary>90th percentile.</summary>
    [Index(19), Name("latency_p90_ms")]
    public double? LatencyP90Ms { get; init; }

    /// <summary>95th percentile.</summary>
    [Index(20), Name("latency_p95_ms")]
    public double? LatencyP95Ms { get; init; }

    /// <summary>99th percentile.</summary>
    [Index(21), Name("latency_p99_ms")]
    public double? LatencyP99Ms { get; init; }

    /// <summary>Fastest run.</summary>
    [Index(22), Name("latency_min_ms")]
    public double? LatencyMinMs { get; init; }

    /// <summary>Slowest run.</summary>
    [Index(23), Name("latency_max_ms")]
    public double? LatencyMaxMs { get; init; }

    /// <summary>Mean run time.</summary>
    [Index(24), Name("latency_mean_ms")]
    public double? LatencyMeanMs { get; init; }

    /// <summary>Sample standard deviation of the run times.</summary>
    [Index(25), Name("latency_std_ms")]
    public double? LatencyStdMs { get; init; }

    /// <summary>Samples per second (batch / mean).</summary>
    [Index(26), Name("throughput_sps")]
    public double? ThroughputSps { get; init; }

    /// <summary>Resident memory of the process before the session was created.</summary>
    [Index(27), Name("rss_before_mib")]
    public double? RssBeforeMib { get; init; }

    /// <summary>Peak resident memory added by creating the session and running it.</summary>
    [Index(28), Name("peak_rss_added_mib")]
    public double? PeakRssAddedMib { get; init; }

    /// <summary>Top-1 accuracy through ONNX Runtime (0–1), for models whose metadata says how to feed them.</summary>
    [Index(29), Name("accuracy_top1")]
    public double? AccuracyTop1 { get; init; }

    /// <summary>Top-5 accuracy (0–1).</summary>
    [Index(30), Name("accuracy_top5")]
    public double? AccuracyTop5 { get; init; }

    /// <summary>Correctly classified test samples.</summary>
    [Index(31), Name("correct_top1")]
    public int? CorrectTop1 { get; init; }

    /// <summary>Test samples scored.</summary>
    [Index(32), Name("test_samples")]
    public int? TestSamples { get; init; }

    /// <summary>The test set scored (labelled images) or the test data set fed.</summary>
    [Index(33), Name("test_data")]
    public string TestData { get; init; } = "";

    /// <summary>TorchSharp test accuracy recorded in the model at export (0–1).</summary>
    [Index(34), Name("reference_accuracy")]
    public double? ReferenceAccuracy { get; init; }

    /// <summary>SNN timesteps T.</summary>
    [Index(35), Name("timesteps")]
    public int? Timesteps { get; init; }

    /// <summary>Mean spikes per sample, all LIF layers and timesteps.</summary>
    [Index(36), Name("spikes_per_sample")]
    public double? SpikesPerSample { get; init; }

    /// <summary>Mean synaptic operations per sample (spikes × fan-out).</summary>
    [Index(37), Name("synops_per_sample")]
    public double? SynopsPerSample { get; init; }

    /// <summary>MACs of the first layer (real-valued input).</summary>
    [Index(38), Name("first_layer_macs")]
    public long? FirstLayerMacs { get; init; }

    /// <summary>MACs of the equivalent non-spiking network per sample.</summary>
    [Index(39), Name("ann_macs")]
    public long? AnnMacs { get; init; }

    /// <summary>Estimated arithmetic energy per sample, µJ (first-layer MACs + synops as accumulates).</summary>
    [Index(40), Name("energy_snn_uj")]
    public double? EnergySnnUj { get; init; }

    /// <summary>Same estimate for the equivalent non-spiking network, µJ.</summary>
    [Index(41), Name("energy_ann_uj")]
    public double? EnergyAnnUj { get; init; }

    /// <summary>Intra-op threads (0: ONNX Runtime's default).</summary>
    [Index(42), Name("intra_op_threads")]
    public int IntraOpThreads { get; init; }

    /// <summary>Inter-op threads.</summary>
    [Index(43), Name("inter_op_threads")]
    public int InterOpThreads { get; init; }

    /// <summary>sequential or parallel.</summary>
    [Index(44), Name("execution_mode")]
    public string ExecutionMode { get; init; } = "";

    /// <summary>disabled, basic, extended or all.</summary>
    [Index(45), Name("graph_optimization")]
    public string GraphOptimization { get; init; } = "";

    /// <summary>CPU memory arena on.</summary>
    [Index(46), Name("memory_arena")]
    public bool MemoryArena { get; init; }

    /// <summary>Memory-pattern planning on.</summary>
    [Index(47), Name("memory_pattern")]
    public bool MemoryPattern { get; init; }

    /// <summary>Accelerator index.</summary>
    [Index(48), Name("device_id")]
    public int DeviceId { get; init; }

    /// <summary>Outputs left in device memory during timing.</summary>
    [Index(49), Name("outputs_on_device")]
    public bool OutputsOnDevice { get; init; }

    /// <summary>Provider-specific options, key=value;… (e.g. use_tf32=0).</summary>
    [Index(50), Name("provider_options")]
    public string ProviderOptions { get; init; } = "";

    /// <summary>Measured in a fresh process (--isolate).</summary>
    [Index(51), Name("isolated")]
    public bool Isolated { get; init; }

    /// <summary>ONNX Runtime version.</summary>
    [Index(52), Name("ort_version")]
    public string OrtVersion { get; init; } = "";

    /// <summary>The processor that ran the model (GPU model for accelerator profiles).</summary>
    [Index(53), Name("device_name")]
    public string DeviceName { get; init; } = "";

    /// <summary>Host CPU model.</summary>
    [Index(54), Name("cpu_model")]
    public string CpuModel { get; init; } = "";

    /// <summary>Logical processors available.</summary>
    [Index(55), Name("cores")]
    public int Cores { get; init; }

    /// <summary>Operating system.</summary>
    [Index(56), Name("os")]
    public string Os { get; init; } = "";

    /// <summary>SpiKernel.Onnx version.</summary>
    [Index(57), Name("tool_version")]
    public string ToolVersion { get; init; } = "";

    /// <summary>Where <see cref="BatchSize"/> comes from: option (--batch), model (its inputs fix it) or inputs (the test data).</summary>
    [Index(58), Name("batch_source")]
    public BatchSource? BatchSource { get; init; }

    /// <summary>What the model was fed: seeded, images or test_data.</summary>
    [Index(59), Name("input_source")]
    public InputSource? InputSource { get; init; }

    /// <summary>The shape of each input fed, <c>name=2x3x32x32</c>, separated by "; ".</summary>
    [Index(60), Name("input_shapes")]
    public string InputShapes { get; init; } = "";

    /// <summary>The seed of seeded inputs.</summary>
    [Index(61), Name("seed")]
    public int? Seed { get; init; }

    /// <summary>passed or failed: the provider's outputs against the test data's expected outputs; empty when there are none.</summary>
    [Index(62), Name("output_check")]
    public OutputCheck? OutputCheck { get; init; }

    /// <summary>Output tensors compared (over every test data set).</summary>
    [Index(63), Name("outputs_checked")]
    public int? OutputsChecked { get; init; }

    /// <summary>Elements outside the tolerance.</summary>
    [Index(64), Name("output_mismatches")]
    public long? OutputMismatches { get; init; }

    /// <summary>Largest |actual − expected|.</summary>
    [Index(65), Name("output_max_abs_error")]
    public double? OutputMaxAbsError { get; init; }

    /// <summary>Largest |actual − expected| / |expected| (expected values of 0 left out).</summary>
    [Index(66), Name("output_max_rel_error")]
    public double? OutputMaxRelError { get; init; }

    /// <summary>Relative tolerance of the check.</summary>
    [Index(67), Name("output_rtol")]
    public double? OutputRtol { get; init; }

    /// <summary>Absolute tolerance of the check.</summary>
    [Index(68), Name("output_atol")]
    public double? OutputAtol { get; init; }

    /// <summary>What else the row should say: a batch size the model fixes, the first output mismatch.</summary>
    [Index(69), Name("note")]
    public string Note { get; init; } = "";

    /// <summary>
    /// Which of the <see cref="TestSamples"/> test images top-1 got right, one bit per image in order, base64
    /// (<see cref="SpiKernel.Core.AnswerBits"/>): what lets rank compare two models measured on the same images image by image.
    /// </summary>
    [Index(70), Name("correct_bits")]
    public string CorrectBits { get; init; } = "";

    /// <summary>
    /// Whether this row says that the file <paramref name="measured"/> measured failed to load: failed without a batch
    /// size, the same model, and the same file by name (NAME.onnx or NAME.int8.onnx, wherever its folder was written),
    /// or, for rows without a path, the same precision (none: any, as earlier versions wrote it).
    /// </summary>
    public bool IsLoadFailureOf(EvaluationRow measured)
    {
        ArgumentNullException.ThrowIfNull(measured);
        return Status == EvaluationStatus.Failed && BatchSize is null && Model == measured.Model
               && (ModelPath.Length > 0 && measured.ModelPath.Length > 0
                   ? Path.GetFileName(ModelPath) == Path.GetFileName(measured.ModelPath)
                   : Precision.Length == 0 || Precision == measured.Precision);
    }

    /// <summary>
    /// This row with the accuracy, spike and energy figures of <paramref name="measured"/> — a row of the same model,
    /// profile and precision whose test-set pass already ran (they do not depend on the batch size).
    /// </summary>
    public EvaluationRow WithAccuracyOf(EvaluationRow measured)
    {
        ArgumentNullException.ThrowIfNull(measured);
        return this with
        {
            AccuracyTop1 = measured.AccuracyTop1,
            AccuracyTop5 = measured.AccuracyTop5,
            CorrectTop1 = measured.CorrectTop1,
            TestSamples = measured.TestSamples,
            TestData = measured.TestData,
            CorrectBits = measured.CorrectBits,
            SpikesPerSample = measured.SpikesPerSample,
            SynopsPerSample = measured.SynopsPerSample,
            EnergySnnUj = measured.EnergySnnUj,
        };
    }
}
