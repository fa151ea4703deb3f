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
internal sealed record ExportBenchOptions(int SmallRuns = 100, int LargeRuns = 6, int Rounds = 10, IReadOnlyList<int>? Batches = null,
    string? KeepDirectory = null);

/// <summary>One network × engine × batch × threads of <see cref="ExportBench"/>.</summary>
/// <param name="Network">"forward cell" or "backward cell".</param>
/// <param name="Engine">"TorchSharp eager", "ORT CPU batched" or "ORT CPU step".</param>
/// <param name="Batch">Batch size.</param>
/// <param name="Threads">Intra-op threads (ONNX Runtime) or torch threads.</param>
/// <param name="P50Ms">Median milliseconds per run.</param>
/// <param name="P90Ms">90th percentile milliseconds per run.</param>
/// <param name="VsTorchSharp">TorchSharp's p50 / this row's p50 (1 for TorchSharp itself).</param>
/// <param name="BatchedVsStep">On the batched layout's row: the median of the per-round ratios step p50 / batched p50; else null.</param>
internal sealed record ExportBenchRow(string Network, string Engine, int Batch, int Threads, double P50Ms, double P90Ms,
    double VsTorchSharp, double? BatchedVsStep);

/// <summary>The forward cell at batch 1, against the targets (batched ≥ 1.2× step, exported ≥ 1.5× TorchSharp).</summary>
/// <param name="Threads">Thread count.</param>
/// <param name="BatchedVsStep">Median per-round ratio step p50 / batched p50.</param>
/// <param name="ExportedVsTorchSharp">TorchSharp p50 / ORT batched p50.</param>
internal sealed record ExportBenchTarget(int Threads, double BatchedVsStep, double ExportedVsTorchSharp);

/// <summary>What <see cref="ExportBench"/> measured.</summary>
/// <param name="Rows">Per network, batch and thread count: TorchSharp, then ORT batched and step.</param>
/// <param name="Targets">Forward cell at batch 1, one per thread count (empty when batch 1 was not measured).</param>
/// <param name="Rounds">Interleaved rounds per row.</param>
internal sealed record ExportBenchResult(IReadOnlyList<ExportBenchRow> Rows, IReadOnlyList<ExportBenchTarget> Targets, int Rounds);

/// <summary>
/// <c>bench export</c>: inference latency of the exported graph in ONNX Runtime (CPU provider, both layouts)
/// against TorchSharp eager inference of the same weights, for a forward-cell and a backward-cell network.
/// </summary>
internal static class ExportBench
{
    /// <summary>The forward part of SNASNet's cell (no feedback edges), on the same macro network.</summary>
    public const string ForwardCell = "0303 0030 0002 0000";

    /// <summary>Exports both networks in both layouts and measures them in interleaved rounds.</summary>
    public static ExportBenchResult Run(ExportBenchOptions options, IProgressObserver progress, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(progress);
        (int smallRuns, int largeRuns, int rounds, string? keep) = (options.SmallRuns, options.LargeRuns, options.Rounds, options.KeepDirectory);
        IReadOnlyList<int> batches = options.Batches ?? [1, 64];
        if (smallRuns < 1 || largeRuns < 1) throw new SettingsException("--runs and --runs-large must be at least 1.");
        if (rounds < 1) throw new SettingsException("--rounds must be at least 1.");
        if (batches.Count == 0 || batches.Any(b => b < 1 || b > 10000)) throw new SettingsException("--batch sizes must be between 1 and 10000.");

        ImageDataset test = FashionMnist.LoadEmbedded().Test;
        (Tensor all, Tensor labels) = BatchLoader.Load(test, Enumerable.Range(0, batches.Max()).ToArray());
        labels.Dispose(); // latency only: the labels are not needed
        string dir = keep ?? Directory.CreateTempSubdirectory("spikernel-bench-").FullName;
        Directory.CreateDirectory(dir);
        var rows = new List<ExportBenchRow>();
        var targets = new List<ExportBenchTarget>();
        EvaluationProfile cpu = EvaluationProfile.Find("cpu");
        // a round at batch b costs about b times a round at batch 1: the bar (and its ETA) counts it so
        double total = 2 * 2 * rounds * batches.Sum();
        try
        {
            progress.Begin("bench export", total);
            double done = 0;
            foreach ((string label, SnnArchitecture arch) in new[]
            {
                ("forward cell", SnnArchitecture.FashionMnistSmall with { Cell = CellTopology.Parse(ForwardCell) }),
                ("backward cell", SnnArchitecture.FashionMnistSmall),
            })
            {
                manual_seed(1);
                using var net = new SpikingNetwork(arch);
                net.eval();
                var files = new Dictionary<TimestepLayout, string>();
                foreach (TimestepLayout layout in new[] { TimestepLayout.Batched, TimestepLayout.Step })
                {
                    string path = Path.Combine(dir, $"{label.Replace(' ', '-')}-{layout}.onnx");
                    SnnOnnxExporter.Save(SnnOnnxExporter.Export(net, new ExportOptions(layout)), path);
                    files[layout] = path;
                }
                foreach (int batch in batches)
                {
                    using Tensor x = all.narrow(0, 0, batch).contiguous();
                    float[] pixels = x.data<float>().ToArray();
                    long[] shape = x.shape;
                    int runs = Math.Max(1, (batch < 16 ? smallRuns : largeRuns) / rounds);
                    const int warmup = 1;
                    foreach (int threads in new[] { 1, 2 })
                    {
                        var ort = files.Keys.ToDictionary(l => l, _ => new List<double>());
                        var torchMs = new List<double>();
                        var ratios = new List<double>();
                        var sessions = new Dictionary<TimestepLayout, ProfileSession>();
                        // the evaluator's cpu profile (sequential, all graph optimisations) at this thread count
                        EvaluationProfile profile = cpu with { IntraOpThreads = threads };
                        try
                        {
                            foreach ((TimestepLayout layout, string path) in files)
                            {
                                sessions[layout] = SessionFactory.Create(path, profile);
                                LatencyMeter.Measure(sessions[layout].Session, profile, "input", pixels, shape, new LatencyOptions(Warmup: 2, Repeats: 1), cancel: cancel); // arena, caches
                            }
                            // Interleaved rounds: every engine is measured in every round, in blocks, so a slow spell of
                            // this (shared, virtual) machine lands on all of them alike; the layouts' ratio is taken per
                            // round (paired) and its median reported. A pause before each block lets the other session's
                            // pool threads stop spinning, so each block runs as a lone session would.
                            for (int round = 0; round < rounds; round++)
                            {
                                progress.Advance(done, $"{label} · batch {batch} · {threads} thread{(threads == 1 ? "" : "s")} · round {round + 1}/{rounds}");
                                var roundP50 = new Dictionary<TimestepLayout, double>();
                                foreach ((TimestepLayout layout, ProfileSession session) in sessions)
                                {
                                    cancel.ThrowIfCancellationRequested();
                                    Thread.Sleep(50);
                                    // the evaluator's meter: input bound once, outputs pre-allocated, nothing else timed
                                    LatencyResult block = LatencyMeter.Measure(session.Session, profile, "input", pixels, shape,
                                        new LatencyOptions(Warmup: 1, Repeats: runs), cancel: cancel);
                                    ort[layout].AddRange(block.Samples);
                                    roundP50[layout] = block.Stats.P50;
                                }
                                ratios.Add(roundP50[TimestepLayout.Step] / roundP50[TimestepLayout.Batched]);
                                // TorchSharp last: libtorch's OpenMP workers keep spinning for a while after each torch
                                // call and would steal cores from ONNX Runtime's threads if it ran right after TorchSharp.
                                set_num_threads(threads);
                                torchMs.AddRange(Time(warmup, runs, () =>
                                {
                                    using var scope = NewDisposeScope();
                                    using var ng = no_grad();
                                    net.forward(x);
                                }));
                                Thread.Sleep(500); // let the OpenMP workers go idle before the next ONNX Runtime measurement
                                progress.Advance(done += batch);
                            }
                        }
                        finally
                        {
                            foreach (ProfileSession session in sessions.Values) session.Dispose();
                        }
                        LatencyStats torch = LatencyStats.From(torchMs, batch);
                        rows.Add(new ExportBenchRow(label, "TorchSharp eager", batch, threads, torch.P50, torch.P90, 1.0, null));
                        double speedup = LatencyStats.Percentile(ratios.Order().ToList(), 50);
                        var stats = ort.ToDictionary(e => e.Key, e => LatencyStats.From(e.Value, batch));
                        foreach ((TimestepLayout layout, LatencyStats st) in stats)
                        {
                            rows.Add(new ExportBenchRow(label, $"ORT CPU {layout.ToString().ToLowerInvariant()}", batch, threads, st.P50, st.P90,
                                torch.P50 / st.P50, layout == TimestepLayout.Batched ? speedup : null));
                        }
                        if (label == "forward cell" && batch == 1)
                            targets.Add(new ExportBenchTarget(threads, speedup, torch.P50 / stats[TimestepLayout.Batched].P50));
                    }
                }
            }
        }
        finally
        {
            if (keep is null) Directory.Delete(dir, recursive: true);
            all.Dispose();
        }
        return new ExportBenchResult(rows, targets, rounds);
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
