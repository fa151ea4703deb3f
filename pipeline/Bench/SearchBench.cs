using SpiKernel.Core;
using SpiKernel.Models.Architecture;
using SpiKernel.Models.Search;
using SpiKernel.Pipeline.Data;
using SpiKernel.Pipeline.Search;

namespace SpiKernel.Pipeline.Bench;

/// <summary>Settings of <see cref="SearchBench"/>.</summary>
/// <param name="Candidates">Candidates scored per kernel set and cell kind (≥ 1).</param>
/// <param name="Rounds">Pairs of searches (reference and Gram, the order alternating) per kernel set and cell kind (≥ 1).</param>
internal sealed record SearchBenchOptions(int Candidates = 12, int Rounds = 3);

/// <summary>One search of <see cref="SearchBench"/>.</summary>
/// <param name="KernelSet">The kernel set, e.g. 1,3.</param>
/// <param name="Cell">Forward or backward cells.</param>
/// <param name="Method">How the score's Hamming distances were computed.</param>
/// <param name="Scored">Candidates scored (over all rounds).</param>
/// <param name="Seconds">Seconds of the searches (over all rounds).</param>
/// <param name="CandidatesPerSecond">Scored candidates per second, over all rounds.</param>
/// <param name="MedianSecondsPerCandidate">Median seconds of a scored candidate; null when none was scored.</param>
/// <param name="SameScores">Whether every candidate scored exactly as in the other method's search (the reference row: true).</param>
/// <param name="VsReference">Median over the rounds of candidates/s over the reference search's of the same round (the
/// two back to back, the order alternating); null on the reference row, or when a search scored nothing.</param>
internal sealed record SearchBenchRow(string KernelSet, CellKind Cell, SahdMethod Method, int Scored, double Seconds, double CandidatesPerSecond,
    double? MedianSecondsPerCandidate, bool SameScores, double? VsReference);

/// <summary>What <see cref="SearchBench"/> measured.</summary>
/// <param name="Rows">Per kernel set ({1,3}, {1,3,5,7}) × cell kind (forward, backward): the reference search's row, then the Gram search's.</param>
internal sealed record SearchBenchResult(IReadOnlyList<SearchBenchRow> Rows);

/// <summary>
/// <c>bench search</c>: scored candidates per second for the small Fashion-MNIST network family (C=32, hidden 256,
/// T=5, batch 64, repeat 2) with kernel sets {1,3} and {1,3,5,7}; each search writes into a temporary folder, deleted after.
/// Every search runs in rounds (after an untimed pair of its set and cell kind): the reference score (two float64
/// products, the anchor) and the Gram score back to back, the order alternating; the ratio is the median of the rounds'
/// ratios, each measured under the same load. The scores must agree exactly.
/// </summary>
internal static class SearchBench
{
    /// <summary>The kernel sets searched.</summary>
    public static readonly IReadOnlyList<string> KernelSets = ["1,3", "1,3,5,7"];

    /// <summary>Runs the four searches.</summary>
    public static SearchBenchResult Run(SearchBenchOptions options, IProgressObserver progress, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(progress);
        int n = options.Candidates;
        if (n < 1) throw new SettingsException("--candidates must be at least 1.");
        if (options.Rounds < 1) throw new SettingsException("--rounds must be at least 1.");
        ImageDataset train = FashionMnist.LoadEmbedded().Train;
        var rows = new List<SearchBenchRow>();
        foreach (string set in KernelSets)
        {
            foreach (CellKind kind in new[] { CellKind.Forward, CellKind.Backward })
            {
                // the first search of a set and cell kind pays for its kernel sizes' first calls: one untimed per score first
                foreach (SahdMethod warm in new[] { SahdMethod.Reference, SahdMethod.Gram })
                    _ = Search(train, set, kind, warm, 1, NullProgress.Instance, cancel);
                var runs = new Dictionary<SahdMethod, List<SearchResult>> { [SahdMethod.Reference] = [], [SahdMethod.Gram] = [] };
                var ratios = new List<double>();
                for (int round = 0; round < options.Rounds; round++)
                {
                    // the order alternates, so neither always runs on a machine the other warmed; the ratio is this round's
                    SahdMethod[] order = round % 2 == 0 ? [SahdMethod.Reference, SahdMethod.Gram] : [SahdMethod.Gram, SahdMethod.Reference];
                    foreach (SahdMethod m in order) runs[m].Add(Search(train, set, kind, m, n, progress, cancel));
                    double reference = Rate([runs[SahdMethod.Reference][^1]]), gram = Rate([runs[SahdMethod.Gram][^1]]);
                    if (reference > 0 && gram > 0) ratios.Add(gram / reference);
                }
                SearchResult first = runs[SahdMethod.Reference][0];
                bool same = runs.Values.SelectMany(r => r).All(r => r.Rows.Select(x => x.Score).SequenceEqual(first.Rows.Select(x => x.Score)));
                foreach (SahdMethod m in new[] { SahdMethod.Reference, SahdMethod.Gram })
                {
                    double[] each = runs[m].SelectMany(r => r.Rows).Where(x => x.Status == CandidateStatus.Scored).Select(x => x.Seconds).ToArray();
                    rows.Add(new SearchBenchRow(set, kind, m, each.Length, runs[m].Sum(r => r.Seconds), Rate(runs[m]), each.Length == 0 ? null : SearchQuality.Median(each),
                        m == SahdMethod.Reference || same, m == SahdMethod.Reference || ratios.Count == 0 ? null : SearchQuality.Median([.. ratios])));
                }
            }
        }
        return new SearchBenchResult(rows);
    }

    // scored candidates per second over searches
    private static double Rate(IReadOnlyList<SearchResult> results) =>
        results.Sum(r => r.Seconds) is var seconds and > 0 ? results.Sum(r => r.Rows.Count(x => x.Status == CandidateStatus.Scored)) / seconds : 0;

    private static SearchResult Search(ImageDataset train, string set, CellKind kind, SahdMethod method, int n, IProgressObserver progress, CancellationToken cancel)
    {
        string dir = Directory.CreateTempSubdirectory("spikernel-bench-search-").FullName;
        try
        {
            var search = new SearchOptions([(set, KernelSet.Parse(set))], kind, Candidates: n, Batch: 64, Repeat: 2, Top: 1, Seed: 1, Method: method);
            return SearchRunner.Run(SnnArchitecture.FashionMnistSmall, train, search, dir, progress, cancel);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
