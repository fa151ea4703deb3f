using SpiKernel.Core;
using SpiKernel.Core.Csv;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using SpiKernel.Models.Architecture;
using SpiKernel.Models.Network;
using SpiKernel.Models.Search;
using SpiKernel.Pipeline.Search;
using SpiKernel.Pipeline.Stages;
using SpiKernel.Pipeline.Data;
using SpiKernel.Pipeline.Training;
using SpiKernel.Evaluators.Measurement;
using Spectre.Console;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SpiKernel.Cli;

/// <summary><c>spikernel bench</c>: performance figures to compare changes against (not tests).</summary>
internal static class BenchCommand
{
    /// <summary>Builds the command group.</summary>
    public static Command Create()
    {
        var group = new Command("bench", "Benchmarks that print figures.");
        group.Subcommands.Add(CreateTrain());
        group.Subcommands.Add(CreateExport());
        group.Subcommands.Add(CreateSearch());
        group.Subcommands.Add(CreateSearchQuality());
        return group;
    }

    // Same cadence as training (Trainer): TorchSharp frees some native memory only when finalizers run.
    private const int GcEvery = 1;

    private static Command CreateTrain()
    {
        var archOptions = new ArchitectureOptions(defaultPreset: "fmnist-small");
        var steps = new Option<int>("--steps") { Description = "Measured training steps.", DefaultValueFactory = _ => 30 };
        var warmup = new Option<int>("--warmup") { Description = "Steps run before measuring.", DefaultValueFactory = _ => 3 };
        var batch = new Option<int>("--batch") { Description = "Batch size.", DefaultValueFactory = _ => 64 };
        var threads = new Option<int>("--threads") { Description = "Torch threads (0: all cores).", DefaultValueFactory = _ => 0 };
        var cmd = new Command("train",
            "Training speed: milliseconds per step and images/s (default: the small Fashion-MNIST network of method.md, batch 64, T=5, SGD, embedded data).");
        archOptions.AddTo(cmd);
        foreach (Option o in new Option[] { steps, warmup, batch, threads })
            cmd.Options.Add(o);

        cmd.SetAction(r => CommandRunner.Run(cancel =>
        {
            SnnArchitecture arch = archOptions.Resolve(r, out bool _);
            int n = r.GetValue(steps), w = r.GetValue(warmup), b = r.GetValue(batch), t = r.GetValue(threads);
            if (n < 1 || w < 0 || b < 1 || t < 0) throw new SettingsException("--steps and --batch must be ≥ 1, --warmup and --threads ≥ 0.");
            int threadCount = t > 0 ? t : Environment.ProcessorCount;
            set_num_threads(threadCount);

            ImageDataset data = FashionMnist.LoadEmbedded().Train;
            Trainer.CheckCompatible(arch, data);
            manual_seed(1);
            using var net = new SpikingNetwork(arch);
            var options = new TrainOptions(Optimizer: OptimizerKind.Sgd, BatchSize: b, WeightDecay: 5e-4);
            using OptimizerHelper optimizer = Trainer.CreateOptimizer(net, options);
            net.train();
            var rng = new Random(1);
            int[][] batches = BatchLoader.Batches(data.Count, b, rng, dropLast: true).ToArray();
            var times = new List<double>();
            using Process self = Process.GetCurrentProcess();
            double rssStart = 0;
            for (int i = 0; i < w + n; i++)
            {
                cancel.ThrowIfCancellationRequested();
                if (i == w)
                {
                    self.Refresh();
                    rssStart = self.WorkingSet64 / 1048576.0;
                }
                var sw = Stopwatch.StartNew();
                Trainer.Step(net, optimizer, data, batches[i % batches.Length], Augmentation.None, null);
                sw.Stop();
                if (i >= w) times.Add(sw.Elapsed.TotalMilliseconds);
                if ((i + 1) % GcEvery == 0)
                {
                    GC.Collect();
                    GC.WaitForPendingFinalizers();
                }
            }
            self.Refresh();
            double rssEnd = self.WorkingSet64 / 1048576.0;
            times.Sort();
            double mean = times.Average();
            var table = new Table().AddColumns("figure", "value");
            table.AddRow("network", $"{arch.ParameterCount().ToString("N0", CultureInfo.InvariantCulture)} parameters, T={arch.Macro.Timesteps}, cell {arch.Cell}, kernels {{{arch.Kernels}}}");
            table.AddRow("batch / threads", $"{b} / {threadCount}");
            table.AddRow("ms per step (mean)", $"{mean:F1}");
            table.AddRow("ms per step (p50 / p90)", $"{LatencyStats.Percentile(times, 50):F1} / {LatencyStats.Percentile(times, 90):F1}");
            table.AddRow("images/s", $"{b * 1000.0 / mean:F0}");
            table.AddRow("resident MiB (first / last measured step)", $"{rssStart:F0} / {rssEnd:F0}");
            CommandRunner.Out.Write(table);
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command CreateExport()
    {
        var small = new Option<int>("--runs") { Description = "Measured runs at batch sizes below 16.", DefaultValueFactory = _ => 100 };
        var large = new Option<int>("--runs-large") { Description = "Measured runs at batch sizes of 16 and more.", DefaultValueFactory = _ => 6 };
        var batches = new Option<string>("--batch") { Description = "Batch sizes, comma-separated (at most 10000: the embedded test set).", DefaultValueFactory = _ => "1,64" };
        var rounds = new Option<int>("--rounds") { Description = "Interleaved rounds the runs are spread over (every engine measured in every round).", DefaultValueFactory = _ => 10 };
        var cmd = new Command("export",
            "Inference latency (p50, p90) of exported graphs in ONNX Runtime CPU, both layouts, against TorchSharp eager, at batch 1 and 64 with 1 and 2 threads (small Fashion-MNIST network, forward and backward cell).");
        var keep = new Option<string?>("--keep") { Description = "Keep the exported .onnx files in this folder (for profiling)." };
        cmd.Options.Add(small);
        cmd.Options.Add(large);
        cmd.Options.Add(rounds);
        cmd.Options.Add(batches);
        cmd.Options.Add(keep);
        cmd.SetAction(r => CommandRunner.Run(cancel =>
        {
            if (r.GetValue(small) < 1 || r.GetValue(large) < 1) throw new SettingsException("--runs and --runs-large must be at least 1.");
            if (r.GetValue(rounds) < 1) throw new SettingsException("--rounds must be at least 1.");
            int[] sizes = Parse.Ints("--batch", r.GetValue(batches)!);
            if (sizes.Any(b => b < 1 || b > 10000)) throw new SettingsException("--batch sizes must be between 1 and 10000.");
            return BenchExport.Run(r.GetValue(small), r.GetValue(large), r.GetValue(rounds), sizes, r.GetValue(keep), cancel);
        }));
        return cmd;
    }

    private static Command CreateSearch()
    {
        var candidates = new Option<int>("--candidates") { Description = "Candidates scored per kernel set.", DefaultValueFactory = _ => 12 };
        var cmd = new Command("search",
            "Search speed: scored candidates per second for the small Fashion-MNIST network family (C=32, hidden 256, T=5, batch 64, repeat 2) with kernel sets {1,3} and {1,3,5,7}.");
        cmd.Options.Add(candidates);
        cmd.SetAction(r => CommandRunner.Run(cancel =>
        {
            int n = r.GetValue(candidates);
            if (n < 1) throw new SettingsException("--candidates must be at least 1.");
            ImageDataset train = FashionMnist.LoadEmbedded().Train;
            var table = new Table().AddColumns("kernel set", "cell", "scored", "seconds", "candidates/s", "median s per candidate");
            foreach (string set in new[] { "1,3", "1,3,5,7" })
            {
                foreach (CellKind kind in new[] { CellKind.Forward, CellKind.Backward })
                {
                    string dir = Directory.CreateTempSubdirectory("spikernel-bench-search-").FullName;
                    try
                    {
                        var options = new SearchOptions([(set, KernelSet.Parse(set))], kind, Candidates: n, Batch: 64, Repeat: 2, Top: 1, Seed: 1);
                        SearchResult result = SearchRunner.Run(SnnArchitecture.FashionMnistSmall, train, options, dir, cancel: cancel);
                        int scored = result.Rows.Count(x => x.Status == CandidateStatus.Scored);
                        double[] each = result.Rows.Where(x => x.Status == CandidateStatus.Scored).Select(x => x.Seconds).Order().ToArray();
                        table.AddRow($"{{{set}}}", kind.ToString().ToLowerInvariant(), $"{scored}", $"{result.Seconds:F1}",
                            $"{scored / result.Seconds:F2}", each.Length == 0 ? "—" : $"{each[each.Length / 2]:F2}");
                    }
                    finally
                    {
                        Directory.Delete(dir, recursive: true);
                    }
                }
            }
            CommandRunner.Out.Write(table);
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command CreateSearchQuality()
    {
        var archOptions = new ArchitectureOptions(cellOption: false);
        var candidates = new Option<int>("--candidates") { Description = "Candidates scored and then trained.", DefaultValueFactory = _ => 12 };
        var epochs = new Option<int>("--epochs") { Description = "Training epochs per candidate.", DefaultValueFactory = _ => 2 };
        var kernels = new Option<string>("--kernels") { Description = "Kernel set (list or shipped name).", DefaultValueFactory = _ => "snasnet" };
        var cellKind = new Option<string>("--cell") { Description = "forward or backward cells.", DefaultValueFactory = _ => "backward" };
        var outDir = new Option<string>("--out") { Description = "Output folder (quality.csv, one run folder per candidate).", DefaultValueFactory = _ => "runs/search-quality" };
        var cmd = new Command("search-quality",
            "Does the score find good networks? Scores a sample of candidates, trains each briefly on the embedded data, and reports Kendall's τ between score and accuracy and the top-scored candidate against the median.");
        archOptions.AddTo(cmd);
        foreach (Option o in new Option[] { candidates, epochs, kernels, cellKind, outDir })
            cmd.Options.Add(o);
        cmd.SetAction(r => CommandRunner.Run(cancel =>
        {
            SnnArchitecture template = archOptions.Resolve(r, out bool _);
            int n = r.GetValue(candidates), e = r.GetValue(epochs);
            if (n < 2 || e < 1) throw new SettingsException("--candidates must be at least 2 and --epochs at least 1.");
            CellKind kind = r.GetValue(cellKind) == "forward" ? CellKind.Forward : r.GetValue(cellKind) == "backward" ? CellKind.Backward
                : throw new SettingsException("--cell must be forward or backward.");
            string output = r.GetValue(outDir)!;
            OutputFolder.EnsureWritable(output);
            DataSplit data = FashionMnist.LoadEmbedded();
            KernelSet set = KernelSets.Resolve(r.GetValue(kernels)!);
            var options = new SearchOptions([(r.GetValue(kernels)!, set)], kind, n, Batch: 64, Repeat: 2, Top: 1, Seed: 1);
            SearchResult search = SearchRunner.Run(template, data.Train, options, Path.Combine(output, "search"), cancel: cancel);
            var scored = search.Rows.Where(x => x.Status == CandidateStatus.Scored).ToList();
            var trained = new List<(CandidateRow Row, double Accuracy)>();
            ConsoleProgress.Run(obs =>
            {
                for (int i = 0; i < scored.Count; i++)
                {
                    SnnArchitecture arch = SnnArchitecture.Parse(scored[i].Architecture);
                    TrainResult t = Trainer.Run(arch, data, new TrainOptions(Epochs: e, ValidationFraction: 0), Path.Combine(output, $"rank{scored[i].Rank}"), observer: obs, cancel: cancel);
                    trained.Add((scored[i], t.TestAccuracy));
                }
                return 0;
            });
            using (var log = new CsvLog<QualityRow>(Path.Combine(output, "quality.csv"), append: false))
                foreach ((CandidateRow row, double acc) in trained)
                    log.Append(new QualityRow(row.Rank!.Value, row.Cell, row.Parameters, row.Score!.Value, acc));
            double tau = SearchQuality.KendallTau(trained.Select(t => t.Row.Score!.Value).ToArray(), trained.Select(t => t.Accuracy).ToArray());
            double median = SearchQuality.Median(trained.Select(t => t.Accuracy));
            double topAcc = trained.First(t => t.Row.Rank == 1).Accuracy;
            var table = new Table().AddColumns("rank", "cell", "parameters", "score", "test accuracy");
            foreach ((CandidateRow row, double acc) in trained)
                table.AddRow($"{row.Rank}", row.Cell, row.Parameters.ToString("N0", CultureInfo.InvariantCulture), $"{row.Score:F3}", $"{acc:P2}");
            CommandRunner.Out.Write(table);
            CommandRunner.Out.WriteLine($"Kendall's tau (score vs accuracy): {tau:F3} over {trained.Count} candidates, {e} epochs each");
            CommandRunner.Out.WriteLine($"top-scored candidate: {topAcc:P2}; median of the sample: {median:P2}; best of the sample: {trained.Max(t => t.Accuracy):P2}");
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private sealed record QualityRow(int Rank, string Cell, long Parameters, double Score, double TestAccuracy);
}
