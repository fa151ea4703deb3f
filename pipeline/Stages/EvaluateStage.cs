using System.Globalization;
using SpiKernel.Core;
using SpiKernel.Core.Csv;
using SpiKernel.Evaluators;
using SpiKernel.Evaluators.Inputs;
using SpiKernel.Evaluators.Measurement;
using SpiKernel.Evaluators.Models;
using SpiKernel.Evaluators.Providers;
using SpiKernel.Evaluators.Results;
using SpiKernel.Pipeline.ScaleOut;

namespace SpiKernel.Pipeline.Stages;

/// <summary>Settings of <see cref="EvaluateStage"/>.</summary>
/// <param name="Models">An .onnx file (its NAME.int8.onnx sibling comes along) or a folder of them.</param>
/// <param name="OutputPath">The results CSV; rows are appended when it exists. Per-layer rows go to NAME.layers.csv beside it.</param>
/// <param name="Profiles">Profiles to run, in order (device ids already applied).</param>
/// <param name="BatchSizes">Batch sizes to time.</param>
/// <param name="Latency">Warm-up, repeats or duration.</param>
/// <param name="Precision">Which weight variants each profile runs.</param>
/// <param name="Data">Test data for accuracy (default: what each model's metadata names).</param>
/// <param name="Limit">Score at most this many test images.</param>
/// <param name="Accuracy">Measure accuracy, spikes and energy (false: time only).</param>
/// <param name="AccuracyPass">With <paramref name="Accuracy"/>: score the test images (false: they only feed the timed
/// runs — an isolated child whose model and profile an earlier child scored).</param>
/// <param name="Inputs">Input shapes (<c>--input-shape</c>), test data (<c>--inputs</c>), seed and output tolerance.</param>
/// <param name="Isolate">When set, how this tool starts itself: each model × profile × batch measurement then runs in a fresh
/// <c>spikernel evaluate</c> process (clean memory figures).</param>
/// <param name="IsolatedChild">This process is such a child: measure, write rows, no progress display.</param>
/// <param name="Resume">Skip the measurements the results CSV already holds (same model hash, profile, precision, batch
/// size); rows of a measurement cut short (its per-layer rows missing) are dropped first and measured again.</param>
public sealed record EvaluateStageOptions(string Models, string OutputPath, IReadOnlyList<EvaluationProfile> Profiles,
    IReadOnlyList<int> BatchSizes, LatencyOptions Latency, PrecisionChoice Precision = PrecisionChoice.Auto, string? Data = null,
    int? Limit = null, bool Accuracy = true, InputOptions? Inputs = null, SelfLauncher? Isolate = null, bool IsolatedChild = false, bool Resume = false,
    bool AccuracyPass = true);

/// <summary>What <see cref="EvaluateStage"/> measured.</summary>
/// <param name="Rows">The rows appended to the results CSV, in order.</param>
/// <param name="ResultsPath">The results CSV.</param>
/// <param name="LayersPath">The per-layer CSV.</param>
public sealed record EvaluateStageResult(IReadOnlyList<EvaluationRow> Rows, string ResultsPath, string LayersPath)
{
    /// <summary>Rows whose model or input was rejected.</summary>
    public int Failed => Rows.Count(r => r.Status == EvaluationStatus.Failed);
}

/// <summary>
/// Measures ONNX models in ONNX Runtime on every profile asked: latency percentiles, accuracy, memory, spikes and
/// energy, one CSV row per model × profile × precision × batch size, appended and flushed as each is known (an
/// interruption keeps every row measured so far). Profiles whose provider cannot run here are <c>skipped</c> rows
/// with ONNX Runtime's reason.
/// </summary>
public sealed class EvaluateStage : IStage<EvaluateStageOptions, EvaluateStageResult>
{
    /// <inheritdoc />
    public string Name => "evaluate";

    /// <summary>Where the per-layer rows of results file <paramref name="resultsPath"/> go.</summary>
    public static string LayersPath(string resultsPath) => MeasuredResume.LayersPath(resultsPath);

    /// <inheritdoc />
    public bool IsComplete(EvaluateStageOptions options) =>
        File.Exists(options.OutputPath) && StageMarker.Matches(Folder(options.OutputPath), MarkerName(options.OutputPath), Identity(options)) && ModelsUnchanged(options);

    /// <summary>
    /// Whether an evaluation with <see cref="EvaluateStageOptions.Resume"/> would do anything: not <see cref="IsComplete"/>,
    /// or its CSV holds a <c>skipped</c> or <c>failed</c> row, which a resume tries again (a folder copied to a machine
    /// with the provider, a failure that has passed).
    /// </summary>
    internal bool HasWork(EvaluateStageOptions options) =>
        !IsComplete(options) || CsvFile.ReadCompleteRows<EvaluationRow>(options.OutputPath).Any(r => r.Status != EvaluationStatus.Ok);

    // every model file the rows measured is still the file they last measured (a model exported again, after its candidate was
    // trained again, is measured again). A row's file is looked for by its name where the models evaluated are first (a
    // moved or copied run folder's rows name the old place; a file's int8 variant is beside it), else where the row says
    private static bool ModelsUnchanged(EvaluateStageOptions options)
    {
        string here = Directory.Exists(options.Models) ? options.Models : Path.GetDirectoryName(Path.GetFullPath(options.Models))!;
        string Current(string recorded) => Path.Combine(here, Path.GetFileName(recorded)) is var near && File.Exists(near) ? near : recorded;
        // per file, its last rows: rows of its earlier content, measured before (under this path or an earlier one), stay in the CSV
        foreach (IGrouping<string, EvaluationRow> file in CsvFile.ReadCompleteRows<EvaluationRow>(options.OutputPath)
                     .Where(r => r.ModelSha256.Length > 0 && r.ModelPath.Length > 0).GroupBy(r => Path.GetFullPath(Current(r.ModelPath))))
        {
            if (!File.Exists(file.Key) || !ModelInfo.HashOf(file.Key).Equals(file.Last().ModelSha256, StringComparison.Ordinal)) return false;
        }
        return true;
    }

    /// <inheritdoc />
    public EvaluateStageResult Run(EvaluateStageOptions options, IProgressObserver progress, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(progress);
        if (options.Resume && options.Isolate is not null) throw new SettingsException("--resume and --isolate cannot be combined (isolated children measure what they are given)");
        var sources = new TestDataSource(options.Data, options.Accuracy, options.AccuracyPass);
        OutputFolder.EnsureWritableFile(options.OutputPath);
        using UnitLock? held = options.IsolatedChild ? null : Lock(options.OutputPath);
        var request = new EvaluationRequest(options.Profiles, options.BatchSizes, options.Latency, options.Precision, sources.For,
            options.Inputs, options.Limit, Isolated: options.IsolatedChild).Validated(); // before the resume rewrites the CSV
        MeasuredResume.State? resumed = options.Resume ? MeasuredResume.Prepare(options.OutputPath, LayersPath(options.OutputPath)) : null;
        request = request with { Done = resumed?.Done, LayersDone = resumed?.LayersDone };
        if (options.Data is not null && options.Accuracy) sources.Preload(options.Data);
        IReadOnlyList<ModelGroup> groups = ModelGroup.Discover(options.Models);
        // reads --inputs now: test data that cannot be read fail before the CSV is created (isolated children read them again)
        var evaluator = new Evaluator(request, options.IsolatedChild ? NullProgress.Instance : progress);

        string layersPath = LayersPath(options.OutputPath);
        var written = new List<EvaluationRow>();
        bool ended = false;
        try
        {
            using var rows = new CsvLog<EvaluationRow>(options.OutputPath, append: true);
            using var layers = new CsvLog<LayerRow>(layersPath, append: true);
            // complete again only once this evaluation ends: a kill while it tries rows again leaves the unit to be
            // resumed (cleared once both files are open: a file this version cannot append to leaves the unit as it was)
            if (!options.IsolatedChild) Reopen(options.OutputPath);
            void Sink(EvaluationRow row)
            {
                rows.Append(row);
                written.Add(row);
            }

            if (options.Isolate is { } launcher && !options.IsolatedChild)
                new IsolatedEvaluation(options, launcher, groups).Run(Sink, layers.Append, progress, cancel);
            else
                evaluator.Run(groups, Sink, layers.Append, cancel);
            // on the disk before the marker below says the unit is complete
            rows.Sync();
            layers.Sync();
            ended = true;
        }
        finally
        {
            // interrupted too: the rows measured again replace the ones cut short (an error here does not hide the first)
            if (resumed is not null)
            {
                try
                {
                    MeasuredResume.Finish(options.OutputPath, resumed);
                }
                catch (Exception) when (!ended)
                {
                    // what stopped the evaluation is the error to report; the next --resume finishes the replacement
                }
            }
        }
        if (!options.IsolatedChild) StageMarker.Write(Folder(options.OutputPath), MarkerName(options.OutputPath), Identity(options));
        return new EvaluateStageResult(written, options.OutputPath, layersPath);
    }

    /// <summary>
    /// Removes the rows of the model file <paramref name="fileName"/> (a file withdrawn from deployment) from the results
    /// file <paramref name="outputPath"/> and its layers file, under the evaluation's lock, layers first (a kill in
    /// between leaves result rows, which a second call finds again); the evaluation is then no longer complete.
    /// </summary>
    /// <returns>Whether any row went.</returns>
    internal static bool Forget(string outputPath, string fileName)
    {
        if (!File.Exists(outputPath)) return false;
        using UnitLock held = Lock(outputPath);
        List<EvaluationRow> rows = CsvFile.ReadCompleteRows<EvaluationRow>(outputPath);
        HashSet<string> gone = rows.Where(r => Path.GetFileName(r.ModelPath) == fileName).Select(r => r.ModelSha256).ToHashSet(StringComparer.Ordinal);
        if (gone.Count == 0) return false;
        Reopen(outputPath);
        string layers = LayersPath(outputPath);
        if (File.Exists(layers)) CsvFile.WriteAll(layers, CsvFile.ReadCompleteRows<LayerRow>(layers).Where(l => !gone.Contains(l.ModelSha256)));
        CsvFile.WriteAll(outputPath, rows.Where(r => Path.GetFileName(r.ModelPath) != fileName));
        return true;
    }

    /// <summary>
    /// Makes the evaluation into <paramref name="outputPath"/> incomplete, so that it looks at its models again: a file
    /// without rows yet (a model file new beside the ones measured) is not what <see cref="IsComplete"/> sees changed.
    /// </summary>
    internal static void Reopen(string outputPath) =>
        StageMarker.Clear(Folder(outputPath), MarkerName(outputPath));

    // one marker and one lock per results file: several evaluations share a folder
    private static string MarkerName(string outputPath) => "evaluate-" + Path.GetFileName(outputPath);

    private static string Folder(string outputPath) => Path.GetDirectoryName(Path.GetFullPath(outputPath))!;

    private static UnitLock Lock(string outputPath) => UnitLock.For(Folder(outputPath), MarkerName(outputPath), $"the evaluation into {outputPath}");

    private static string Identity(EvaluateStageOptions o)
    {
        // written out, invariant, in the words of earlier versions (which printed the records): their completed
        // evaluations stay complete, and a property added to a record does not make them incomplete
        static string R(double v) => v.ToString("R", CultureInfo.InvariantCulture);
        InputOptions inputs = o.Inputs ?? new InputOptions();
        string feeding = inputs.Path is null && inputs.Seed == 0 && inputs.Check == new OutputTolerance()
            ? ""
            : string.Create(CultureInfo.InvariantCulture, $" inputs={(inputs.Path is { } path ? Path.GetFullPath(path) : "")} seed={inputs.Seed} " +
                $"tolerance=OutputTolerance {{ Rtol = {R(inputs.Check.Rtol)}, Atol = {R(inputs.Check.Atol)} }}");
        return string.Create(CultureInfo.InvariantCulture,
            $"models={Path.GetFullPath(o.Models)} profiles={string.Join(',', o.Profiles.Select(p => $"{p.Name}:{p.DeviceId}"))} " +
            $"batches={string.Join(',', o.BatchSizes)} latency={o.Latency.Identity()} " +
            $"precision={o.Precision} data={o.Data} limit={o.Limit} accuracy={o.Accuracy} shape={string.Join(' ', inputs.Shapes ?? [])} " +
            $"isolate={o.Isolate is not null}{feeding}");
    }
}
