using SpiKernel.Core.Csv;
using SpiKernel.Evaluators.Results;
using SpiKernel.Models.Architecture;
using SpiKernel.Pipeline.Ranking;
using SpiKernel.Pipeline.Run;
using SpiKernel.Pipeline.Training;

namespace SpiKernel.Pipeline.Tests;

/// <summary>
/// In a run, an int8 file refused for the answers it loses is not fatal: the file and its rows go (on every resume), the
/// int8-first profile measures the fp32 file, and once the weights hold in int8 again the int8 file is back in every table.
/// </summary>
public class RunInt8RefusalTests
{
    // one candidate on 1,000 embedded images (accurate enough that losing its answers is more than rounding), timed on
    // cpu and on edge, which ranks the int8 file
    private const string Config = """
    {
      "data": "embedded",
      "kernel_study": { "enabled": false },
      "search": { "kernel_sets": ["1,3"], "candidates": 2, "batch": 16 },
      "selection": { "top": 1, "controls": 0 },
      "training": { "epochs": 2, "batch_size": 32, "threads": 2, "train_images": 1000 },
      "export": { "verify_images": 64 },
      "evaluation": { "profiles": ["cpu", "edge"], "batch_sizes": [1], "warmup": 1, "repeats": 3, "limit": 40 },
      "target": { "profile": "edge" },
      "ranking": { "objectives": ["accuracy_top1:max", "parameters:min"] }
    }
    """;

    [Fact]
    public void Should_GoOnWithTheFp32FileAndTakeTheInt8FileBack_When_ACandidatesInt8WeightsStopAndStartHoldingIt()
    {
        using var work = new TempDir();
        string config = work.File("run-config.json"), dir = work.File("run");
        File.WriteAllText(config, Config);
        Resume(["run", "--config", config, "--out", dir]);
        var layout = new RunLayout(dir);
        SelectionRow trained = Assert.Single(CsvFile.ReadAll<SelectionRow>(layout.Selection), s => s.Status == SelectionStatus.Trained);
        string id = trained.CandidateId, int8 = layout.Int8Model(id), weights = Trainer.CommittedWeights(layout.TrainFolder(id));
        Assert.Equal(["int8"], EdgePrecisions(layout, id));
        byte[] held = File.ReadAllBytes(weights), oldInt8 = File.ReadAllBytes(int8);
        string[] oldRows = File.ReadAllLines(layout.Evaluation(id));

        // weights whose int8 form loses the answers: the resume exports again, refuses the int8 file and goes on without it
        Int8RefusalTests.Unholdable(SnnArchitecture.Parse(trained.Architecture), weights);
        Resume(["run", "--resume", dir]);
        Assert.False(File.Exists(int8));
        Assert.Contains($"{Path.GetFileName(int8)} not kept: ", File.ReadAllText(layout.Log), StringComparison.Ordinal);
        Assert.Equal(["fp32"], EdgePrecisions(layout, id));
        Assert.DoesNotContain(CsvFile.ReadAll<EvaluationRow>(layout.Evaluation(id)), r => r.Precision == "int8");
        Assert.Contains(CsvFile.ReadAll<RankingRow>(layout.Ranking), r => r.Profile == "edge" && r.CandidateId == id && r.Status != RankStatus.Unmeasured);

        // an older int8 file of that name and its rows (a kill before the withdrawal finished): removed on the next resume
        File.WriteAllBytes(int8, oldInt8);
        File.WriteAllLines(layout.Evaluation(id), oldRows);
        Resume(["run", "--resume", dir]);
        Assert.False(File.Exists(int8));
        Assert.Equal(["fp32"], EdgePrecisions(layout, id));
        Assert.DoesNotContain(CsvFile.ReadAll<EvaluationRow>(layout.Evaluation(id)), r => r.Precision == "int8");

        // the weights that hold again: the int8 file is exported and measured again, and edge ranks it, not the fp32 file
        File.WriteAllBytes(weights, held);
        Resume(["run", "--resume", dir]);
        Assert.True(File.Exists(int8));
        Assert.Equal(["int8"], EdgePrecisions(layout, id));

        // rows of the same file measured on GPU 0 and GPU 1 (evaluate --device-id) are two measurements to the merge
        List<EvaluationRow> own = CsvFile.ReadAll<EvaluationRow>(layout.Evaluation(id));
        EvaluationRow cpu = own.First(r => r.Profile == "cpu" && r.Status == EvaluationStatus.Ok);
        EvaluationRow gpu = cpu with { Profile = "cuda", Provider = "CUDAExecutionProvider" };
        CsvFile.WriteAll(layout.Evaluation(id), [.. own, gpu, gpu with { DeviceId = 1 }]);
        (int code, string error) = RunFolders.Finish("merge", dir);
        Assert.True(code == 0, error);
        Assert.Equal(2, CsvFile.ReadAll<EvaluationRow>(layout.Results).Count(r => r.CandidateId == id && r.Profile == "cuda"));
    }

    private static void Resume(string[] args)
    {
        (int code, string error) = RunFolders.Finish(args);
        Assert.True(code == 0, $"spikernel {string.Join(' ', args)} exited {code}: {error}");
    }

    // the precisions of the candidate's edge rows in results.csv
    private static string[] EdgePrecisions(RunLayout layout, string id) =>
        [.. CsvFile.ReadAll<EvaluationRow>(layout.Results).Where(r => r.CandidateId == id && r.Profile == "edge").Select(r => r.Precision).Distinct()];
}
