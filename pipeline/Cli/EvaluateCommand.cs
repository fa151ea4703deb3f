using SpiKernel.Pipeline;
using System.CommandLine;
using System.Globalization;
using SpiKernel.Evaluators;
using SpiKernel.Evaluators.Inputs;
using SpiKernel.Evaluators.Measurement;
using SpiKernel.Evaluators.Providers;
using SpiKernel.Evaluators.Results;
using SpiKernel.Core;
using SpiKernel.Pipeline.Stages;
using Spectre.Console;

namespace SpiKernel.Cli;

/// <summary>
/// <c>spikernel evaluate</c>: parses, calls <see cref="EvaluateStage"/> and prints a summary of the ONNX models measured in ONNX Runtime on every profile asked (latency percentiles,
/// accuracy, memory, spikes and energy), one CSV row per model × profile × precision × batch size.
/// </summary>
internal static class EvaluateCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var model = new Argument<string>("model") { Description = "An .onnx file (its NAME.int8.onnx sibling is used by the edge profile), a folder of them, or test folders (model.onnx beside test_data_set_*)." };
        var output = new Option<string>("--out") { Description = "Results CSV; rows are appended when it exists. Per-layer spikes go to NAME.layers.csv beside it.", Required = true };
        var providers = new Option<string>("--providers") { Description = $"Profiles to run, comma-separated: {EvaluationProfile.DefaultList}.", DefaultValueFactory = _ => EvaluationProfile.DefaultList };
        var batches = new Option<string>("--batch") { Description = "Batch sizes to time, comma-separated (a model whose inputs fix the batch is measured at its own and these are skipped).", DefaultValueFactory = _ => "1,64" };
        var warmup = new Option<int>("--warmup") { Description = "Untimed runs before timing (after the separately reported first run).", DefaultValueFactory = _ => 10 };
        var repeats = new Option<int>("--repeats") { Description = "Timed runs per measurement.", DefaultValueFactory = _ => 100 };
        var duration = new Option<double?>("--duration") { Description = "Time each measurement for this many seconds instead of --repeats runs." };
        var precision = new Option<string>("--precision") { Description = "auto (edge takes the int8 variant where it exists), fp32, int8 or all.", DefaultValueFactory = _ => "auto" };
        var data = new Option<string?>("--data") { Description = "Test data for accuracy: embedded or a folder (default: what the model's metadata names)." };
        var limit = new Option<int?>("--limit") { Description = "Score at most this many test images." };
        var noAccuracy = new Option<bool>("--no-accuracy") { Description = "Time only; no accuracy, spike or energy figures." };
        var inputShape = new Option<string[]>("--input-shape") { Description = "Input shape, repeatable: 3,32,32 (every input; after the batch when one dimension short) or NAME=DIMS for one input." };
        var inputs = new Option<string?>("--inputs") { Description = "Test data for every model: test_data_set_* folders (input_*.pb, output_*.pb), a folder of .pb/.npy/.npz files, or one file. Expected outputs are checked." };
        var seed = new Option<int>("--seed") { Description = "Seed of the values fed where there is no test data.", DefaultValueFactory = _ => 0 };
        var rtol = new Option<double>("--rtol") { Description = "Relative tolerance of the output check.", DefaultValueFactory = _ => 1e-3 };
        var atol = new Option<double>("--atol") { Description = "Absolute tolerance of the output check.", DefaultValueFactory = _ => 1e-7 };
        var deviceId = new Option<int>("--device-id") { Description = "Accelerator index for the cuda, cuda-graph, cuda-tf32 and tensorrt profiles.", DefaultValueFactory = _ => 0 };
        var isolate = new Option<bool>("--isolate") { Description = "Run each model × profile × batch measurement in a fresh process (clean memory figures)." };
        var isolatedChild = new Option<bool>("--isolated-child") { Hidden = true };
        var timingImages = new Option<bool>(IsolatedEvaluation.TimingImagesOnly) { Hidden = true }; // test images feed the timed runs, no accuracy pass
        var resume = new Option<bool>("--resume") { Description = "Skip measurements the --out CSV already holds (same model hash, profile, precision, batch); an interrupted one is redone." };

        var cmd = new Command("evaluate", "Measure ONNX models in ONNX Runtime on each execution provider and profile; write CSV rows.");
        cmd.Arguments.Add(model);
        foreach (Option o in new Option[] { output, providers, batches, warmup, repeats, duration, precision, data, limit, noAccuracy, inputShape, inputs, seed, rtol, atol, deviceId, isolate, isolatedChild, timingImages, resume })
            cmd.Options.Add(o);

        cmd.SetAction(r => CommandRunner.Run(cancel =>
        {
            Parse.OnlyWhere(r, limit, !r.GetValue(noAccuracy), "without --no-accuracy (it bounds the images scored)");
            Parse.OnlyWhere(r, data, !r.GetValue(noAccuracy), "without --no-accuracy (the images scored)");
            int device = r.GetValue(deviceId);
            if (device < 0) throw new SettingsException($"--device-id must be 0 or more (got {device}).");
            IReadOnlyList<EvaluationProfile> profiles = EvaluationProfile.ParseList(r.GetValue(providers)!)
                .Select(p => p.OnDevice(device)).ToArray();
            PrecisionChoice choice = SettingWords.Parse("--precision", r.GetValue(precision), SettingWords.PrecisionChoices);
            double? seconds = r.GetValue(duration);
            if (seconds is { } sec && !(double.IsFinite(sec) && sec > 0 && sec <= 86_400))
                throw new SettingsException($"--duration must be a number of seconds above 0 and at most 86400 (got {sec.ToString(System.Globalization.CultureInfo.InvariantCulture)}).");
            if (seconds is not null && r.GetResult(repeats) is { Implicit: false })
                throw new SettingsException("--duration and --repeats both say how long to time a measurement; give one of them.");
            var latency = new LatencyOptions(r.GetValue(warmup), r.GetValue(repeats), seconds is { } s ? TimeSpan.FromSeconds(s) : null);
            var feeding = new InputOptions(Parse.InputShapes(r.GetValue(inputShape) ?? []), r.GetValue(inputs), r.GetValue(seed),
                new OutputTolerance(r.GetValue(rtol), r.GetValue(atol)));
            bool child = r.GetValue(isolatedChild);
            var options = new EvaluateStageOptions(r.GetValue(model)!, r.GetValue(output)!, profiles, Parse.Ints("--batch", r.GetValue(batches)!), latency,
                choice, r.GetValue(data), r.GetValue(limit), !r.GetValue(noAccuracy), feeding,
                r.GetValue(isolate) ? LaunchArguments.ThisInstallation() : null, child, r.GetValue(resume), AccuracyPass: !r.GetValue(timingImages));

            EvaluateStageResult result = child
                ? new EvaluateStage().Run(options, NullProgress.Instance, cancel)
                : ConsoleProgress.Run(p => new EvaluateStage().Run(options, p, cancel));
            if (!child) Summarise(result.Rows, result.ResultsPath, result.LayersPath);
            EvaluationRow? failed = result.Rows.FirstOrDefault(w => w.Status == EvaluationStatus.Failed);
            return failed is null
                ? ExitCodes.Ok
                : CommandRunner.Fail($"{result.Failed} of {result.Rows.Count} rows failed; first: {failed.Model}{(failed.Profile.Length > 0 ? $" on {failed.Profile}, batch {failed.BatchSize}" : "")}: {failed.Reason}", ExitCodes.InputError);
        }, interrupted: "interrupted; the rows measured so far are in the CSV"));
        return cmd;
    }

    private static void Summarise(IReadOnlyList<EvaluationRow> rows, string outPath, string layersPath)
    {
        IAnsiConsole console = CommandRunner.Out;
        static string N(double? v, string f) => v is { } x ? x.ToString(f, CultureInfo.InvariantCulture) : "";
        List<EvaluationRow> shown = rows.Where(w => w.Status != EvaluationStatus.Skipped).ToList();
        if (shown.Count > 0)
        {
            var table = new Table().AddColumns("model", "profile", "precision", "batch", "status", "p50 ms", "p90 ms", "p99 ms", "samples/s", "top-1", "µJ/sample (ANN)", "outputs", "note");
            foreach (EvaluationRow w in shown)
            {
                string status = w.Status == EvaluationStatus.Ok ? "[green]ok[/]" : "[red]failed[/]";
                string energy = w.EnergySnnUj is { } e ? $"{N(e, "0.00")} ({N(w.EnergyAnnUj, "0.00")})" : "";
                string outputs = w.OutputCheck switch
                {
                    OutputCheck.Passed => $"[green]passed[/] ({N(w.OutputMaxAbsError, "G2")})",
                    OutputCheck.Failed => $"[red]failed[/] ({w.OutputMismatches} off)",
                    _ => "",
                };
                table.AddRow(Markup.Escape(w.Model), w.Profile, w.Precision, w.BatchSize?.ToString(CultureInfo.InvariantCulture) ?? "", status,
                    N(w.LatencyP50Ms, "0.000"), N(w.LatencyP90Ms, "0.000"), N(w.LatencyP99Ms, "0.000"), N(w.ThroughputSps, "0"),
                    w.AccuracyTop1 is { } a ? a.ToString("P2", CultureInfo.InvariantCulture) : "", energy, outputs, Markup.Escape(w.Status == EvaluationStatus.Ok ? w.Note : w.Reason));
            }
            console.Write(table);
        }
        // a provider that cannot run here is the same story for every model and batch: say it once
        foreach (IGrouping<string, EvaluationRow> g in rows.Where(w => w.Status == EvaluationStatus.Skipped).GroupBy(w => w.Profile))
        {
            int reasons = g.Select(w => w.Reason).Distinct().Count();
            string more = reasons == 1 ? "" : $" ({g.Count()} rows, {reasons} reasons; first)";
            console.MarkupLine($"[yellow]skipped[/] {g.Key}{more}: {Markup.Escape(g.First().Reason)}");
        }
        int checkedRows = rows.Count(w => w.OutputCheck is not null), wrong = rows.Count(w => w.OutputCheck == OutputCheck.Failed);
        if (checkedRows > 0)
            console.MarkupLine($"outputs checked in {checkedRows} rows: {checkedRows - wrong} passed, {(wrong > 0 ? $"[red]{wrong} failed[/]" : "0 failed")}.");
        // on a resume, a row tried again with the same outcome leaves the earlier one in place: "measured", not "appended"
        string? ort = rows.Select(w => w.OrtVersion).FirstOrDefault(v => !string.IsNullOrEmpty(v));
        console.MarkupLine(rows.Count == 0
            ? $"nothing measured: every measurement asked for is in [bold]{Markup.Escape(outPath)}[/] already"
            : $"{rows.Count} rows measured into [bold]{Markup.Escape(outPath)}[/] (per-layer spikes: {Markup.Escape(layersPath)}){(ort is null ? "" : $"; ONNX Runtime {Markup.Escape(ort)}")}; energy per {Markup.Escape(EnergyModel.Source)}.");
    }
}
