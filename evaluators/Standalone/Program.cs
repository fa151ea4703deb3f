using System.Runtime.InteropServices;
using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using SpiKernel.Core;
using SpiKernel.Core.Csv;
using SpiKernel.Evaluators;
using SpiKernel.Evaluators.Measurement;
using SpiKernel.Evaluators.Models;
using SpiKernel.Evaluators.Providers;
using SpiKernel.Evaluators.Results;

namespace SpiKernel.Evaluate;

/// <summary>
/// <c>spikernel-evaluate MODELS</c>: the evaluate stage on the machine a model ships to. The rows are those of
/// <c>spikernel evaluate</c> (same columns), so <c>spikernel rank</c> and <c>spikernel merge</c> take them as they are.
/// Test data for accuracy comes from the bundle's data/ folder (written by <c>spikernel bundle</c>).
/// </summary>
public static class Program
{
    /// <summary>Parses, measures, writes; bad input: one line and exit 2 (settings) or 1 (files).</summary>
    public static int Main(string[] args)
    {
        var models = new Argument<string>("models") { Description = "An .onnx file or a folder of them (NAME.int8.onnx variants come along)." };
        var output = new Option<string>("--out") { Description = "Results CSV (appended; per-layer rows in NAME.layers.csv beside it; default: the bundle's results/HOST.csv).", DefaultValueFactory = _ => Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "results", Environment.MachineName + ".csv")) };
        var profiles = new Option<string>("--providers") { Description = $"Profiles, comma-separated ({EvaluationProfile.DefaultList}).", DefaultValueFactory = _ => "cpu,edge" };
        var batches = new Option<string>("--batch") { Description = "Batch sizes, comma-separated.", DefaultValueFactory = _ => "1" };
        var warmup = new Option<int>("--warmup") { Description = "Untimed runs before timing.", DefaultValueFactory = _ => 5 };
        var repeats = new Option<int>("--repeats") { Description = "Timed runs per measurement.", DefaultValueFactory = _ => 30 };
        var limit = new Option<int?>("--limit") { Description = "Test images scored for accuracy (default: all in the bundle)." };
        var data = new Option<string>("--data") { Description = "The bundle's data folder.", DefaultValueFactory = _ => Path.Combine(AppContext.BaseDirectory, "..", "data") };
        var device = new Option<string>("--device") { Description = "This machine's name in the rows: profiles are written PROFILE@DEVICE (edge@rpi5), apart from the build machine's.", DefaultValueFactory = _ => Environment.MachineName };
        var root = new RootCommand("Measure ONNX models in ONNX Runtime on this machine: latency, accuracy, memory, spikes, energy; one CSV row per model × profile × precision × batch.");
        foreach (Option o in new Option[] { output, profiles, batches, warmup, repeats, limit, data, device }) root.Options.Add(o);
        root.Arguments.Add(models);
        ParseResult parsed = root.Parse(args);
        if (parsed.Errors.Count > 0 && parsed.Action is not System.CommandLine.Help.HelpAction) return Fail(parsed.Errors[0].Message + " (see --help)", 2);
        // Ctrl+C or a scheduler's SIGTERM: the measurement in progress stops, the rows measured again replace the ones cut
        // short (Finish below), and the file is left as a rerun continues it
        using var interrupted = new CancellationTokenSource();
        void Interrupt(PosixSignalContext c)
        {
            c.Cancel = true;
            interrupted.Cancel();
        }
        using PosixSignalRegistration sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Interrupt);
        using PosixSignalRegistration sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Interrupt);
        root.SetAction(r =>
        {
            try
            {
                string at = "@" + Device(r.GetValue(device)!);
                string csv = r.GetValue(output)!;
                var request = new EvaluationRequest(EvaluationProfile.ParseList(r.GetValue(profiles)!), Integers(r.GetValue(batches)!),
                    new LatencyOptions(r.GetValue(warmup), r.GetValue(repeats)), PrecisionChoice.Auto, new BundleData(r.GetValue(data)!).For,
                    AccuracyLimit: r.GetValue(limit)).Validated(); // bad settings change no file
                IReadOnlyList<ModelGroup> groups = ModelGroup.Discover(r.GetValue(models)!);
                Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(csv))!);
                string layers = MeasuredResume.LayersPath(Path.GetFullPath(csv));
                MeasuredResume.State resumed = MeasuredResume.Prepare(csv, layers);
                // what an earlier, interrupted run on this device measured (a torn last row dropped first; a row cut short,
                // without its layer rows, is measured again and then replaced)
                MeasuredResume.State here = resumed.On(at);
                request = request with { Done = here.Done, LayersDone = here.LayersDone };
                int count = 0, failed = 0;
                string? firstFailure = null;
                try
                {
                    using var rows = new CsvLog<EvaluationRow>(csv, append: true);
                    using var layerRows = new CsvLog<LayerRow>(layers, append: true);
                    new Evaluator(request, new Lines()).Run(groups, measured =>
                    {
                        EvaluationRow row = measured with { Profile = measured.Profile + at };
                        rows.Append(row);
                        count++;
                        if (row.Status == EvaluationStatus.Failed && failed++ == 0)
                            firstFailure = $"{row.Model} on {row.Profile}, batch {row.BatchSize}: {row.Reason}";
                        Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                            $"{row.CandidateId,-12} {row.Profile,-10} {row.Precision,-5} batch {row.BatchSize,-4} {CsvFormat.Word(row.Status),-7} p50 {row.LatencyP50Ms:0.###} ms top-1 {row.AccuracyTop1:P2} {row.Reason}"));
                    }, layer => layerRows.Append(layer with { Profile = layer.Profile + at }), interrupted.Token);
                }
                finally
                {
                    MeasuredResume.Finish(csv, resumed); // interrupted too: the rows measured again replace the ones cut short
                }
                Console.Out.WriteLine($"{count} rows in {csv}");
                return failed == 0 ? 0 : Fail($"{failed} of {count} rows failed; first: {firstFailure}", 1); // as spikernel evaluate
            }
            catch (SettingsException ex)
            {
                return Fail(ex.Message, 2);
            }
            catch (Exception ex) when (ex is InvalidDataException or IOException or UnauthorizedAccessException)
            {
                return Fail(ex.Message, 1);
            }
            catch (OperationCanceledException) when (interrupted.IsCancellationRequested)
            {
                return Fail("interrupted; the rows measured so far are kept, and evaluate.sh again measures the rest", 130);
            }
            catch (Exception ex)
            {
                return Fail(CrashReport.Write("spikernel-evaluate", ex), 70);
            }
        });
        return parsed.Invoke();
    }

    private static int Fail(string message, int code)
    {
        Console.Error.WriteLine($"spikernel-evaluate: {message.ReplaceLineEndings(" ")}");
        return code;
    }

    private static string Device(string name) =>
        System.Text.RegularExpressions.Regex.IsMatch(name, "^[A-Za-z0-9_.-]+$") ? name : throw new SettingsException($"--device '{name}': letters, digits, '_', '.' and '-' only");

    private static int[] Integers(string list) => list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        .Select(t => int.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out int v) && v > 0 ? v : throw new SettingsException($"--batch: '{t}' is not a positive integer"))
        .ToArray();

    /// <summary>Test data by the source a model's metadata names, from data/datasets.json (key → folder of <see cref="LabelledImagesFile"/>; the keys: <see cref="BundleDataKeys"/>).</summary>
    private sealed class BundleData(string folder)
    {
        private readonly Dictionary<string, LabelledImages> _loaded = new(StringComparer.Ordinal);
        private Dictionary<string, string>? _index;

        public TestData For(ModelInfo model)
        {
            if (model.Snn is not { Mean: { } mean, Std: { } std } snn) return TestData.None("the model's metadata has no input normalisation (spikernel.normalization.*)");
            string source = string.IsNullOrEmpty(snn.Dataset) ? "embedded" : snn.Dataset;
            _index ??= Index();
            string? sub = null;
            foreach (string key in BundleDataKeys.Lookup(source, snn.ClassNames?.Count ?? 0))
                if (_index.TryGetValue(key, out sub)) break;
            if (sub is null) return TestData.None($"the bundle has no test data for '{source}' (data/datasets.json)");
            if (!_loaded.TryGetValue(sub, out LabelledImages? images))
            {
                try
                {
                    _loaded[sub] = images = LabelledImagesFile.Load(Path.Combine(folder, sub));
                }
                catch (Exception ex) when (ex is InvalidDataException or IOException) // this model's accuracy goes, not the other models' measurements
                {
                    return TestData.None($"the bundle's test data for '{source}' cannot be read: {ex.Message}");
                }
            }
            return new TestData(images, mean, std, null);
        }

        private Dictionary<string, string> Index()
        {
            string path = Path.Combine(folder, "datasets.json");
            if (!File.Exists(path)) return [];
            try
            {
                return JsonSerializer.Deserialize<Dictionary<string, string>>(File.ReadAllText(path)) ?? [];
            }
            catch (JsonException ex)
            {
                throw new InvalidDataException($"{path}: not a source → folder map ({ex.Message})");
            }
        }
    }

    /// <summary>Plain progress lines on standard error.</summary>
    private sealed class Lines : IProgressObserver
    {
        public void Begin(string task, double total) => Console.Error.WriteLine(task);

        public void Advance(double done, string? status = null)
        {
        }

        public void Note(string line) => Console.Error.WriteLine(line);
    }
}
