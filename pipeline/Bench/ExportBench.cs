using System.Diagnostics;
using SpiKernel.Core;
using SpiKernel.Evaluators.Measurement;
using SpiKernel.Evaluators.Providers;
using SpiKernel.Exporters;
using SpiKernel.Models.Architecture;
using SpiKernel.Models.Network;
using SpiKernel.Pipeline.Data;
using static TorchSharp.torch;
using Tensor = TorchSharp.torch.Tensor;

namespace SpiKernel.Pipeline.Bench;

// Tensors in bench: images are loaded once per bench and disposed at its end (labels at once where unused); networks
// are disposed with using; every timed TorchSharp forward and every training step (Trainer.Step) has its own scope.
/// <summary>Settings of <see cref="ExportBench"/>.</summary>
/// <param name="SmallRuns">Measured runs at batch sizes below 16 (≥ 1), spread over the rounds.</param>
/// <param name="LargeRuns">Measured runs at batch sizes of 16 and more (≥ 1), spread over the rounds.</param>
/// <param name="Rounds">Interleaved rounds (≥ 1): every engine is measured in every round.</param>
/// <param name="Batches">Batch sizes, 1 to 10000 (the embedded test set); null: 1 and 64.</param>
/// <param name="KeepDirectory">Keep the exported .onnx files in this folder; null: a temporary folder, deleted after.</param>
/// <param name="Networks">Networks by name (<see cref="ExportBench.Networks"/>); null: all.</param>
/// <param name="WithoutConvolutions">Also measure each file without its convolutions (<see cref="ConvolutionFreeGraph"/>): what
/// the rest of the file costs, so what a faster convolution could give at most.</param>
internal sealed record ExportBenchOptions(int SmallRuns = 100, int LargeRuns = 6, int Rounds = 10, IReadOnlyList<int>? Batches = null,
    string? KeepDirectory = null, IReadOnlyList<string>? Networks = null, bool WithoutConvolutions = false);

/// <summary>One network × setting × engine × batch of <see cref="ExportBench"/>.</summary>
/// <param name="Network">"quickstart", "forward cell" or "backward cell".</param>
/// <param name="Profile">The evaluator's profile the ONNX Runtime sessions use: "cpu" or "edge".</param>
/// <param name="Engine">"TorchSharp eager", or "ORT fp32|int8 batched|step", with " without conv" for a file without its convolutions.</param>
/// <param name="Batch">Batch size.</param>
/// <param name="Threads">Intra-op threads (ONNX Runtime) or torch threads.</param>
/// <param name="P50Ms">Median milliseconds per run.</param>
/// <param name="P90Ms">90th percentile milliseconds per run.</param>
/// <param name="VsTorchSharp">The median of the per-round ratios TorchSharp p50 / this row's p50 (1 for TorchSharp itself); null where TorchSharp is not measured (edge).</param>
/// <param name="BatchedVsStep">On a batched row: the median of the per-round ratios step p50 / batched p50 (same precision); else null.</param>
/// <param name="Int8VsFp32">On an int8 row: the median of the per-round ratios fp32 p50 / int8 p50 (same layout); else null.</param>
/// <param name="FreeConvVsFp32">On a row of a file without its convolutions: the median of the per-round ratios of the
/// fp32 file's p50 (same layout) to this row's p50 — the most any faster convolution could make that file faster than
/// the fp32 file (its convolutions taking no time at all); else null.</param>
/// <param name="Layout">The exported file's timestep layout; null for TorchSharp.</param>
/// <param name="Precision">The exported file's weights; null for TorchSharp.</param>
internal sealed record ExportBenchRow(string Network, string Profile, string Engine, int Batch, int Threads, double P50Ms, double P90Ms,
    double? VsTorchSharp, double? BatchedVsStep, double? Int8VsFp32, double? FreeConvVsFp32 = null,
    TimestepLayout? Layout = null, WeightPrecision? Precision = null);

/// <summary>The forward cell at batch 1, against the targets (batched ≥ 1.2× step, exported ≥ 1.5× TorchSharp).</summary>
/// <param name="Threads">Thread count.</param>
/// <param name="BatchedVsStep">Median per-round ratio step p50 / batched p50 (fp32).</param>
/// <param name="ExportedVsTorchSharp">Median per-round ratio TorchSharp p50 / ORT fp32 batched p50.</param>
internal sealed record ExportBenchTarget(int Threads, double BatchedVsStep, double ExportedVsTorchSharp);

/// <summary>What <see cref="ExportBench"/> measured.</summary>
/// <param name="Rows">Per network, batch and setting: TorchSharp (cpu settings), then ORT fp32 and int8 in both layouts.</param>
/// <param name="Targets">Forward cell at batch 1 on the cpu settings, one per thread count (empty when not measured).</param>
/// <param name="Rounds">Interleaved rounds per row.</param>
internal sealed record ExportBenchResult(IReadOnlyList<ExportBenchRow> Rows, IReadOnlyList<ExportBenchTarget> Targets, int Rounds)
{
    /// <summary>
    /// One ratio of each layout, grouped by network, profile, threads and batch (in the order measured): the rows
    /// <paramref name="include"/> takes where <paramref name="ratio"/> has a value.
    /// </summary>
    public IReadOnlyList<ExportBenchRatios> ByLayout(Func<ExportBenchRow, double?> ratio, Func<ExportBenchRow, bool> include) =>
        Rows.Where(w => ratio(w) is not null && w.Layout is not null && include(w))
            .GroupBy(w => (w.Network, w.Profile, w.Threads, w.Batch))
            .Select(g => new ExportBenchRatios(g.Key.Network, g.Key.Profile, g.Key.Threads, g.Key.Batch, g.Select(w => (w.Layout!.Value, ratio(w)!.Value)).ToList()))
            .ToList();
}

/// <summary>One setting's ratios, one per layout (<see cref="ExportBenchResult.ByLayout"/>).</summary>
internal sealed record ExportBenchRatios(string Network, string Profile, int Threads, int Batch, IReadOnlyList<(TimestepLayout Layout, double Ratio)> Layouts);

/// <summary>
/// <c>bench export</c>: inference latency of the exported graphs in ONNX Runtime (CPU provider; float32 and int8, both
/// layouts) against TorchSharp eager inference of the same weights, for the quickstart network and the small
/// Fashion-MNIST network with a forward and a backward cell, on the evaluator's <c>cpu</c> profile at 1 and 2 threads
/// and its <c>edge</c> profile.
/// </summary>
internal static class ExportBench
{
    /// <summary>The forward part of SNASNet's cell (no feedback edges), on the same macro network.</summary>
    public const string ForwardCell = "0303 0030 0002 0000";

    /// <summary>The networks, by name: the quickstart (default) network and the small Fashion-MNIST network with a forward and a backward cell.</summary>
    public static IReadOnlyList<(string Name, SnnArchitecture Architecture)> Networks { get; } =
    [
        ("quickstart", SnnArchitecture.Default),
        ("forward cell", SnnArchitecture.FashionMnistSmall with { Cell = CellTopology.Parse(ForwardCell) }),
        ("backward cell", SnnArchitecture.FashionMnistSmall),
    ];

    /// <summary>One measured file: an export, or (<paramref name="WithoutConv"/>) the same export without its convolutions.</summary>
    private sealed record BenchFile(TimestepLayout Layout, WeightPrecision Precision, bool WithoutConv = false)
    {
        public string Engine => $"ORT {(Precision == WeightPrecision.Int8 ? "int8" : "fp32")} {Layout.ToString().ToLowerInvariant()}{(WithoutConv ? " without conv" : "")}";

        public string FileName(string network) =>
            $"{network.Replace(' ', '-')}-{Layout}-{Precision}{(WithoutConv ? "-without-conv" : "")}.onnx".ToLowerInvariant();
    }

    private static readonly BenchFile[] Exports =
    [
        new(TimestepLayout.Batched, WeightPrecision.Float32), new(TimestepLayout.Step, WeightPrecision.Float32),
        new(TimestepLayout.Batched, WeightPrecision.Int8), new(TimestepLayout.Step, WeightPrecision.Int8),
    ];

    /// <summary>Exports the networks in both layouts and precisions and measures them in interleaved rounds.</summary>
    public static ExportBenchResult Run(ExportBenchOptions options, IProgressObserver progress, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(progress);
        IReadOnlyList<int> batches = options.Batches ?? [1, 64];
        if (options.SmallRuns < 1 || options.LargeRuns < 1) throw new SettingsException("--runs and --runs-large must be at least 1.");
        if (options.Rounds < 1) throw new SettingsException("--rounds must be at least 1.");
        if (batches.Count == 0 || batches.Any(b => b < 1 || b > 10000)) throw new SettingsException("--batch sizes must be between 1 and 10000.");
        var networks = (options.Networks ?? Networks.Select(n => n.Name).ToArray()).Select(name => Networks.FirstOrDefault(n => n.Name == name) is { Name: not null } found
            ? found : throw new SettingsException($"--networks: unknown network '{name}'; known: {string.Join(", ", Networks.Select(n => n.Name))}.")).ToArray();

        ImageDataset test = FashionMnist.LoadEmbedded().Test;
        (Tensor all, Tensor labels) = BatchLoader.Load(test, Enumerable.Range(0, batches.Max()).ToArray());
        labels.Dispose(); // latency only: the labels are not needed
        string dir = options.KeepDirectory ?? Directory.CreateTempSubdirectory("spikernel-bench-").FullName;
        Directory.CreateDirectory(dir);
        var rows = new List<ExportBenchRow>();
        var targets = new List<ExportBenchTarget>();
        // a round at batch b costs about b times a round at batch 1: the bar (and its ETA) counts it so
        try
        {
            progress.Begin("bench export", networks.Length * Settings.Length * options.Rounds * batches.Sum());
            double done = 0;
            foreach ((string label, SnnArchitecture arch) in networks)
            {
                manual_seed(1);
                using var net = new SpikingNetwork(arch);
                net.eval();
                var files = new Dictionary<BenchFile, string>();
                foreach (BenchFile f in Exports)
                {
                    Onnx.ModelProto model = SnnOnnxExporter.Export(net, new ExportOptions(f.Layout, f.Precision));
                    SnnOnnxExporter.Save(model, files[f] = Path.Combine(dir, f.FileName(label)));
                    if (!options.WithoutConvolutions) continue;
                    BenchFile free = f with { WithoutConv = true };
                    (Onnx.ModelProto stripped, _, int kept) = ConvolutionFreeGraph.Strip(model);
                    // the stem only: any other convolution left would be timed as "the rest" (a shape the strip cannot read is a bug here)
                    if (kept != 1) throw new InvalidOperationException($"{free.FileName(label)}: {kept - 1} convolutions besides the stem were not removed.");
                    SnnOnnxExporter.Save(stripped, files[free] = Path.Combine(dir, free.FileName(label)));
                }
                foreach (int batch in batches)
                {
                    using Tensor x = all.narrow(0, 0, batch).contiguous();
                    // runs per round: the runs asked for spread over the rounds, rounded up (6 over 10 rounds is 1 a round)
                    int runs = batch < 16 ? options.SmallRuns : options.LargeRuns;
                    var input = new BenchInput(x, (runs + options.Rounds - 1) / options.Rounds);
                    foreach ((EvaluationProfile profile, bool torch) in Settings)
                    {
                        string where = $"{label} · batch {batch} · {profile.Name} {profile.IntraOpThreads} thread{(profile.IntraOpThreads == 1 ? "" : "s")}";
                        IReadOnlyList<ExportBenchRow> measured = MeasureSetting(label, net, files, profile, torch, input, options.Rounds,
                            round => progress.Advance(done, $"{where} · round {round + 1}/{options.Rounds}"), () => progress.Advance(done += batch), cancel);
                        rows.AddRange(measured);
                        if (label == "forward cell" && batch == 1 && torch)
                        {
                            ExportBenchRow batched = measured.Single(r => r.Engine == Exports[0].Engine);
                            targets.Add(new ExportBenchTarget(profile.IntraOpThreads, batched.BatchedVsStep!.Value, batched.VsTorchSharp!.Value));
                        }
                    }
                }
            }
        }
        finally
        {
            if (options.KeepDirectory is null) Directory.Delete(dir, recursive: true);
            all.Dispose();
        }
        return new ExportBenchResult(rows, targets, options.Rounds);
    }

    /// <summary>The evaluator's cpu profile at 1 and 2 threads (with TorchSharp at the same thread count), and its edge profile.</summary>
    private static (EvaluationProfile Profile, bool Torch)[] Settings { get; } =
    [
        (EvaluationProfile.Find("cpu") with { IntraOpThreads = 1 }, true),
        (EvaluationProfile.Find("cpu") with { IntraOpThreads = 2 }, true),
        (EvaluationProfile.Find("edge"), false),
    ];

    /// <summary>One batch's input: the tensor (TorchSharp), its values and shape (ONNX Runtime), and the runs per round.</summary>
    private sealed record BenchInput(Tensor Tensor, int Runs)
    {
        public float[] Pixels { get; } = Tensor.data<float>().ToArray();
    }

    /// <summary>Every engine of one network, batch and setting, in interleaved rounds; the rows in engine order.</summary>
    private static IReadOnlyList<ExportBenchRow> MeasureSetting(string label, SpikingNetwork net, Dictionary<BenchFile, string> files,
        EvaluationProfile profile, bool torch, BenchInput input, int rounds, Action<int> roundStarted, Action roundDone, CancellationToken cancel)
    {
        long[] shape = input.Tensor.shape;
        int batch = (int)shape[0];
        var ort = files.Keys.ToDictionary(k => k, _ => new List<double>());
        var roundP50 = files.Keys.ToDictionary(k => k, _ => new List<double>());
        var torchMs = new List<double>();
        var torchRoundP50 = new List<double>();
        var sessions = new Dictionary<BenchFile, ProfileSession>();
        try
        {
            foreach ((BenchFile key, string path) in files)
            {
                sessions[key] = SessionFactory.Create(path, profile);
                LatencyMeter.Measure(sessions[key].Session, profile, "input", input.Pixels, shape, new LatencyOptions(Warmup: 2, Repeats: 1), cancel: cancel); // arena, caches
            }
            // Interleaved rounds: every engine is measured in every round, in blocks, so a slow spell of this (shared,
            // virtual) machine lands on all of them alike; ratios are taken per round (paired) and their median
            // reported. A pause before each block lets the other session's pool threads stop spinning, so each block runs
            // as a lone session would.
            for (int round = 0; round < rounds; round++)
            {
                roundStarted(round);
                // the sessions' order turns by one each round, so no file is always measured first (after TorchSharp's pause)
                foreach ((BenchFile key, ProfileSession session) in sessions.Skip(round % sessions.Count).Concat(sessions.Take(round % sessions.Count)))
                {
                    cancel.ThrowIfCancellationRequested();
                    Thread.Sleep(50);
                    // the evaluator's meter: input bound once, outputs pre-allocated, nothing else timed
                    LatencyResult block = LatencyMeter.Measure(session.Session, profile, "input", input.Pixels, shape,
                        new LatencyOptions(Warmup: 1, Repeats: input.Runs), cancel: cancel);
                    ort[key].AddRange(block.Samples);
                    roundP50[key].Add(block.Stats.P50);
                }
                if (torch)
                {
                    // TorchSharp last: libtorch's OpenMP workers keep spinning for a while after each torch call and would
                    // steal cores from ONNX Runtime's threads if it ran right after TorchSharp.
                    set_num_threads(profile.IntraOpThreads);
                    Thread.Sleep(50); // as before each ONNX Runtime block: its pool threads stop spinning first
                    double[] block = Time(1, input.Runs, () =>
                    {
                        using var scope = NewDisposeScope();
                        using var ng = no_grad();
                        net.forward(input.Tensor);
                    });
                    torchMs.AddRange(block);
                    torchRoundP50.Add(LatencyStats.Percentile(block.Order().ToList(), 50));
                    Thread.Sleep(500); // let the OpenMP workers go idle before the next ONNX Runtime measurement
                }
                roundDone();
            }
        }
        finally
        {
            foreach (ProfileSession session in sessions.Values) session.Dispose();
        }

        double MedianRatio(List<double> over, List<double> under) => LatencyStats.Percentile(over.Zip(under, (a, b) => a / b).Order().ToList(), 50);
        var rows = new List<ExportBenchRow>();
        LatencyStats? t = torch ? LatencyStats.From(torchMs, batch) : null;
        if (t is not null) rows.Add(new ExportBenchRow(label, profile.Name, "TorchSharp eager", batch, profile.IntraOpThreads, t.P50, t.P90, 1.0, null, null));
        foreach (BenchFile f in Exports.Concat(Exports.Select(e => e with { WithoutConv = true })).Where(files.ContainsKey))
        {
            LatencyStats st = LatencyStats.From(ort[f], batch);
            List<double> fp32 = roundP50[new BenchFile(f.Layout, WeightPrecision.Float32)];
            double? batchedVsStep = f is { Layout: TimestepLayout.Batched, WithoutConv: false }
                ? MedianRatio(roundP50[f with { Layout = TimestepLayout.Step }], roundP50[f]) : null;
            double? int8VsFp32 = f is { Precision: WeightPrecision.Int8, WithoutConv: false } ? MedianRatio(fp32, roundP50[f]) : null;
            double? freeConv = f.WithoutConv ? MedianRatio(fp32, roundP50[f]) : null;
            rows.Add(new ExportBenchRow(label, profile.Name, f.Engine, batch, profile.IntraOpThreads, st.P50, st.P90,
                t is null || f.WithoutConv ? null : MedianRatio(torchRoundP50, roundP50[f]), batchedVsStep, int8VsFp32, freeConv, f.Layout, f.Precision));
        }
        return rows;
    }

    private static double[] Time(int warmup, int runs, Action action)
    {
        for (int i = 0; i < warmup; i++) action();
        var ms = new double[runs];
        for (int i = 0; i < runs; i++)
        {
            var sw = Stopwatch.StartNew();
            action();
            ms[i] = sw.Elapsed.TotalMilliseconds;
            if (i % 5 == 4)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }
        }
        return ms;
    }
}
