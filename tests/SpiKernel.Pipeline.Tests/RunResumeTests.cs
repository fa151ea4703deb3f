using System.Diagnostics;
using SpiKernel.Core.Csv;
using SpiKernel.Evaluators.Results;
using SpiKernel.Models.Search;
using SpiKernel.Pipeline.Ranking;
using SpiKernel.Pipeline.Run;
using SpiKernel.Pipeline.Search;
using SpiKernel.Pipeline.Training;

namespace SpiKernel.Pipeline.Tests;

/// <summary>
/// <c>spikernel run</c> killed with SIGKILL at points spread over its stages, resumed each time, ends with the same CSV
/// rows as an uninterrupted run of the same configuration (timing columns aside): nothing lost, nothing twice.
/// </summary>
public class RunResumeTests
{
    // a run of every stage on 320 tiny training images, one thread (bit-for-bit repeatable training)
    private const string Config = """
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

    // (text of a run.log line, milliseconds to wait after it): the kill lands inside that stage's work
    private static readonly (string Line, int DelayMs)[] KillPoints =
    [
        ("[1/8 kernel-study] k = 3", 300),
        ("[2/8 search] search", 200),
        ("[3/8 select] stage started", 300),
        ("[4/8 train] candidate 2/", 800),
        ("[5/8 export] stage started", 600),
        ("[6/8 evaluate] stage started", 500),
        ("[8/8 report] stage started", 0),
    ];

    [Fact]
    public void Should_EndWithTheSameRows_When_TheRunIsKilledAtSevenPointsAndResumed()
    {
        using var data = new TempDir();
        IdxWriter.FashionMnistFolder(data.Path, 320, 80, gzip: false);
        using var work = new TempDir();
        string config = work.File("run-config.json");
        File.WriteAllText(config, Config.Replace("DATA", data.Path.Replace("\\", "/", StringComparison.Ordinal), StringComparison.Ordinal));
        string straight = Path.Combine(work.Path, "straight"), killed = Path.Combine(work.Path, "killed");

        Assert.Equal(0, Spawn(["run", "--config", config, "--out", straight], straight, kill: null));
        bool first = true;
        foreach ((string Line, int DelayMs) point in KillPoints)
        {
            string[] args = first ? ["run", "--config", config, "--out", killed] : ["run", "--resume", killed];
            Assert.True(Spawn(args, killed, point) == KilledCode, $"the run finished before reaching '{point.Line}'");
            first = false;
        }
        Assert.Equal(0, Spawn(["run", "--resume", killed], killed, kill: null));

        var a = new RunLayout(straight);
        var b = new RunLayout(killed);
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
        Assert.True(File.Exists(b.ReportHtml));
        string log = File.ReadAllText(b.Log);
        Assert.Equal(KillPoints.Length + 2, log.Split("[1/8 kernel-study] stage started").Length); // every invocation started over the chain
    }

    private const int KilledCode = -9;

    private static void SameRows<T>(RunLayout a, RunLayout b, string relative, Func<T, T> untimed)
    {
        List<T> x = CsvFile.ReadAll<T>(Path.Combine(a.Root, relative)).Select(untimed).ToList();
        List<T> y = CsvFile.ReadAll<T>(Path.Combine(b.Root, relative)).Select(untimed).ToList();
        Assert.True(x.Count > 0, $"{relative}: no rows");
        Assert.True(x.SequenceEqual(y), $"{relative} differs after kill and resume:\n  straight {string.Join("\n           ", x)}\n  resumed  {string.Join("\n           ", y)}");
    }

    /// <summary>Runs spikernel in a child process; with <paramref name="kill"/>, SIGKILLs it once run.log shows that line (then returns <see cref="KilledCode"/>).</summary>
    private static int Spawn(string[] args, string runDir, (string Line, int DelayMs)? kill)
    {
        var psi = new ProcessStartInfo { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.FileName = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "spikernel.dll"));
        foreach (string a in args) psi.ArgumentList.Add(a);
        string log = Path.Combine(runDir, "run.log");
        long seen = File.Exists(log) ? new FileInfo(log).Length : 0;
        using Process p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        _ = p.StandardOutput.ReadToEndAsync();
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

    private static string NewText(string path, long from)
    {
        if (!File.Exists(path)) return "";
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        stream.Position = Math.Min(from, stream.Length);
        return new StreamReader(stream).ReadToEnd();
    }
}
