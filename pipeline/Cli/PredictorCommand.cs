using SpiKernel.Pipeline;
using System.CommandLine;
using System.Globalization;
using SpiKernel.Core;
using SpiKernel.Evaluators;
using SpiKernel.Evaluators.Measurement;
using SpiKernel.Evaluators.Providers;
using SpiKernel.Evaluators.Results;
using SpiKernel.Models.Architecture;
using SpiKernel.Pipeline.Prediction;
using SpiKernel.Pipeline.Stages;
using Spectre.Console;

namespace SpiKernel.Cli;

/// <summary>
/// <c>spikernel predictor train</c> (<see cref="PredictorTrainStage"/>) and <c>spikernel predictor dataset</c>
/// (<see cref="LatencyDatasetStage"/>): parse, call the stage, print.
/// </summary>
internal static class PredictorCommand
{
    /// <summary>Builds the command and its two subcommands.</summary>
    public static Command Create()
    {
        var cmd = new Command("predictor", "Latency predictor (ML.NET FastTree): build a latency dataset for this machine, train a predictor on measured rows.");
        cmd.Subcommands.Add(Train());
        cmd.Subcommands.Add(Dataset());
        return cmd;
    }

    private static Command Train()
    {
        var results = new Argument<string[]>("results") { Description = "Results CSVs of spikernel evaluate or predictor dataset (rows with status ok; the model files must be readable).", Arity = ArgumentArity.OneOrMore };
        var output = new Option<string>("--out") { Description = "The predictor zip to write (metrics go to NAME.metrics.csv beside it).", Required = true };
        var profiles = new Option<string?>("--profiles") { Description = "Only these profiles, comma-separated (default: every profile in the results)." };
        var folds = new Option<int>("--folds") { Description = "Cross-validation folds (fewer when a group has fewer models).", DefaultValueFactory = _ => 5 };
        var minRows = new Option<int>("--min-rows") { Description = "Profile × batch × precision groups with fewer measured models get no regressor.", DefaultValueFactory = _ => 5 };
        var linear = new Option<bool>("--linear-target") { Description = "Learn milliseconds instead of ln(milliseconds)." };
        var seed = new Option<int>("--seed") { Description = "ML.NET seed and fold shuffle.", DefaultValueFactory = _ => 1 };
        var cmd = new Command("train", "Fit one FastTree latency regressor per profile × batch × precision; print cross-validated MAPE, R² and Spearman ρ next to a MACs-linear baseline.");
        cmd.Arguments.Add(results);
        foreach (Option o in new Option[] { output, profiles, folds, minRows, linear, seed })
            cmd.Options.Add(o);

        cmd.SetAction(r => CommandRunner.Run(cancel =>
        {
            string[]? only = r.GetValue(profiles)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var options = new PredictorTrainOptions(r.GetValue(results)!, r.GetValue(output)!, only, !r.GetValue(linear), r.GetValue(folds),
                r.GetValue(seed), r.GetValue(minRows));
            PredictorTrainResult result = ConsoleProgress.Run(p => new PredictorTrainStage().Run(options, p, cancel));
            static string N(double? v) => v?.ToString("0.000", CultureInfo.InvariantCulture) ?? "n/a";
            var table = new Table().AddColumns("profile", "batch", "precision", "models", "folds", "predictor", "MAPE", "R²", "Spearman ρ");
            foreach (PredictorGroup g in result.Manifest.Groups)
                foreach ((string name, FitMetrics m) in new[] { ("FastTree", g.FastTree), ("MACs-linear", g.Baseline) })
                    table.AddRow(Markup.Escape(g.Profile), g.BatchSize.ToString(CultureInfo.InvariantCulture), Markup.Escape(g.Precision), g.Architectures.ToString(CultureInfo.InvariantCulture),
                        g.Folds.ToString(CultureInfo.InvariantCulture), name, m.Mape.ToString("P1", CultureInfo.InvariantCulture), N(m.R2), N(m.SpearmanRho));
            IAnsiConsole console = CommandRunner.Out;
            console.Write(table);
            console.MarkupLine($"wrote [bold]{Markup.Escape(result.OutputPath)}[/] ({result.Manifest.Groups.Count} regressors, {(result.Manifest.LogTarget ? "ln(ms)" : "ms")} target) and {Markup.Escape(result.MetricsPath)}");
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command Dataset()
    {
        var archOptions = new ArchitectureOptions(defaultPreset: "default", cellOption: false);
        var output = new Option<string>("--out") { Description = "Output folder: models/*.onnx and results.csv.", Required = true };
        var count = new Option<int>("--count") { Description = "Distinct random architectures to export and measure.", DefaultValueFactory = _ => 50 };
        var kernels = new Option<string[]>("--kernels") { Description = $"Kernel sets drawn from (a set 1,3,5, a shipped name or @FILE); repeat for several (default: every shipped set, {string.Join(", ", KernelSetNames())})." };
        var providers = new Option<string>("--profiles") { Description = "Profiles to measure on, comma-separated.", DefaultValueFactory = _ => "cpu,edge" };
        var batches = new Option<string>("--batch") { Description = "Batch sizes to time, comma-separated.", DefaultValueFactory = _ => "1" };
        var warmup = new Option<int>("--warmup") { Description = "Untimed runs before timing.", DefaultValueFactory = _ => 10 };
        var repeats = new Option<int>("--repeats") { Description = "Timed runs per measurement.", DefaultValueFactory = _ => 100 };
        var precision = new Option<string>("--precision") { Description = "auto (edge times the int8 file), fp32, int8 or all.", DefaultValueFactory = _ => "auto" };
        var noInt8 = new Option<bool>("--no-int8") { Description = "Export float files only." };
        var seed = new Option<int>("--seed") { Description = "Seed of the sampled architectures and their fresh weights.", DefaultValueFactory = _ => 1 };
        var layouts = new Option<string>("--layouts") { Description = "Timestep layouts to export each architecture in, comma-separated (a predictor predicts only for the layouts it was trained on).", DefaultValueFactory = _ => "step,batched" };
        var cmd = new Command("dataset", "Export random untrained candidates and measure their latency here: a dataset to train a predictor for this machine.");
        archOptions.AddTo(cmd);
        foreach (Option o in new Option[] { output, count, kernels, providers, batches, warmup, repeats, precision, noInt8, seed, layouts })
            cmd.Options.Add(o);

        cmd.SetAction(r => CommandRunner.Run(cancel =>
        {
            SnnArchitecture template = archOptions.Resolve(r, out _);
            PrecisionChoice choice = SettingWords.Parse("--precision", r.GetValue(precision), SettingWords.PrecisionChoices);
            var options = new LatencyDatasetOptions(r.GetValue(output)!, r.GetValue(count), EvaluationProfile.ParseList(r.GetValue(providers)!, "--profiles"),
                Parse.Ints("--batch", r.GetValue(batches)!), template, Parse.KernelSets(r.GetValue(kernels) is { Length: > 0 } given ? given : KernelSetNames()), r.GetValue(seed),
                new LatencyOptions(r.GetValue(warmup), r.GetValue(repeats)), !r.GetValue(noInt8), choice,
                r.GetValue(layouts)!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                    .Select(l => SettingWords.Parse("--layouts", l, SettingWords.Layouts)).Distinct().ToArray());
            LatencyDatasetResult result = ConsoleProgress.Run(p => new LatencyDatasetStage().Run(options, p, cancel));
            IReadOnlyList<EvaluationRow> rows = result.Evaluation.Rows;
            IAnsiConsole console = CommandRunner.Out;
            foreach (LatencySpread s in result.Spread)
                console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{s.Profile} {s.Precision} batch {s.BatchSize}: {s.Rows} rows, p50 from {s.MinMs:0.000} to {s.MaxMs:0.000} ms (median {s.MedianMs:0.000})"));
            foreach (IGrouping<string, EvaluationRow> g in rows.Where(w => w.Status == EvaluationStatus.Skipped).GroupBy(w => w.Profile))
                console.MarkupLine($"[yellow]skipped[/] {g.Key}: {Markup.Escape(g.First().Reason)}");
            console.MarkupLine($"{result.Architectures.Count} untrained architectures in [bold]{Markup.Escape(result.ModelsDirectory)}[/], {rows.Count} rows in [bold]{Markup.Escape(result.ResultsPath)}[/]; next: spikernel predictor train {Markup.Escape(result.ResultsPath)} --out latency.zip");
            int failed = result.Evaluation.Failed;
            return failed == 0 ? ExitCodes.Ok : CommandRunner.Fail($"{failed} of {rows.Count} rows failed (see reason in {result.ResultsPath})", ExitCodes.InputError);
        }, interrupted: "interrupted; the rows measured so far are in results.csv"));
        return cmd;
    }

    private static string[] KernelSetNames() => Models.Search.KernelSets.Named.Select(n => n.Name).ToArray();
}
