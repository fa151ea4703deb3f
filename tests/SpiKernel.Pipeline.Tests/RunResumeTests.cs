using SpiKernel.Cli;
using SpiKernel.Core.Csv;
using SpiKernel.Evaluators.Results;
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
    // (text of a run.log line, milliseconds to wait after it): the kill lands inside that stage's work
    private static readonly (string Line, int DelayMs)[] KillPoints =
    [
        ("[1/8 kernel-study] k3: k = 3", 300), // the sizes train in worker processes too; k3 first (the larger kernel), k1 beside it
        ("[2/8 search] search", 200),
        ("[3/8 select] stage started", 300),
        ("started (3 of 3)", 800), // one candidate trained, one in training, one starting (two worker processes)
        ("[5/8 export] stage started", 600),
        ("[6/8 evaluate] stage started", 500),
        ("[8/8 report] stage started", 0),
    ];

    [Fact]
    public void Should_EndWithTheSameRows_When_TheRunIsKilledAtSevenPointsAndResumed()
    {
        using var data = new TempDir();
        using var work = new TempDir();
        string config = RunFolders.TinyRun(data, work);
        string straight = Path.Combine(work.Path, "straight"), killed = Path.Combine(work.Path, "killed");

        // straight: every candidate trained in the run's own process; killed: in worker processes (two at a time, one
        // thread each as in the straight run), killed with the run at every point, the workers' units included
        string inProcess = RunFolders.WithLocalWorkers(config, 1), workers = RunFolders.WithLocalWorkers(config, 2);
        Assert.Equal(0, Spawn(["run", "--config", inProcess, "--out", straight], straight, kill: null));
        bool first = true;
        foreach ((string Line, int DelayMs) point in KillPoints)
        {
            string[] args = first ? ["run", "--config", workers, "--out", killed] : ["run", "--resume", killed];
            Assert.True(Spawn(args, killed, point) == KilledCode, $"the run finished before reaching '{point.Line}'");
            first = false;
        }
        Assert.Equal(0, Spawn(["run", "--resume", killed], killed, kill: null));

        var a = new RunLayout(straight);
        var b = new RunLayout(killed);
        RunFolders.SameResults(a, b);
        Assert.True(File.Exists(b.ReportHtml));
        string log = File.ReadAllText(b.Log);
        Assert.Contains("[1/8 kernel-study] 2 units on 2 worker processes, 1 thread each", log, StringComparison.Ordinal);
        Assert.Contains("[4/8 train] 3 units on 2 worker processes, 1 thread each", log, StringComparison.Ordinal);
        // the workers' own progress, printed by their console view and relayed through the run's filter (the two
        // processes agree on nothing but this text): a training's start line from each stage, under its unit's name
        Assert.Matches(@"\[1/8 kernel-study\] k[13]: train [0-9a-f]{12}, 1 epoch: started", log);
        Assert.Matches(@"\[4/8 train\] (?<id>[0-9a-f]{12}): train \k<id>, 2 epochs: started", log);
        // the k = 1 network evaluated on one thread: libtorch tried NNPACK for every 1×1 convolution and, where it cannot
        // initialise (as on these hosts), warned each time — the workers' error lines, relayed into run.log
        Assert.DoesNotContain("NNPACK", log, StringComparison.Ordinal);
        Assert.DoesNotContain("worker processes", File.ReadAllText(a.Log), StringComparison.Ordinal);
        Assert.Equal(KillPoints.Length + 2, log.Split("[1/8 kernel-study] stage started").Length); // every invocation started over the chain

        // a run folder moved elsewhere (or seen under another path by a cluster's nodes) keeps every completed stage
        string moved = Path.Combine(work.Path, "elsewhere", "moved");
        Directory.CreateDirectory(Path.GetDirectoryName(moved)!);
        using (var cp = System.Diagnostics.Process.Start("cp", ["-r", straight, moved])) // -r: new file times (an export marker records the checkpoint's content)
        {
            cp.WaitForExit();
            Assert.Equal(0, cp.ExitCode);
        }
        Directory.Delete(straight, recursive: true);
        string results = File.ReadAllText(Path.Combine(moved, "results.csv"));
        (int code, string error) = RunFolders.Finish("merge", moved);
        Assert.True(code == 0, error);
        Assert.Equal(0, RunFolders.Finish("run", "--resume", moved).Code);
        Assert.Equal(results, File.ReadAllText(Path.Combine(moved, "results.csv"))); // nothing measured again
        string resumed = File.ReadAllText(Path.Combine(moved, "run.log"));
        Assert.DoesNotContain("verified on", resumed[resumed.LastIndexOf("[1/8 kernel-study] stage started", StringComparison.Ordinal)..], StringComparison.Ordinal);

        // a resume may change what only the ranking reads: recorded, ranked again, nothing measured again
        (code, error) = RunFolders.Finish("run", "--resume", moved, "--min-accuracy", "0.999");
        Assert.True(code == 0, error);
        Assert.Equal(results, File.ReadAllText(Path.Combine(moved, "results.csv")));
        Assert.Equal(0.999, RunConfigFile.Load(Path.Combine(moved, "run.json")).Target.MinAccuracy);
        Assert.All(CsvFile.ReadAll<RankingRow>(Path.Combine(moved, "ranking.csv")).Where(r => r.Status != RankStatus.Unmeasured),
            r => Assert.Equal(RankStatus.Infeasible, r.Status));
        // a candidate's rows of a file it has replaced since (trained again), and edge rows of its fp32 file from when its
        // int8 file was refused, stay in evaluations/ID.csv but not in results.csv, where they were current
        string own = Directory.GetFiles(Path.Combine(moved, "evaluations"), "*.csv").First(f => !f.EndsWith(".layers.csv", StringComparison.Ordinal));
        List<EvaluationRow> rows = CsvFile.ReadAll<EvaluationRow>(own);
        EvaluationRow cpu = rows.First(r => r.Profile == "cpu" && r.Status == EvaluationStatus.Ok);
        CsvFile.WriteAll(own, [cpu with { BatchSize = 7, ModelSha256 = "0123456789ab", TimestampUtc = "2000-01-01T00:00:00Z" },
            cpu with { Profile = "edge", TimestampUtc = "2000-01-01T00:00:01Z" }, .. rows]);
        string before = File.ReadAllText(Path.Combine(moved, "results.csv"));
        (code, error) = RunFolders.Finish("merge", moved);
        Assert.True(code == 0, error);
        Assert.Equal(before, File.ReadAllText(Path.Combine(moved, "results.csv")));
        Assert.Equal(rows.Count + 2, CsvFile.ReadAll<EvaluationRow>(own).Count);

        // outputs damaged after their stage finished are made again, not passed as complete: candidates.csv two rows short
        // (a torn row deleted by hand: the rows after it were never scored again) and a candidate's checkpoint.json deleted
        string candidates = Path.Combine(moved, "search", SearchRunner.CandidatesFile);
        var scored = CsvFile.ReadAll<CandidateRow>(candidates).Select(c => (c.CandidateId, c.Score)).Order().ToList();
        File.WriteAllLines(candidates, File.ReadAllLines(candidates)[..^2]);
        string[] trainings = [.. Directory.GetDirectories(Path.Combine(moved, "train")).Order(StringComparer.Ordinal)];
        File.Delete(Path.Combine(trainings[0], Trainer.StateFile));
        // and another's metrics.csv cut to its first epoch: it passed as complete, its curves and validation one epoch short
        string metrics = Path.Combine(trainings[1], Trainer.MetricsFile);
        string[] epochs = File.ReadAllLines(metrics);
        File.WriteAllLines(metrics, epochs[..2]);
        (code, error) = RunFolders.Finish("run", "--resume", moved);
        Assert.True(code == 0, error);
        Assert.Equal(scored, CsvFile.ReadAll<CandidateRow>(candidates).Select(c => (c.CandidateId, c.Score)).Order());
        Assert.True(File.Exists(Path.Combine(trainings[0], Trainer.StateFile)));
        Assert.Equal(epochs.Length, File.ReadAllLines(metrics).Length); // trained again, every epoch

        // a figure no measurement gives, in a file of evaluations/, is named there: results.csv, which the run rebuilds from
        // them on every resume, was named, and mending it changed nothing
        List<EvaluationRow> now = CsvFile.ReadAll<EvaluationRow>(own);
        CsvFile.WriteAll(own, [now[0] with { AccuracyTop1 = 2.5 }, .. now.Skip(1)]);
        (code, error) = RunFolders.Finish("run", "--resume", moved);
        Assert.Equal(ExitCodes.InputError, code);
        Assert.Contains($"{own}: row 2, accuracy_top1: 2.5 is not a fraction", error, StringComparison.Ordinal);
        CsvFile.WriteAll(own, now);

        // anything else is another run's configuration
        (code, error) = RunFolders.Finish("run", "--resume", moved, "--epochs", "9");
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("differs in training.epochs", error, StringComparison.Ordinal);
    }

    private const int KilledCode = RunFolders.KilledCode;

    private static int Spawn(string[] args, string runDir, (string Line, int DelayMs)? kill) =>
        RunFolders.Spawn(args, Path.Combine(runDir, "run.log"), kill);
}
