using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using SpiKernel.Exporters;
using SpiKernel.Models.Architecture;
using SpiKernel.Models.Network;
using SpiKernel.Pipeline.Data;
using Spectre.Console;
using static TorchSharp.torch;
using Tensor = TorchSharp.torch.Tensor;

namespace SpiKernel.Pipeline.Cli;

/// <summary>
/// <c>spikernel bench export</c>: inference latency of the exported graph in ONNX Runtime (CPU provider, both layouts)
/// against TorchSharp eager inference of the same weights, for a forward-cell and a backward-cell network.
/// </summary>
internal static class BenchExport
{
    /// <summary>The forward part of SNASNet's cell (no feedback edges), on the same macro network.</summary>
    public const string ForwardCell = "0303 0030 0002 0000";

    public static int Run(int smallRuns, int largeRuns, string? keep, CancellationToken cancel)
    {
        ImageDataset test = FashionMnist.LoadEmbedded().Test;
        (Tensor all, Tensor _) = BatchLoader.Load(test, Enumerable.Range(0, 64).ToArray());
        string dir = keep ?? Directory.CreateTempSubdirectory("spikernel-bench-").FullName;
        Directory.CreateDirectory(dir);
        var table = new Table().AddColumns("network", "engine", "batch", "threads", "p50 ms", "p90 ms", "vs TorchSharp (p50)");
        try
        {
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
                foreach (int batch in new[] { 1, 64 })
                {
                    using Tensor x = all.narrow(0, 0, batch).contiguous();
                    int runs = batch == 1 ? smallRuns : largeRuns;
                    foreach (int threads in new[] { 1, 2 })
                    {
                        cancel.ThrowIfCancellationRequested();
                        // ONNX Runtime first: libtorch's OpenMP workers keep spinning for a while after each torch call
                        // and would steal cores from ONNX Runtime's threads if it ran right after TorchSharp.
                        var ort = new List<(TimestepLayout Layout, double[] Ms)>();
                        foreach ((TimestepLayout layout, string path) in files)
                        {
                            using var options = new SessionOptions
                            {
                                IntraOpNumThreads = threads,
                                InterOpNumThreads = 1,
                                ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
                                GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
                                LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
                            };
                            using var session = new InferenceSession(path, options);
                            ort.Add((layout, Time(runs, () => ExportVerifier.RunOnnx(session, x))));
                        }
                        set_num_threads(threads);
                        double[] torchMs = Time(runs, () =>
                        {
                            using var scope = NewDisposeScope();
                            using var ng = no_grad();
                            net.forward(x);
                        });
                        double torchP50 = Percentile(torchMs, 0.5);
                        table.AddRow(label, "TorchSharp eager", $"{batch}", $"{threads}", $"{torchP50:F2}", $"{Percentile(torchMs, 0.9):F2}", "1.00×");
                        foreach ((TimestepLayout layout, double[] ortMs) in ort)
                        {
                            double p50 = Percentile(ortMs, 0.5);
                            table.AddRow(label, $"ORT CPU {layout.ToString().ToLowerInvariant()}", $"{batch}", $"{threads}",
                                $"{p50:F2}", $"{Percentile(ortMs, 0.9):F2}", $"{torchP50 / p50:F2}×");
                        }
                        Thread.Sleep(500); // let the OpenMP workers go idle before the next ONNX Runtime measurement
                    }
                }
            }
        }
        finally
        {
            if (keep is null) Directory.Delete(dir, recursive: true);
            all.Dispose();
        }
        CommandRunner.Out.Write(table);
        CommandRunner.Out.MarkupLine("Weights: freshly initialised (seed 1); latency does not depend on their values. Warm-up: 3 runs, excluded.");
        return ExitCodes.Ok;
    }

    private static double[] Time(int runs, Action action)
    {
        for (int i = 0; i < 3; i++) action();
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
        Array.Sort(ms);
        return ms;
    }

    private static double Percentile(double[] sorted, double q) => BenchCommand.Percentile(sorted, q);
}
