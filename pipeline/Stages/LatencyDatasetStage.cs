using SpiKernel.Core;
using SpiKernel.Core.Csv;
using SpiKernel.Evaluators;
using SpiKernel.Evaluators.Measurement;
using SpiKernel.Evaluators.Providers;
using SpiKernel.Evaluators.Results;
using SpiKernel.Exporters;
using SpiKernel.Models.Architecture;
using SpiKernel.Models.Network;
using SpiKernel.Models.Search;
using SpiKernel.Pipeline.Training;

namespace SpiKernel.Pipeline.Stages;

/// <summary>Settings of <see cref="LatencyDatasetStage"/>.</summary>
/// <param name="OutputDirectory">Gets <c>models/</c> (the exports) and <c>results.csv</c>; must not hold a results.csv yet.</param>
/// <param name="Count">Distinct random architectures.</param>
/// <param name="Profiles">Profiles to measure on.</param>
/// <param name="BatchSizes">Batch sizes to time.</param>
/// <param name="Template">Macro knobs (input, channels, T, …) of every candidate; the cell and kernel set are sampled.</param>
/// <param name="KernelSets">Kernel sets drawn from, uniformly.</param>
/// <param name="Seed">Fixes the candidates and their fresh weights.</param>
/// <param name="Latency">Warm-up and repeats per measurement.</param>
/// <param name="Int8">Also export NAME.int8.onnx (the edge profile times it).</param>
/// <param name="Precision">Which variants each profile runs.</param>
/// <param name="Layouts">
/// The timestep layouts each architecture is exported in (null: both): a predictor predicts only for layouts it was
/// fitted on. Batched files are models/ID.onnx, step files models/ID.step.onnx.
/// </param>
public sealed record LatencyDatasetOptions(string OutputDirectory, int Count, IReadOnlyList<EvaluationProfile> Profiles, IReadOnlyList<int> BatchSizes,
    SnnArchitecture Template, IReadOnlyList<(string Name, KernelSet Set)> KernelSets, int Seed = 1, LatencyOptions? Latency = null,
    bool Int8 = true, PrecisionChoice Precision = PrecisionChoice.Auto, IReadOnlyList<TimestepLayout>? Layouts = null)
{
    /// <summary>Both layouts, step first: what <c>run</c> exports, and <c>export</c>'s default.</summary>
    public static IReadOnlyList<TimestepLayout> BothLayouts { get; } = [TimestepLayout.Step, TimestepLayout.Batched];
}

/// <summary>What <see cref="LatencyDatasetStage"/> made.</summary>
/// <param name="ResultsPath">The results CSV.</param>
/// <param name="ModelsDirectory">The exported files.</param>
/// <param name="Architectures">The sampled architectures, in order.</param>
/// <param name="Evaluation">The measurement.</param>
public sealed record LatencyDatasetResult(string ResultsPath, string ModelsDirectory, IReadOnlyList<SnnArchitecture> Architectures,
    EvaluateStageResult Evaluation)
{
    /// <summary>How the measured p50 latencies spread, per profile, precision and batch size (rows measured ok).</summary>
    public IReadOnlyList<LatencySpread> Spread => Evaluation.Rows
        .Where(w => w.Status == EvaluationStatus.Ok && w.LatencyP50Ms is not null)
        .GroupBy(w => (w.Profile, w.Precision, w.BatchSize))
        .Select(g =>
        {
            double[] ms = g.Select(w => w.LatencyP50Ms!.Value).Order().ToArray();
            double median = ms.Length % 2 == 1 ? ms[ms.Length / 2] : (ms[ms.Length / 2 - 1] + ms[ms.Length / 2]) / 2;
            return new LatencySpread(g.Key.Profile, g.Key.Precision, g.Key.BatchSize ?? 0, ms.Length, ms[0], median, ms[^1]);
        }).ToArray();
}

/// <summary>The spread of measured p50 latencies of one profile and precision.</summary>
/// <param name="Profile">The profile.</param>
/// <param name="Precision">fp32 or int8.</param>
/// <param name="BatchSize">The batch size.</param>
/// <param name="Rows">Rows measured.</param>
/// <param name="MinMs">The fastest p50, ms.</param>
/// <param name="MedianMs">The median p50, ms.</param>
/// <param name="MaxMs">The slowest p50, ms.</param>
public sealed record LatencySpread(string Profile, string Precision, int BatchSize, int Rows, double MinMs, double MedianMs, double MaxMs);

/// <summary>
/// The latency dataset helper: samples random candidates exactly as the search does (<see cref="CellSampler"/> over
/// the kernel sets, duplicates drawn again), exports each with fresh, untrained weights (latency does not depend on
/// the weights) and measures them with <see cref="EvaluateStage"/> (time only), so a predictor for a machine can be
/// trained in minutes.
/// </summary>
public sealed class LatencyDatasetStage : IStage<LatencyDatasetOptions, LatencyDatasetResult>
{
    /// <summary>The results file in the output folder.</summary>
    public const string ResultsFile = "results.csv";

    /// <inheritdoc />
    public string Name => "latency-dataset";

    /// <inheritdoc />
    public bool IsComplete(LatencyDatasetOptions options) =>
        File.Exists(Path.Combine(options.OutputDirectory, ResultsFile)) && StageMarker.Matches(options.OutputDirectory, Name, Identity(options));

    /// <summary>The <paramref name="count"/> architectures <paramref name="seed"/> gives (what <see cref="Run"/> exports).</summary>
    public static IReadOnlyList<SnnArchitecture> Sample(SnnArchitecture template, IReadOnlyList<(string Name, KernelSet Set)> sets, int count, int seed)
    {
        ArgumentNullException.ThrowIfNull(template);
        ArgumentNullException.ThrowIfNull(sets);
        if (count < 1) throw new SettingsException($"--count must be at least 1 (got {count}).");
        if (sets.Count == 0) throw new SettingsException("--kernels names no kernel set.");
        var rng = new Random(Trainer.DeriveSeed(seed, 0, 11));
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var result = new List<SnnArchitecture>();
        for (int draw = 0; result.Count < count && draw < count * Search.SearchRunner.DrawsPerCandidate; draw++)
        {
            KernelSet set = sets[rng.Next(sets.Count)].Set;
            CellKind kind = rng.Next(2) == 0 ? CellKind.Forward : CellKind.Backward;
            SnnArchitecture arch = template with { Cell = CellSampler.Sample(rng, set, kind), Kernels = set };
            if (seen.Add(arch.CandidateId)) result.Add(arch.Validated());
        }
        if (result.Count < count)
            throw new SettingsException($"only {result.Count} distinct architectures in {count * Search.SearchRunner.DrawsPerCandidate} draws; ask for fewer or more kernel sets.");
        return result;
    }

    /// <inheritdoc />
    public LatencyDatasetResult Run(LatencyDatasetOptions options, IProgressObserver progress, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(progress);
        string results = Path.Combine(options.OutputDirectory, ResultsFile);
        if (File.Exists(results))
            throw new SettingsException($"{results} exists; choose a new --out folder (rows would mix with another dataset).");
        if (!options.Int8 && options.Precision == PrecisionChoice.Int8)
            throw new SettingsException("--precision int8 times the int8 files, and --no-int8 writes none: nothing would be measured; give one of them.");
        IReadOnlyList<TimestepLayout> layouts = options.Layouts ?? LatencyDatasetOptions.BothLayouts;
        if (layouts.Count == 0) throw new SettingsException("--layouts names no layout; give step, batched or both");
        IReadOnlyList<SnnArchitecture> archs = Sample(options.Template, options.KernelSets, options.Count, options.Seed);
        LatencyOptions latency = options.Latency ?? new LatencyOptions(10, 100, null);
        // check the settings before minutes of exporting
        new EvaluationRequest(options.Profiles, options.BatchSizes, latency, options.Precision, _ => TestData.None("time only")).Validated();
        if (options.Int8 && new ExportOptions(Precision: WeightPrecision.Int8).WhyNot(options.Template.Macro) is { } why)
            throw new SettingsException($"{why} (give --no-int8 for float files only)");
        string models = Path.Combine(options.OutputDirectory, "models");
        OutputFolder.EnsureWritable(models); // one line naming the folder, not .NET's "Could not find a part of the path"

        progress.Begin("export untrained candidates", archs.Count);
        for (int i = 0; i < archs.Count; i++)
        {
            cancel.ThrowIfCancellationRequested();
            TorchSharp.torch.manual_seed(Trainer.DeriveSeed(options.Seed, i, 13));
            using (var net = new SpikingNetwork(archs[i]))
            {
                foreach (TimestepLayout layout in layouts)
                {
                    string path = Path.Combine(models, archs[i].CandidateId + (layout == TimestepLayout.Batched ? "" : "." + CsvFormat.Word(layout)));
                    SnnOnnxExporter.Save(SnnOnnxExporter.Export(net, new ExportOptions(layout)), path + ".onnx");
                    if (options.Int8) SnnOnnxExporter.Save(SnnOnnxExporter.Export(net, new ExportOptions(layout, WeightPrecision.Int8)), path + ".int8.onnx");
                }
            }
            progress.Advance(i + 1, $"export {archs[i].CandidateId}");
        }

        var evaluate = new EvaluateStageOptions(models, results, options.Profiles, options.BatchSizes, latency, options.Precision, Accuracy: false);
        EvaluateStageResult measured = new EvaluateStage().Run(evaluate, progress, cancel);
        StageMarker.Write(options.OutputDirectory, Name, Identity(options));
        return new LatencyDatasetResult(results, models, archs, measured);
    }

    private static string Identity(LatencyDatasetOptions o) =>
        $"count={o.Count} profiles={string.Join(',', o.Profiles.Select(p => p.Name))} batches={string.Join(',', o.BatchSizes)} " +
        $"template={o.Template} sets={string.Join(';', o.KernelSets.Select(s => s.Name))} seed={o.Seed} latency={o.Latency?.Identity()} int8={o.Int8} precision={o.Precision} " +
        $"layouts={string.Join(',', (o.Layouts ?? LatencyDatasetOptions.BothLayouts).Select(CsvFormat.Word))}";
}
