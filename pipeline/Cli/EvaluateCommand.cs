using SpiKernel.Core.Csv;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using SpiKernel.Evaluators;
using SpiKernel.Evaluators.Measurement;
using SpiKernel.Evaluators.Models;
using SpiKernel.Evaluators.Providers;
using SpiKernel.Evaluators.Results;
using SpiKernel.Pipeline.Data;
using Spectre.Console;

namespace SpiKernel.Pipeline.Cli;

/// <summary>
/// <c>spikernel evaluate</c>: ONNX models measured in ONNX Runtime on every profile asked (latency percentiles,
/// accuracy, memory, spikes and energy), one CSV row per model × profile × precision × batch size.
/// </summary>
public static class EvaluateCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var model = new Argument<string>("model") { Description = "An .onnx file (its NAME.int8.onnx sibling is used by the edge profile) or a folder of them." };
        var output = new Option<string>("--out") { Description = "Results CSV; rows are appended when it exists. Per-layer spikes go to NAME.layers.csv beside it.", Required = true };
        var providers = new Option<string>("--providers") { Description = $"Profiles to run, comma-separated: {EvaluationProfile.DefaultList}.", DefaultValueFactory = _ => EvaluationProfile.DefaultList };
        var batches = new Option<string>("--batch") { Description = "Batch sizes to time, comma-separated.", DefaultValueFactory = _ => "1,64" };
        var warmup = new Option<int>("--warmup") { Description = "Untimed runs before timing (after the separately reported first run).", DefaultValueFactory = _ => 10 };
        var repeats = new Option<int>("--repeats") { Description = "Timed runs per measurement.", DefaultValueFactory = _ => 100 };
        var duration = new Option<double?>("--duration") { Description = "Time each measurement for this many seconds instead of --repeats runs." };
        var precision = new Option<string>("--precision") { Description = "auto (edge takes the int8 variant where it exists), fp32, int8 or all.", DefaultValueFactory = _ => "auto" };
        var data = new Option<string?>("--data") { Description = "Test data for accuracy: embedded or a folder (default: what the model's metadata names)." };
        var limit = new Option<int?>("--limit") { Description = "Score at most this many test images." };
        var noAccuracy = new Option<bool>("--no-accuracy") { Description = "Time only; no accuracy, spike or energy figures." };
        var inputShape = new Option<string?>("--input-shape") { Description = "Per-sample input shape (e.g. 3,32,32) for models whose input has symbolic dimensions." };
        var deviceId = new Option<int>("--device-id") { Description = "Accelerator index for the cuda, cuda-tf32 and tensorrt profiles.", DefaultValueFactory = _ => 0 };
        var isolate = new Option<bool>("--isolate") { Description = "Run each model × profile × batch measurement in a fresh process (clean memory figures)." };
        var isolatedChild = new Option<bool>("--isolated-child") { Hidden = true };

        var cmd = new Command("evaluate", "Measure ONNX models in ONNX Runtime on each execution provider and profile; write CSV rows.");
        cmd.Arguments.Add(model);
        foreach (Option o in new Option[] { output, providers, batches, warmup, repeats, duration, precision, data, limit, noAccuracy, inputShape, deviceId, isolate, isolatedChild })
            cmd.Options.Add(o);

        cmd.SetAction(r => CommandRunner.Run(cancel =>
        {
            int device = r.GetValue(deviceId);
            if (device < 0) throw new UsageException($"--device-id must be 0 or more (got {device}).");
            IReadOnlyList<EvaluationProfile> profiles = EvaluationProfile.ParseList(r.GetValue(providers)!)
                .Select(p => p.Provider is "cuda" or "tensorrt" ? p with { DeviceId = device } : p).ToArray();
            int[] batchSizes = ParseInts("--batch", r.GetValue(batches)!);
            PrecisionChoice choice = r.GetValue(precision)!.ToLowerInvariant() switch
            {
                "auto" => PrecisionChoice.Auto,
                "fp32" => PrecisionChoice.Fp32,
                "int8" => PrecisionChoice.Int8,
                "all" => PrecisionChoice.All,
                var other => throw new UsageException($"--precision must be auto, fp32, int8 or all (got '{other}')."),
            };
            double? seconds = r.GetValue(duration);
            var latency = new LatencyOptions(r.GetValue(warmup), r.GetValue(repeats), seconds is { } s ? TimeSpan.FromSeconds(s) : null);
            string? shapeText = r.GetValue(inputShape);
            long[]? shape = shapeText is null ? null : ParseInts("--input-shape", shapeText).Select(x => (long)x).ToArray();
            string? dataOption = r.GetValue(data);
            bool accuracy = !r.GetValue(noAccuracy);
            var sources = new TestDataSource(dataOption, accuracy);
            bool child = r.GetValue(isolatedChild);
            var request = new EvaluationRequest(profiles, batchSizes, latency, choice, sources.For, shape, r.GetValue(limit), Isolated: child).Validated();

            string outPath = r.GetValue(output)!;
            ExportCommand.CheckWritableFile(outPath);
            if (dataOption is not null && accuracy) sources.Preload(dataOption);
            IReadOnlyList<ModelGroup> groups = ModelGroup.Discover(r.GetValue(model)!);

            string layersPath = LayersPath(outPath);
            using var rows = new CsvLog<EvaluationRow>(outPath, append: true);
            using var layers = new CsvLog<LayerRow>(layersPath, append: true);
            var written = new List<EvaluationRow>();
            void Sink(EvaluationRow row)
            {
                rows.Append(row);
                written.Add(row);
            }

            if (r.GetValue(isolate) && !child)
                RunIsolated(r.Tokens.Select(t => t.Value).ToArray(), r.GetValue(model)!, groups, profiles, batchSizes, Sink, layers.Append, cancel);
            else if (child)
                new Evaluator(request).Run(groups, Sink, layers.Append, cancel);
            else
                ProgressDisplay.Create().Start(ctx => new Evaluator(request, new Observer(ctx)).Run(groups, Sink, layers.Append, cancel));

            if (!child) Summarise(written, outPath, layersPath);
            EvaluationRow? failed = written.FirstOrDefault(w => w.Status == EvaluationStatus.Failed);
            return failed is null
                ? ExitCodes.Ok
                : CommandRunner.Fail($"{written.Count(w => w.Status == EvaluationStatus.Failed)} of {written.Count} rows failed; first: {failed.Model} on {failed.Profile}, batch {failed.BatchSize}: {failed.Reason}", ExitCodes.InputError);
        }, interrupted: "interrupted; the rows measured so far are in the CSV"));
        return cmd;
    }

    /// <summary>Where the per-layer rows of <paramref name="outPath"/> go.</summary>
    public static string LayersPath(string outPath) =>
        Path.Combine(Path.GetDirectoryName(outPath) ?? "", Path.GetFileNameWithoutExtension(outPath) + ".layers.csv");

    internal static int[] ParseInts(string option, string text)
    {
        string[] parts = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 0) throw new UsageException($"{option} names no value.");
        return parts.Select(p => int.TryParse(p, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v)
            ? v
            : throw new UsageException($"{option}: '{p}' is not a whole number.")).ToArray();
    }

    private static void RunIsolated(string[] tokens, string modelArgument, IReadOnlyList<ModelGroup> groups, IReadOnlyList<EvaluationProfile> profiles, int[] batchSizes,
        Action<EvaluationRow> sink, Action<LayerRow> layerSink, CancellationToken cancel)
    {
        // the child gets this command line with one model, one profile and one batch size
        string[] keep = StripOptions(tokens, ["--out", "--providers", "--batch"], ["--isolate"]).ToArray();
        string tmp = Path.Combine(Path.GetTempPath(), $"spikernel-eval-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(tmp);
        try
        {
            int k = 0;
            int total = groups.Count * profiles.Count * batchSizes.Length;
            bool timingOnly = keep.Contains("--no-accuracy");
            // the test-set pass runs in the first child of each model and profile; later batch sizes reuse its figures
            var measured = new Dictionary<(string Model, string Profile, string Precision), EvaluationRow>();
            ProgressDisplay.Create().Start(ctx =>
            {
                ProgressTask task = ctx.AddTask("isolated measurements", maxValue: total);
                foreach (ModelGroup g in groups)
                {
                    string file = g.FloatPath ?? g.Int8Path!;
                    foreach (EvaluationProfile p in profiles)
                    {
                        foreach (int b in batchSizes)
                        {
                            cancel.ThrowIfCancellationRequested();
                            task.Description = $"{g.Name} · {p.Name} · batch {b} (fresh process)";
                            string csv = Path.Combine(tmp, $"{k++}.csv");
                            bool reuse = !timingOnly && measured.Keys.Any(m => m.Model == g.Name && m.Profile == p.Name);
                            List<string> args = ["evaluate", file, .. keep.Skip(1).Where(t => t != modelArgument), "--providers", p.Name, "--batch", b.ToString(CultureInfo.InvariantCulture), "--out", csv, "--isolated-child"];
                            if (reuse) args.Add("--no-accuracy");
                            (int code, string stderr) = RunChild(args, cancel);
                            if (File.Exists(csv))
                            {
                                foreach (EvaluationRow row in CsvFile.ReadAll<EvaluationRow>(csv))
                                {
                                    var key = (row.Model, row.Profile, row.Precision);
                                    if (reuse && row.Status == EvaluationStatus.Ok && measured.TryGetValue(key, out EvaluationRow? first)) sink(row.WithAccuracyOf(first));
                                    else
                                    {
                                        if (row.CorrectTop1 is not null) measured.TryAdd(key, row);
                                        sink(row);
                                    }
                                }
                                string lay = LayersPath(csv);
                                if (File.Exists(lay))
                                    foreach (LayerRow l in CsvFile.ReadAll<LayerRow>(lay)) layerSink(l);
                            }
                            else if (code != 0)
                            {
                                throw new InvalidOperationException($"isolated measurement of {g.Name} on {p.Name} failed: {stderr.Trim()}");
                            }
                            task.Increment(1);
                        }
                    }
                }
            });
        }
        finally
        {
            Directory.Delete(tmp, recursive: true);
        }
    }

    private static IEnumerable<string> StripOptions(string[] tokens, string[] withValue, string[] flags)
    {
        for (int i = 0; i < tokens.Length; i++)
        {
            string t = tokens[i];
            string name = t.Split('=')[0];
            if (withValue.Contains(name))
            {
                if (!t.Contains('=')) i++;
                continue;
            }
            if (flags.Contains(name)) continue;
            yield return t;
        }
    }

    private static (int Code, string Stderr) RunChild(IEnumerable<string> args, CancellationToken cancel)
    {
        var psi = new ProcessStartInfo { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        string apphost = Path.Combine(AppContext.BaseDirectory, OperatingSystem.IsWindows() ? "spikernel.exe" : "spikernel");
        if (File.Exists(apphost))
        {
            psi.FileName = apphost;
        }
        else
        {
            psi.FileName = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
            psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "spikernel.dll"));
        }
        foreach (string a in args) psi.ArgumentList.Add(a);
        using Process process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {psi.FileName}");
        Task<string> stdout = process.StandardOutput.ReadToEndAsync(cancel);
        Task<string> stderr = process.StandardError.ReadToEndAsync(cancel);
        process.WaitForExitAsync(cancel).GetAwaiter().GetResult();
        _ = stdout.GetAwaiter().GetResult();
        return (process.ExitCode, stderr.GetAwaiter().GetResult());
    }

    private static void Summarise(IReadOnlyList<EvaluationRow> rows, string outPath, string layersPath)
    {
        IAnsiConsole console = CommandRunner.Out;
        static string N(double? v, string f) => v is { } x ? x.ToString(f, CultureInfo.InvariantCulture) : "";
        List<EvaluationRow> shown = rows.Where(w => w.Status != EvaluationStatus.Skipped).ToList();
        if (shown.Count > 0)
        {
            var table = new Table().AddColumns("model", "profile", "precision", "batch", "status", "p50 ms", "p90 ms", "p99 ms", "samples/s", "top-1", "µJ/sample (ANN)", "note");
            foreach (EvaluationRow w in shown)
            {
                string status = w.Status == EvaluationStatus.Ok ? "[green]ok[/]" : "[red]failed[/]";
                string energy = w.EnergySnnUj is { } e ? $"{N(e, "0.00")} ({N(w.EnergyAnnUj, "0.00")})" : "";
                table.AddRow(Markup.Escape(w.Model), w.Profile, w.Precision, w.BatchSize?.ToString(CultureInfo.InvariantCulture) ?? "", status,
                    N(w.LatencyP50Ms, "0.000"), N(w.LatencyP90Ms, "0.000"), N(w.LatencyP99Ms, "0.000"), N(w.ThroughputSps, "0"),
                    w.AccuracyTop1 is { } a ? a.ToString("P2", CultureInfo.InvariantCulture) : "", energy, Markup.Escape(w.Reason));
            }
            console.Write(table);
        }
        // a provider that cannot run here is the same story for every model and batch: say it once
        foreach (IGrouping<string, EvaluationRow> g in rows.Where(w => w.Status == EvaluationStatus.Skipped).GroupBy(w => w.Profile))
            console.MarkupLine($"[yellow]skipped[/] {g.Key}: {Markup.Escape(g.First().Reason)}");
        console.MarkupLine($"{rows.Count} rows appended to [bold]{Markup.Escape(outPath)}[/] (per-layer spikes: {Markup.Escape(layersPath)}); ONNX Runtime {Markup.Escape(rows.FirstOrDefault()?.OrtVersion ?? "")}; energy per {Markup.Escape(EnergyModel.Source)}.");
    }

    /// <summary>Loads test data once per source and hands it to each model that can use it.</summary>
    private sealed class TestDataSource(string? dataOption, bool enabled)
    {
        private readonly Dictionary<string, LabelledImages> _cache = new(StringComparer.Ordinal);

        /// <summary>Loads the data named on the command line now, so a bad --data fails before any measurement.</summary>
        public void Preload(string source) => Load(source);

        public TestData For(ModelInfo model)
        {
            if (!enabled) return TestData.None("--no-accuracy");
            if (model.Snn is not { Mean: { } mean, Std: { } std } snn)
                return TestData.None("the model's metadata has no input normalisation (spikernel.normalization.*)");
            string? source = dataOption ?? snn.Dataset;
            if (string.IsNullOrEmpty(source)) source = DatasetCatalog.Embedded;
            try
            {
                return new TestData(Load(source), mean, std, null);
            }
            catch (Exception ex) when (dataOption is null && ex is DataFormatException or IOException)
            {
                return TestData.None($"the data named in the model ({source}) cannot be read here: {ex.Message}");
            }
        }

        private LabelledImages Load(string source)
        {
            if (_cache.TryGetValue(source, out LabelledImages? hit)) return hit;
            ImageDataset test = DatasetCatalog.Load(source).Test;
            var images = new LabelledImages(test.Name, test.Pixels, test.Labels, test.Channels, test.Height, test.Width);
            _cache[source] = images;
            return images;
        }
    }

    private sealed class Observer(ProgressContext ctx) : IEvaluationObserver
    {
        private ProgressTask? _task;
        private string? _lastNote;

        public void Begin(string description, int total)
        {
            _task?.StopTask();
            _task = ctx.AddTask(Markup.Escape(description), maxValue: Math.Max(1, total));
            if (total == 0) _task.IsIndeterminate = true;
        }

        public void Advance(int done)
        {
            if (_task is { IsIndeterminate: false }) _task.Value = done;
        }

        public void Row(EvaluationRow row)
        {
            _task?.StopTask();
            string note = $"{row.Model} · {row.Profile}: {row.Status} — {row.Reason}";
            if (row.Status != EvaluationStatus.Ok && note != _lastNote)
                AnsiConsole.MarkupLine($"{Markup.Escape(row.Model)} · {row.Profile}: [{(row.Status == EvaluationStatus.Skipped ? "yellow" : "red")}]{row.Status}[/] — {Markup.Escape(row.Reason)}");
            _lastNote = note;
        }
    }
}
