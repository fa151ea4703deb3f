using System.Diagnostics;
using SpiKernel.Core.Csv;
using SpiKernel.Evaluators.Results;
using SpiKernel.Models.Search;
using SpiKernel.Pipeline.Ranking;
using SpiKernel.Pipeline.Run;
using SpiKernel.Pipeline.Search;
using SpiKernel.Pipeline.Training;

namespace SpiKernel.Pipeline.Tests;

/// <summary>Runs spikernel as a child process (optionally SIGKILLed at a log line) and compares two run folders' CSVs.</summary>
internal static class RunFolders
{
    /// <summary>The exit code <see cref="Spawn"/> returns for a process it killed.</summary>
    public const int KilledCode = -9;

    // a run of every stage on 320 tiny training images, one thread (bit-for-bit repeatable training)
    public const string TinyConfig = """
    {
      "data": "DATA",
      "kernel_study": { "sizes": [1, 3], "epochs": 1 },
      "search": { "candidates": 3, "batch": 16 },
      "selection": { "top": 2, "controls": 1 },
      "training": { "epochs": 2, "batch_size": 32, "threads": 1 },
      "export": { "verify_images": 16 },
      "evaluation": { "profiles": ["cpu", "edge"], "batch_sizes": [1], "warmup": 1, "repeats": 3, "limit": 40 },
      "target": { "profile": "edge" },
      "ranking": { "objectives": ["accuracy_top1:max", "parameters:min"] }
    }
    """;

    /// <summary>Writes tiny IDX data into <paramref name="data"/> and <see cref="TinyConfig"/> pointing at it into <paramref name="work"/>; returns the config path.</summary>
    public static string TinyRun(TempDir data, TempDir work)
    {
        IdxWriter.FashionMnistFolder(data.Path, 320, 80, gzip: false);
        string config = work.File("run-config.json");
        File.WriteAllText(config, TinyConfig.Replace("DATA", data.Path.Replace("\\", "/", StringComparison.Ordinal), StringComparison.Ordinal));
        return config;
    }

    /// <summary>A copy of configuration <paramref name="config"/> with scale_out.local_workers set; returns its path.</summary>
    public static string WithLocalWorkers(string config, int workers)
    {
        string path = Path.Combine(Path.GetDirectoryName(config)!, $"run-config.workers-{workers}.json");
        string text = File.ReadAllText(config);
        File.WriteAllText(path, "{\n  \"scale_out\": { \"local_workers\": " + workers + " }," + text[(text.IndexOf('{', StringComparison.Ordinal) + 1)..]);
        return path;
    }

    /// <summary>Every CSV of run <paramref name="b"/> holds the rows of run <paramref name="a"/>, timing columns aside.</summary>
    public static void SameResults(RunLayout a, RunLayout b)
    {
        SameRows<KernelStudyPoint>(a, b, Path.Combine("kernel-study", "kernel-study.csv"), r => r with { TrainSeconds = 0 });
        SameRows<CandidateRow>(a, b, Path.Combine("search", "candidates.csv"), r => r with { Seconds = 0 });
        SameRows<SelectionRow>(a, b, "selection.csv", r => r with { TargetLatencyMs = null });
        foreach (SelectionRow s in CsvFile.ReadAll<SelectionRow>(a.Selection))
            SameRows<EpochMetrics>(a, b, Path.Combine("train", s.CandidateId, Trainer.MetricsFile), r => r with { Seconds = 0, ImagesPerSecond = 0, ResidentMib = 0 });
        SameRows<EvaluationRow>(a, b, "results.csv", r => new EvaluationRow
        {
            CandidateId = r.CandidateId, Model = r.Model, ModelSha256 = r.ModelSha256, Profile = r.Profile, Precision = r.Precision,
            BatchSize = r.BatchSize, Status = r.Status, AccuracyTop1 = r.AccuracyTop1, Parameters = r.Parameters, FileBytes = r.FileBytes,
        });
        SameRows<LayerRow>(a, b, "results.layers.csv", r => r);
        SameRows<RankingRow>(a, b, "ranking.csv", r => r with { LatencyP50Ms = null, LatencyP95Ms = null, ModelPath = "", Source = "" });
        List<EvaluationRow> results = CsvFile.ReadAll<EvaluationRow>(b.Results);
        Assert.Equal(results.Count, results.Select(r => (r.CandidateId, r.Profile, r.Precision, r.BatchSize)).Distinct().Count());
    }

    private static void SameRows<T>(RunLayout a, RunLayout b, string relative, Func<T, T> untimed)
    {
        List<T> x = CsvFile.ReadAll<T>(Path.Combine(a.Root, relative)).Select(untimed).ToList();
        List<T> y = CsvFile.ReadAll<T>(Path.Combine(b.Root, relative)).Select(untimed).ToList();
        Assert.True(x.Count > 0, $"{relative}: no rows");
        Assert.True(x.SequenceEqual(y), $"{relative} differs:\n  {a.Root} {string.Join("\n           ", x)}\n  {b.Root} {string.Join("\n           ", y)}");
    }

    /// <summary>The command line that starts the spikernel built beside the tests.</summary>
    public static string[] Spikernel => [Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet", Path.Combine(AppContext.BaseDirectory, "spikernel.dll")];

    /// <summary>Starts spikernel in a child process with <paramref name="args"/>; its standard output is drained (and dropped) as it comes.</summary>
    public static Process Start(IEnumerable<string> args) => StartProgram([.. Spikernel, .. args]);

    /// <summary>Starts <paramref name="command"/> (program and arguments) with extra <paramref name="environment"/> variables.</summary>
    public static Process StartProgram(IReadOnlyList<string> command, IReadOnlyDictionary<string, string>? environment = null)
    {
        var psi = new ProcessStartInfo { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, FileName = command[0] };
        foreach (string a in command.Skip(1)) psi.ArgumentList.Add(a);
        foreach ((string key, string value) in environment ?? new Dictionary<string, string>()) psi.Environment[key] = value;
        Process p = Process.Start(psi)!;
        p.OutputDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        return p;
    }

    /// <summary>
    /// Runs spikernel and asserts it exits 0; with <paramref name="kill"/>, SIGKILLs it once <paramref name="log"/> shows
    /// that line (waiting DelayMs more) and returns <see cref="KilledCode"/>.
    /// </summary>
    public static int Spawn(string[] args, string log, (string Line, int DelayMs)? kill)
    {
        long seen = File.Exists(log) ? new FileInfo(log).Length : 0;
        using Process p = Start(args);
        var stderr = p.StandardError.ReadToEndAsync();
        var clock = Stopwatch.StartNew();
        while (!p.HasExited && clock.Elapsed < TimeSpan.FromMinutes(5))
        {
            if (kill is { } k && NewText(log, seen).Contains(k.Line, StringComparison.Ordinal))
            {
                Thread.Sleep(k.DelayMs);
                p.Kill(entireProcessTree: true); // SIGKILL: no handler runs, no file is closed cleanly
                p.WaitForExit();
                return KilledCode;
            }
            Thread.Sleep(10);
        }
        if (!p.HasExited) p.Kill(entireProcessTree: true);
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"spikernel {string.Join(' ', args)} exited {p.ExitCode}: {stderr.Result}");
        return p.ExitCode;
    }

    /// <summary>Runs spikernel to the end; returns its exit code and standard error.</summary>
    public static (int Code, string Error) Finish(params string[] args)
    {
        using Process p = Start(args);
        var stderr = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        return (p.ExitCode, stderr.Result);
    }

    private static string NewText(string path, long from)
    {
        if (!File.Exists(path)) return "";
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        stream.Position = Math.Min(from, stream.Length);
        return new StreamReader(stream).ReadToEnd();
    }
}
