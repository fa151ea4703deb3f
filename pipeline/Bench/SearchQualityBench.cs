using SpiKernel.Core;
using SpiKernel.Core.Csv;
using SpiKernel.Models.Architecture;
using SpiKernel.Models.Search;
using SpiKernel.Pipeline.Data;
using SpiKernel.Pipeline.Search;
using SpiKernel.Pipeline.Stages;
using SpiKernel.Pipeline.Training;

namespace SpiKernel.Pipeline.Bench;

/// <summary>Settings of <see cref="SearchQualityBench"/>.</summary>
/// <param name="Template">Macro network and LIF settings; each candidate replaces its cell and kernel set.</param>
/// <param name="OutputDirectory">Folder of quality.csv, search/ and one run folder per candidate (rank{N}).</param>
/// <param name="Candidates">Candidates scored and then trained (≥ 2).</param>
/// <param name="Epochs">Training epochs per candidate (≥ 1).</param>
/// <param name="Kernels">Kernel set (list or shipped name).</param>
/// <param name="Cell">Forward or backward cells.</param>
/// <param name="Data">Images to score and train on; null: the embedded Fashion-MNIST data.</param>
internal sealed record SearchQualityBenchOptions(SnnArchitecture Template, string OutputDirectory, int Candidates = 12, int Epochs = 2,
    string Kernels = "snasnet", CellKind Cell = CellKind.Backward, DataSplit? Data = null);

/// <summary>One scored and trained candidate: a row of quality.csv.</summary>
/// <param name="CandidateId">The architecture's id, the join key of every CSV.</param>
/// <param name="Rank">1 = highest score.</param>
/// <param name="Cell">The cell.</param>
/// <param name="Parameters">Trainable parameters.</param>
/// <param name="Score">The search score.</param>
/// <param name="TestAccuracy">Test accuracy (0–1) after the epochs.</param>
internal sealed record QualityRow(string CandidateId, int Rank, string Cell, long Parameters, double Score, double TestAccuracy);

/// <summary>What <see cref="SearchQualityBench"/> found.</summary>
/// <param name="Rows">The trained candidates in rank order (as in quality.csv).</param>
/// <param name="KendallTau">Kendall's τ-b between score and test accuracy.</param>
/// <param name="TopScoredAccuracy">Test accuracy of the rank-1 candidate.</param>
/// <param name="MedianAccuracy">Median test accuracy of the sample.</param>
/// <param name="BestAccuracy">Best test accuracy of the sample.</param>
/// <param name="Epochs">Training epochs per candidate.</param>
/// <param name="QualityFile">Path of quality.csv.</param>
internal sealed record SearchQualityBenchResult(IReadOnlyList<QualityRow> Rows, double KendallTau, double TopScoredAccuracy,
    double MedianAccuracy, double BestAccuracy, int Epochs, string QualityFile);

/// <summary>
/// <c>bench search-quality</c>: does the score find good networks? Scores a sample of candidates, trains each briefly,
/// and relates score to test accuracy (Kendall's τ, the top-scored candidate against the median).
/// </summary>
internal static class SearchQualityBench
{
    /// <summary>The rows file in the output folder.</summary>
    public const string QualityFile = "quality.csv";

    /// <summary>Search into OutputDirectory/search, then one training run per scored candidate into OutputDirectory/rank{N}.</summary>
    public static SearchQualityBenchResult Run(SearchQualityBenchOptions options, IProgressObserver progress, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(progress);
        (int n, int e, string output) = (options.Candidates, options.Epochs, options.OutputDirectory);
        if (n < 2 || e < 1) throw new SettingsException("--candidates must be at least 2 and --epochs at least 1.");
        DataSplit data = options.Data ?? FashionMnist.LoadEmbedded();
        Trainer.CheckCompatible(options.Template, data.Train); // a network that does not take the data is a setting, not a failed score per candidate
        OutputFolder.EnsureWritable(output);
        KernelSet set = KernelSets.Resolve(options.Kernels);
        var searchOptions = new SearchOptions([(options.Kernels, set)], options.Cell, n, Batch: 64, Repeat: 2, Top: 1, Seed: 1);
        SearchResult search = SearchRunner.Run(options.Template, data.Train, searchOptions, Path.Combine(output, "search"), progress, cancel);
        var rows = new List<QualityRow>();
        foreach (CandidateRow c in search.Rows.Where(x => x.Status == CandidateStatus.Scored))
        {
            SnnArchitecture arch = SnnArchitecture.Parse(c.Architecture);
            TrainResult t = Trainer.Run(arch, data, new TrainOptions(Epochs: e, ValidationFraction: 0), Path.Combine(output, $"rank{c.Rank}"),
                observer: progress, cancel: cancel);
            rows.Add(new QualityRow(c.CandidateId, c.Rank!.Value, c.Cell, c.Parameters, c.Score!.Value, t.TestAccuracy));
        }
        if (rows.Count == 0)
            throw new InvalidDataException($"no candidate was scored, so none was trained (first: {search.Rows.Select(r => $"{CsvFormat.Word(r.Status)}: {r.Reason}").FirstOrDefault() ?? "none sampled"}); see {Path.Combine(output, "search", SearchRunner.CandidatesFile)}");
        string qualityFile = Path.Combine(output, QualityFile);
        CsvFile.WriteAll(qualityFile, rows);
        double tau = SearchQuality.KendallTau(rows.Select(r => r.Score).ToArray(), rows.Select(r => r.TestAccuracy).ToArray());
        double median = SearchQuality.Median(rows.Select(r => r.TestAccuracy));
        double top = rows.First(r => r.Rank == 1).TestAccuracy;
        return new SearchQualityBenchResult(rows, tau, top, median, rows.Max(r => r.TestAccuracy), e, qualityFile);
    }
}
