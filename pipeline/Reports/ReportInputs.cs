using SpiKernel.Core.Csv;
using SpiKernel.Evaluators.Results;
using SpiKernel.Models.Search;
using SpiKernel.Pipeline.Ranking;
using SpiKernel.Pipeline.Run;
using SpiKernel.Pipeline.Search;
using SpiKernel.Pipeline.Stages;
using SpiKernel.Pipeline.Training;

namespace SpiKernel.Pipeline.Reports;

/// <summary>The metrics.csv of one train folder.</summary>
/// <param name="CandidateId">The folder's name (train/&lt;candidate_id&gt;/).</param>
/// <param name="Epochs">Its rows.</param>
/// <param name="TestAccuracy">Test accuracy from the folder's checkpoint.json, when training finished.</param>
/// <param name="TestCount">Test images that accuracy is over.</param>
internal sealed record TrainCurve(string CandidateId, IReadOnlyList<EpochMetrics> Epochs, double? TestAccuracy, int? TestCount);

/// <summary>
/// Everything the report reads from a run folder (<see cref="RunLayout"/>); each input is null when its file is not
/// there. A file that is there but is not what it should be (missing columns, values of the wrong type) throws
/// <see cref="InvalidDataException"/> with one line naming the file and what is wrong.
/// </summary>
internal sealed record ReportInputs(
    RunLayout Layout,
    IReadOnlyList<KernelStudyPoint>? KernelStudy,
    IReadOnlyList<CandidateRow>? Candidates,
    IReadOnlyList<SelectionRow>? Selection,
    IReadOnlyList<TrainCurve>? Training,
    IReadOnlyList<EvaluationRow>? Results,
    IReadOnlyList<LayerRow>? Layers,
    IReadOnlyList<RankingRow>? Ranking,
    string? Config)
{
    /// <summary>results.layers.csv beside results.csv.</summary>
    public static string LayersPath(RunLayout layout) => Path.ChangeExtension(layout.Results, ".layers.csv");

    /// <summary>kernel-study/kernel-study.csv.</summary>
    public static string KernelStudyPath(RunLayout layout) => Path.Combine(layout.KernelStudy, KernelStudyStage.CsvFile);

    /// <summary>Every input file that exists (for the report's identity), in a fixed order.</summary>
    public static IEnumerable<string> Files(RunLayout layout)
    {
        ArgumentNullException.ThrowIfNull(layout);
        string[] fixedFiles = [layout.Config, KernelStudyPath(layout), layout.Candidates, layout.Selection, layout.Results, LayersPath(layout), layout.Ranking];
        // each training's metrics.csv and checkpoint.json (its test accuracy is read when selection.csv lacks it)
        IEnumerable<string> metrics = Directory.Exists(layout.Train)
            ? Directory.GetDirectories(layout.Train).Order(StringComparer.Ordinal)
                .SelectMany(d => new[] { Path.Combine(d, Trainer.MetricsFile), Path.Combine(d, Trainer.StateFile) })
            : [];
        return fixedFiles.Concat(metrics).Where(File.Exists);
    }

    /// <summary>Reads the inputs of <paramref name="layout"/>.</summary>
    public static ReportInputs Read(RunLayout layout)
    {
        ArgumentNullException.ThrowIfNull(layout);
        if (File.Exists(layout.Root)) throw new InvalidDataException($"{layout.Root}: a file, not a run folder");
        if (!Directory.Exists(layout.Root)) throw new DirectoryNotFoundException($"{layout.Root}: no such run folder");
        if (!Files(layout).Any())
            throw new InvalidDataException($"{layout.Root}: not a run folder (none of run.json, kernel-study/kernel-study.csv, search/candidates.csv, " +
                "selection.csv, results.csv, ranking.csv or train/*/metrics.csv is there)");
        return new ReportInputs(layout,
            Csv<KernelStudyPoint>(KernelStudyPath(layout), "kernel-study CSV of spikernel explore-kernels", "kernel", "parameters", "accuracy"),
            Csv<CandidateRow>(layout.Candidates, "candidates CSV of spikernel search", "candidate_id", "kernels", "score", "status"),
            Csv<SelectionRow>(layout.Selection, "selection CSV of spikernel run", "candidate_id", "role", "score"),
            ReadTraining(layout),
            ResultsFile.Checked(layout.Results, Csv<EvaluationRow>(layout.Results, ResultsFile.What, [.. ResultsFile.Columns, "latency_p50_ms"])),
            Csv<LayerRow>(LayersPath(layout), "per-layer CSV of spikernel evaluate", "model", "profile", "precision", "layer_index", "layer", "spikes_per_sample"),
            Csv<RankingRow>(layout.Ranking, "ranking CSV of spikernel rank", "model", "profile", "precision", "batch_size", "status", "front", "recommended"),
            File.Exists(layout.Config) ? ConfigText(layout.Config) : null);
    }

    // run.json as written (the effective configuration), once it is known to be JSON
    private static string ConfigText(string path)
    {
        string text = File.ReadAllText(path);
        try
        {
            using (System.Text.Json.JsonDocument.Parse(text)) return text;
        }
        catch (System.Text.Json.JsonException ex)
        {
            throw new InvalidDataException($"{path}: not valid JSON ({ex.Message.Split('.')[0]}); the run's configuration cannot be shown", ex);
        }
    }

    private static List<TrainCurve>? ReadTraining(RunLayout layout)
    {
        if (!Directory.Exists(layout.Train)) return null;
        var curves = new List<TrainCurve>();
        foreach (string dir in Directory.GetDirectories(layout.Train).Order(StringComparer.Ordinal))
        {
            List<EpochMetrics>? rows = Csv<EpochMetrics>(Path.Combine(dir, Trainer.MetricsFile), "metrics CSV of spikernel train", "epoch", "train_loss", "train_accuracy");
            TrainState? state = State(dir);
            // no epoch and no test result (a training that diverged in its first): nothing to draw; a finished training
            // whose metrics.csv is gone or empty stays, without curves, so that the report says so
            if (rows is not { Count: > 0 } && state?.TestAccuracy is null) continue;
            curves.Add(new TrainCurve(Path.GetFileName(dir), rows ?? [], state?.TestAccuracy, state?.TestCount));
        }
        return curves.Count == 0 ? null : curves;
    }

    private static TrainState? State(string dir)
    {
        string state = Path.Combine(dir, Trainer.StateFile);
        return File.Exists(state) ? TrainState.Load(state) : null; // Load names the file when it does not parse
    }

    /// <summary>The rows of <paramref name="path"/>, or null when it does not exist; refuses a file without <paramref name="required"/> columns.</summary>
    private static List<T>? Csv<T>(string path, string what, params string[] required)
    {
        // a run may still be appending to it (or was killed mid-row): a last line without its newline and with fewer
        // fields than the header is a row not yet written whole, left out
        return File.Exists(path) ? CsvFile.ReadCompleteRows<T>(path, what, required) : null;
    }
}
