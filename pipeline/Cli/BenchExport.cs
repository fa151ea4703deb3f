using System.Diagnostics;
using SpiKernel.Evaluators.Measurement;
using SpiKernel.Evaluators.Providers;
using SpiKernel.Exporters;
using SpiKernel.Models.Architecture;
using SpiKernel.Models.Network;
using SpiKernel.Pipeline.Data;
using Spectre.Console;
using static TorchSharp.torch;
using Tensor = TorchSharp.torch.Tensor;

namespace SpiKernel.Cli;

/// <summary>
/// <c>spikernel bench export</c>: inference latency of the exported graph in ONNX Runtime (CPU provider, both layouts)
/// against TorchSharp eager inference of the same weights, for a forward-cell and a backward-cell network.
/// </summary>
internal static class BenchExport
{
    /// <summary>The forward part of SNASNet's cell (no feedback edges), on the same macro network.</summary>
    public const string ForwardCell = "0303 0030 0002 0000";

    public static int Run(int smallRuns, int largeRuns, int rounds, IReadOnlyList<int> batches, string? keep, CancellationToken cancel)
    {
        ImageDataset test = FashionMnist.LoadEmbedded().Test;
        (Tensor all, Tensor _) = BatchLoader.Load(test, Enumerable.Range(0, batches.Max()).ToArray());
        string dir = keep ?? Directory.CreateTempSubdirectory("spikernel-bench-").FullName;
        Directory.CreateDirectory(dir);
        var table = new Table().AddColumns("network", "engine", "batch", "threads", "p50 ms", "p90 ms", "vs TorchSharp (p50)", "batched vs step (p50)");
        var targets = new List<string>();
        EvaluationProfile cpu = EvaluationProfile.Find("cpu");
        // a round at batch b costs about b times a round at batch 1: the bar (and its ETA) counts it so
        double total = 2 * 2 * rounds * batches.Sum();
        try
        {
            ConsoleProgress.Run(progress =>
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
                            table.AddRow(label, "TorchSharp eager", $"{batch}", $"{threads}", $"{torch.P50:F2}", $"{torch.P90:F2}", "1.00×", "");
                            double speedup = LatencyStats.Percentile(ratios.Order().ToList(), 50);
                            var stats = ort.ToDictionary(e => e.Key, e => LatencyStats.From(e.Value, batch));
                            foreach ((TimestepLayout layout, LatencyStats st) in stats)
                            {
                                table.AddRow(label, $"ORT CPU {layout.ToString().ToLowerInvariant()}", $"{batch}", $"{threads}",
                                    $"{st.P50:F2}", $"{st.P90:F2}", $"{torch.P50 / st.P50:F2}×", layout == TimestepLayout.Batched ? $"{speedup:F2}×" : "");
                            }
                            if (label == "forward cell" && batch == 1)
                                targets.Add($"{threads} thread{(threads == 1 ? "" : "s")}: batched {speedup:F2}× step, exported {torch.P50 / stats[TimestepLayout.Batched].P50:F2}× TorchSharp");
                        }
                    }
                }
                return 0;
            });
        }
        finally
        {
            if (keep is null) Directory.Delete(dir, recursive: true);
            all.Dispose();
        }
        CommandRunner.Out.Write(table);
        CommandRunner.Out.MarkupLine($"Weights: freshly initialised (seed 1); latency does not depend on their values. {rounds} interleaved rounds per row (each block of runs after one warm-up run); 'batched vs step' is the median of the per-round ratios of p50s.");
        if (targets.Count > 0)
            CommandRunner.Out.MarkupLine($"Forward cell, batch 1 (targets: batched ≥ 1.2× step, exported ≥ 1.5× TorchSharp): {string.Join("; ", targets)}.");
        return ExitCodes.Ok;
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
