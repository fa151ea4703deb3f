using System.Diagnostics;
using System.Globalization;
using SpiKernel.Core;
using SpiKernel.Core.Csv;
using SpiKernel.Evaluators.Inputs;
using SpiKernel.Evaluators.Models;
using SpiKernel.Evaluators.Providers;
using SpiKernel.Evaluators.Results;
using SpiKernel.Pipeline.ScaleOut;

namespace SpiKernel.Pipeline.Stages;

/// <summary>
/// <c>evaluate --isolate</c>: each model × profile × batch measurement runs in a fresh <c>spikernel evaluate</c>
/// process (started by <paramref name="launcher"/>) so its memory figures start from a clean process. The test-set pass
/// runs in the first child of each model and profile; later batch sizes reuse its accuracy, spike and energy figures.
/// </summary>
internal sealed class IsolatedEvaluation(EvaluateStageOptions options, SelfLauncher launcher, IReadOnlyList<ModelGroup> groups)
{
    /// <summary>The child option that feeds the test images to the timed runs without scoring them (hidden).</summary>
    public const string TimingImagesOnly = "--timing-images-only";

    public void Run(Action<EvaluationRow> sink, Action<LayerRow> layerSink, IProgressObserver progress, CancellationToken cancel)
    {
        string tmp = Path.Combine(Path.GetTempPath(), $"spikernel-eval-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(tmp);
        try
        {
            int k = 0;
            var measured = new Dictionary<(string Model, string Profile, string Precision), EvaluationRow>();
            // a model measured at its own batch size (fixed by it, or by its test data) gives that row in every child
            var written = new HashSet<(string Model, string Profile, string Precision, int? Batch)>();
            var timedOk = new HashSet<(string Model, string Profile, string Precision)>();
            var layered = new HashSet<(string, string, string)>();
            progress.Begin("isolated measurements", groups.Count * options.Profiles.Count * options.BatchSizes.Count);
            foreach (ModelGroup g in groups)
            {
                // the file the child discovers the same group from (a named int8 file stays the one measured)
                string file = g.TestFolder ?? (g.Int8Named ? g.Int8Path : null) ?? g.FloatPath ?? g.Int8Path!;
                foreach (EvaluationProfile p in options.Profiles)
                {
                    foreach (int b in options.BatchSizes)
                    {
                        cancel.ThrowIfCancellationRequested();
                        progress.Advance(k, $"{g.Name} · {p.Name} · batch {b} (fresh process)");
                        // the accuracy pass is left out once every precision timed here so far has its accuracy (one whose
                        // accuracy failed is scored again; one whose timing failed, an int8 file on cuda-graph, has none to wait for)
                        bool reuse = options.Accuracy && timedOk.Where(w => w.Model == g.Name && w.Profile == p.Name).ToArray() is { Length: > 0 } precisions
                                     && precisions.All(x => measured.ContainsKey(x));
                        string name = (k++).ToString(CultureInfo.InvariantCulture);
                        (List<EvaluationRow> measuredRows, string csv) = Child(g, file, p, b, Path.Combine(tmp, name + ".csv"), accuracyPass: !reuse, cancel);
                        // a precision timed for the first time without the accuracy pass (its timing failed at other sizes): again, with it
                        if (reuse && measuredRows.Any(r => r.Status == EvaluationStatus.Ok && !measured.ContainsKey((r.Model, r.Profile, r.Precision))))
                        {
                            (measuredRows, csv) = Child(g, file, p, b, Path.Combine(tmp, name + "-with-accuracy.csv"), accuracyPass: true, cancel);
                            reuse = false;
                        }
                        foreach (EvaluationRow row in measuredRows)
                        {
                            if (!written.Add((row.Model, row.Profile, row.Precision, row.BatchSize))) continue;
                            var key = (row.Model, row.Profile, row.Precision);
                            if (row.Status == EvaluationStatus.Ok || row.Reason.StartsWith("accuracy", StringComparison.Ordinal)) timedOk.Add(key);
                            if (reuse && row.Status == EvaluationStatus.Ok && measured.TryGetValue(key, out EvaluationRow? first)) sink(row.WithAccuracyOf(first));
                            else
                            {
                                if (row.CorrectTop1 is not null) measured.TryAdd(key, row);
                                sink(row);
                            }
                        }
                        string layers = EvaluateStage.LayersPath(csv);
                        if (File.Exists(layers)) // each measurement's layer rows once (an accuracy pass again writes them all again)
                            foreach (IGrouping<(string, string, string), LayerRow> set in CsvFile.ReadCompleteRows<LayerRow>(layers).GroupBy(l => (l.Model, l.Profile, l.Precision)))
                                if (layered.Add(set.Key))
                                    foreach (LayerRow l in set) layerSink(l);
                    }
                }
            }
            progress.Advance(k);
        }
        finally
        {
            Directory.Delete(tmp, recursive: true);
        }
    }

    // one measurement in a fresh process, into a CSV of its own: its rows, and that CSV (beside it, its layer rows)
    private (List<EvaluationRow> Rows, string Csv) Child(ModelGroup g, string file, EvaluationProfile p, int b, string csv, bool accuracyPass, CancellationToken cancel)
    {
        (int code, string stderr) = RunChild(ChildArguments(file, p, b, csv, options.Accuracy, accuracyPass), cancel);
        cancel.ThrowIfCancellationRequested(); // Ctrl+C reached the child too: an interruption, not its failure
        List<EvaluationRow> rows = File.Exists(csv) ? CsvFile.ReadCompleteRows<EvaluationRow>(csv) : [];
        // 0: measured; 1 with rows that say what failed. Anything else (bad settings, unreadable input, a crash in a
        // provider, the kernel's OOM killer) may have left a CSV with its header only: not a measurement
        if (!(code == ExitOk || (code == ExitRowsFailed && rows.Any(r => r.Status == EvaluationStatus.Failed))))
            throw new WorkerFailedException(code, string.Create(CultureInfo.InvariantCulture,
                $"isolated measurement of {g.Name} on {p.Name} at batch {b} {LocalWorkers.How(code)}: {Messages.OneLine(stderr)}"));
        return (rows, csv);
    }

    /// <summary>The child's command line: this evaluation narrowed to one file, profile and batch size.</summary>
    private List<string> ChildArguments(string file, EvaluationProfile profile, int batch, string csv, bool accuracy, bool accuracyPass)
    {
        static string I(long v) => v.ToString(CultureInfo.InvariantCulture);
        List<string> args = ["evaluate", file, "--out", csv, "--isolated-child", "--providers", profile.Name, "--batch", I(batch),
            "--device-id", I(profile.DeviceId), "--precision", options.Precision.ToString().ToLowerInvariant(), "--warmup", I(options.Latency.Warmup)];
        if (options.Latency.Duration is { } d) args.AddRange(["--duration", d.TotalSeconds.ToString("R", CultureInfo.InvariantCulture)]);
        else args.AddRange(["--repeats", I(options.Latency.Repeats)]);
        if (accuracy && options.Data is { } data) args.AddRange(["--data", data]); // read only where images are scored (or feed the timed runs)
        if (accuracy && options.Limit is { } limit) args.AddRange(["--limit", I(limit)]);
        if (options.Inputs is { } inputs)
        {
            foreach (InputShape shape in inputs.Shapes ?? []) args.AddRange(["--input-shape", shape.ToString()]);
            if (inputs.Path is { } path) args.AddRange(["--inputs", path]);
            static string R(double v) => v.ToString("R", CultureInfo.InvariantCulture);
            args.AddRange(["--seed", I(inputs.Seed), "--rtol", R(inputs.Check.Rtol), "--atol", R(inputs.Check.Atol)]);
        }
        if (!accuracy) args.Add("--no-accuracy");
        else if (!accuracyPass) args.Add(TimingImagesOnly); // scored by an earlier child: its images still feed the timed runs
        return args;
    }

    // the child's exit codes that come with its rows (spikernel's ExitCodes.Ok and InputError)
    private const int ExitOk = 0, ExitRowsFailed = 1;

    private (int Code, string Stderr) RunChild(IEnumerable<string> args, CancellationToken cancel)
    {
        var psi = new ProcessStartInfo(launcher.FileName) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in launcher.Arguments.Concat(args)) psi.ArgumentList.Add(a);
        using Process process = Process.Start(psi) ?? throw new IOException($"could not start {psi.FileName}");
        Task<string> stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        Task<string> stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
        try
        {
            process.WaitForExitAsync(cancel).GetAwaiter().GetResult();
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true); // gone before its folder is deleted
            process.WaitForExit();
            throw;
        }
        _ = stdout.GetAwaiter().GetResult();
        return (process.ExitCode, stderr.GetAwaiter().GetResult());
    }
}
