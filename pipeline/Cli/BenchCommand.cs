using SpiKernel.Pipeline;
using System.CommandLine;
using System.Globalization;
using SpiKernel.Core;
using SpiKernel.Models.Architecture;
using SpiKernel.Models.Network;
using SpiKernel.Models.Search;
using SpiKernel.Pipeline.Bench;
using Spectre.Console;

namespace SpiKernel.Cli;

/// <summary>
/// <c>spikernel bench</c>: performance figures to compare changes against (not tests). Parses, calls the benchmarks of
/// SpiKernel.Pipeline.Bench, prints their results.
/// </summary>
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

    private static Command CreateTrain()
    {
        var archOptions = new ArchitectureOptions(defaultPreset: "fmnist-small");
        var steps = new Option<int>("--steps") { Description = "Measured training steps.", DefaultValueFactory = _ => 30 };
        var warmup = new Option<int>("--warmup") { Description = "Steps run before measuring.", DefaultValueFactory = _ => 3 };
        var batch = new Option<int>("--batch") { Description = "Batch size.", DefaultValueFactory = _ => 64 };
        var threads = new Option<int>("--threads") { Description = "Torch threads (0: all cores).", DefaultValueFactory = _ => 0 };
        var path = new Option<string>("--path") { Description = "both (interleaved, the ratio), multi-step or step-by-step (one path: its memory alone).", DefaultValueFactory = _ => "both" };
        var lif = new Option<string>("--lif") { Description = "kernel (the fused LIF, as training runs), tensor (the tensor operations it replaced) or both (interleaved, the kernel's gain).", DefaultValueFactory = _ => "kernel" };
        var bn = new Option<string>("--bn") { Description = "kernel (the vectorised BatchNorm, as training runs), libtorch (libtorch's batch_norm) or both (interleaved, the kernel's gain).", DefaultValueFactory = _ => "kernel" };
        var conv = new Option<string>("--conv") { Description = "kernel (the spike convolution, as training runs: forward and weight gradient in proportion to the spikes), libtorch (libtorch's conv2d) or both (interleaved, the kernel's gain).", DefaultValueFactory = _ => "kernel" };
        var gcEvery = new Option<int>("--gc-every") { Description = "Run the .NET garbage collector every N steps (0: never), to see whether memory stays flat without it.", DefaultValueFactory = _ => 1 };
        var cmd = new Command("train",
            "Training speed: milliseconds per step and images/s of the multi-step path and the step-by-step reference side by side (default: the small Fashion-MNIST network of method.md, batch 64, T=5, SGD, embedded data).");
        archOptions.AddTo(cmd);
        foreach (Option o in new Option[] { steps, warmup, batch, threads, path, lif, bn, conv, gcEvery })
            cmd.Options.Add(o);

        cmd.SetAction(r => CommandRunner.Run(cancel =>
        {
            TrainPath which = r.GetValue(path) switch
            {
                "both" => TrainPath.Both,
                "multi-step" => TrainPath.MultiStep,
                "step-by-step" => TrainPath.StepByStep,
                var other => throw new SettingsException($"--path '{other}': expected both, multi-step or step-by-step"),
            };
            var options = new TrainBenchOptions(archOptions.Resolve(r, out bool _), r.GetValue(steps), r.GetValue(warmup), r.GetValue(batch), r.GetValue(threads),
                which, r.GetValue(gcEvery), Kernel(r, lif, "tensor"), Kernel(r, bn, "libtorch"), Kernel(r, conv, "libtorch"));
            // no progress view: its refreshes would share the cores being timed (as before the move to the library)
            TrainBenchResult result = TrainBench.Run(options, NullProgress.Instance, cancel);
            SnnArchitecture arch = result.Architecture;
            CommandRunner.Out.MarkupLine(Markup.Escape($"network {arch.ParameterCount().ToString("N0", CultureInfo.InvariantCulture)} parameters, T={arch.Macro.Timesteps}, cell {arch.Cell}, kernels {{{arch.Kernels}}}; batch {result.Batch}, {result.Threads} threads; native heap: {NativeHeap.Describe(NativeHeap.Policy)}"));
            var table = new Table().AddColumns("path", "ms per step (mean)", "p50 / p90", "images/s");
            foreach (TrainBenchPath p in result.Paths)
                table.AddRow(p.Path, $"{p.MeanMs:F1}", $"{p.P50Ms:F1} / {p.P90Ms:F1}", $"{p.ImagesPerSecond:F1}");
            CommandRunner.Out.Write(table);
            if (!SpikingNetwork.ConvolutionKernelRuns && options.Conv != KernelUse.Replaced)
                CommandRunner.Out.MarkupLine("the spike convolution kernel needs AVX-512, which this machine lacks: every path here ran libtorch's convolution");
            foreach ((TrainBenchPath other, double ratio) in result.Ratios)
                CommandRunner.Out.MarkupLine(Markup.Escape(string.Create(CultureInfo.InvariantCulture,
                    $"{result.Paths[0].Path} / {other.Path}: {ratio:F2}× images/s (same run, interleaved)")));
            CommandRunner.Out.MarkupLine(Markup.Escape(string.Create(CultureInfo.InvariantCulture, $"resident MiB: {result.ResidentMibFirst:F0} before the first measured step, {result.ResidentMibLast:F0} after the last, peak {result.ResidentMibPeak:F0}")));
            ConvolutionFloorResult floor = result.Convolutions;
            CommandRunner.Out.MarkupLine(Markup.Escape(string.Create(CultureInfo.InvariantCulture,
                $"libtorch's dense convolutions alone (the step-by-step step's {floor.Calls} calls, forward and backward, each its fastest of 5): {floor.MsPerStep:F1} ms per step, at most {floor.ImagesPerSecondCeiling:F1} images/s if everything else took no time (what the spike convolution kernel replaces)")));
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    // --lif, --bn, --conv: kernel, what it replaced (named), or both
    private static KernelUse Kernel(ParseResult r, Option<string> option, string replaced)
    {
        string value = r.GetValue(option)!;
        if (value == "kernel") return KernelUse.Kernel;
        if (value == replaced) return KernelUse.Replaced;
        if (value == "both") return KernelUse.Both;
        throw new SettingsException($"{option.Name} '{value}': expected kernel, {replaced} or both");
    }

    private static Command CreateExport()
    {
        var small = new Option<int>("--runs") { Description = "Measured runs at batch sizes below 16.", DefaultValueFactory = _ => 100 };
        var large = new Option<int>("--runs-large") { Description = "Measured runs at batch sizes of 16 and more.", DefaultValueFactory = _ => 6 };
        var batches = new Option<string>("--batch") { Description = "Batch sizes, comma-separated (at most 10000: the embedded test set).", DefaultValueFactory = _ => "1,64" };
        var rounds = new Option<int>("--rounds") { Description = "Interleaved rounds the runs are spread over (every engine measured in every round).", DefaultValueFactory = _ => 10 };
        var cmd = new Command("export",
            "Inference latency (p50, p90) of exported graphs in ONNX Runtime CPU — float32 and int8, both layouts — against TorchSharp eager, at batch 1 and 64, on the cpu profile with 1 and 2 threads and on the edge profile (quickstart network; small Fashion-MNIST network with a forward and a backward cell).");
        var keep = new Option<string?>("--keep") { Description = "Keep the exported .onnx files in this folder (for profiling)." };
        var networks = new Option<string?>("--networks") { Description = $"Networks, comma-separated: {string.Join(", ", ExportBench.Networks.Select(n => n.Name))} (default: all)." };
        var withoutConv = new Option<bool>("--without-conv") { Description = "Also measure every file with its convolutions removed (stem kept): what the rest costs, so the most a faster convolution could give." };
        foreach (Option o in new Option[] { small, large, rounds, batches, keep, networks, withoutConv })
            cmd.Options.Add(o);
        cmd.SetAction(r => CommandRunner.Run(cancel =>
        {
            IReadOnlyList<string>? names = r.GetValue(networks)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var options = new ExportBenchOptions(r.GetValue(small), r.GetValue(large), r.GetValue(rounds), Parse.Ints("--batch", r.GetValue(batches)!), r.GetValue(keep), names,
                r.GetValue(withoutConv));
            ExportBenchResult result = ConsoleProgress.Run(p => ExportBench.Run(options, p, cancel), timed: true);
            bool free = options.WithoutConvolutions;
            static string X(double? v) => v is { } x ? $"{x:F2}×" : "";
            var table = new Table().AddColumns("network", "profile", "engine", "batch", "threads", "p50 ms", "p90 ms", "vs TorchSharp (p50)", "batched vs step (p50)", "int8 vs fp32 (p50)");
            if (free) table.AddColumn("fp32 vs this without conv (p50)");
            foreach (ExportBenchRow row in result.Rows)
            {
                string[] cells = [row.Network, row.Profile, row.Engine, $"{row.Batch}", $"{row.Threads}", $"{row.P50Ms:F2}", $"{row.P90Ms:F2}",
                    X(row.VsTorchSharp), X(row.BatchedVsStep), X(row.Int8VsFp32)];
                table.AddRow(free ? [.. cells, X(row.FreeConvVsFp32)] : cells);
            }
            IEnumerable<string> targets = result.Targets.Select(t =>
                $"{t.Threads} thread{(t.Threads == 1 ? "" : "s")}: batched {t.BatchedVsStep:F2}× step, exported {t.ExportedVsTorchSharp:F2}× TorchSharp");
            CommandRunner.Out.Write(table);
            CommandRunner.Out.MarkupLine($"Weights: freshly initialised (seed 1); latency does not depend on their values. {result.Rounds} interleaved rounds per row (each block of runs after one warm-up run); {(free ? "'vs TorchSharp', 'batched vs step', 'int8 vs fp32' and 'fp32 vs this without conv'" : "'vs TorchSharp', 'batched vs step' and 'int8 vs fp32'")} are medians of the per-round ratios of p50s (same precision, same layout{(free ? "; the last: the fp32 file of the same layout over the file without its convolutions" : "")}).");
            if (result.Targets.Count > 0)
                CommandRunner.Out.MarkupLine($"Forward cell, batch 1, fp32 (targets: batched ≥ 1.2× step, exported ≥ 1.5× TorchSharp): {string.Join("; ", targets)}.");
            string Summary(Func<ExportBenchRow, double?> ratio, Func<ExportBenchRow, bool> rows) => string.Join("; ", result.ByLayout(ratio, rows)
                .Select(g => $"{g.Network} {g.Profile}/{g.Threads} batch {g.Batch}: {string.Join(", ", g.Layouts.Select(l => $"{l.Layout.ToString().ToLowerInvariant()} {l.Ratio:F2}×"))}"));
            CommandRunner.Out.MarkupLine($"int8 vs fp32 (target ≥ 2×): {Summary(w => w.Int8VsFp32, _ => true)}.");
            if (free)
                CommandRunner.Out.MarkupLine($"int8 vs fp32 if the int8 file's convolutions took no time (its float work, dequantisation and casts as they are): {Summary(w => w.FreeConvVsFp32, w => w.Precision == Exporters.WeightPrecision.Int8)}.");
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command CreateSearch()
    {
        var candidates = new Option<int>("--candidates") { Description = "Candidates scored per kernel set.", DefaultValueFactory = _ => 12 };
        var rounds = new Option<int>("--rounds") { Description = "Pairs of searches (reference, Gram; the order alternating) per kernel set and cell kind.", DefaultValueFactory = _ => 3 };
        var cmd = new Command("search",
            "Search speed: scored candidates per second for the small Fashion-MNIST network family (C=32, hidden 256, T=5, batch 64, repeat 2) with kernel sets {1,3} and {1,3,5,7}, each search run with the reference score (two float64 products) and the Gram score back to back in alternating rounds (the ratio: the median of the rounds'); their scores must agree exactly.");
        cmd.Options.Add(candidates);
        cmd.Options.Add(rounds);
        cmd.SetAction(r => CommandRunner.Run(cancel =>
        {
            // no progress view, as before the move to the library: the rates are timed
            SearchBenchResult result = SearchBench.Run(new SearchBenchOptions(r.GetValue(candidates), r.GetValue(rounds)), NullProgress.Instance, cancel);
            var table = new Table().AddColumns("kernel set", "cell", "score", "scored", "seconds", "candidates/s", "median s per candidate", "vs reference");
            foreach (SearchBenchRow row in result.Rows)
            {
                string versus = row.VsReference is not { } x ? "—"
                    : string.Create(CultureInfo.InvariantCulture, $"{x:F2}×, {(row.SameScores ? "same scores" : "SCORES DIFFER")}");
                table.AddRow($"{{{row.KernelSet}}}", row.Cell.ToString().ToLowerInvariant(), row.Method.ToString().ToLowerInvariant(), $"{row.Scored}", $"{row.Seconds:F1}",
                    $"{row.CandidatesPerSecond:F2}", row.MedianSecondsPerCandidate is { } m ? $"{m:F2}" : "—", versus);
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
            CellKind kind = SettingWords.Parse("--cell", r.GetValue(cellKind), SettingWords.Cells);
            var options = new SearchQualityBenchOptions(template, r.GetValue(outDir)!, r.GetValue(candidates), r.GetValue(epochs), r.GetValue(kernels)!, kind);
            SearchQualityBenchResult result = ConsoleProgress.Run(p => SearchQualityBench.Run(options, p, cancel));
            var table = new Table().AddColumns("rank", "cell", "parameters", "score", "test accuracy");
            foreach (QualityRow row in result.Rows)
                table.AddRow($"{row.Rank}", row.Cell, row.Parameters.ToString("N0", CultureInfo.InvariantCulture), $"{row.Score:F3}", $"{row.TestAccuracy:P2}");
            CommandRunner.Out.Write(table);
            CommandRunner.Out.WriteLine($"Kendall's tau (score vs accuracy): {result.KendallTau:F3} over {result.Rows.Count} candidates, {result.Epochs} epochs each");
            CommandRunner.Out.WriteLine($"top-scored candidate: {result.TopScoredAccuracy:P2}; median of the sample: {result.MedianAccuracy:P2}; best of the sample: {result.BestAccuracy:P2}");
            return ExitCodes.Ok;
        }));
        return cmd;
    }
}
