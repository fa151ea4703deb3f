using SpiKernel.Core;
using SpiKernel.Models.Architecture;
using SpiKernel.Models.Search;
using SpiKernel.Pipeline.Data;
using SpiKernel.Pipeline.Search;

namespace SpiKernel.Pipeline.Bench;

/// <summary>Settings of <see cref="SearchBench"/>.</summary>
/// <param name="Candidates">Candidates scored per kernel set and cell kind (≥ 1).</param>
internal sealed record SearchBenchOptions(int Candidates = 12);

/// <summary>One search of <see cref="SearchBench"/>.</summary>
/// <param name="KernelSet">The kernel set, e.g. 1,3.</param>
/// <param name="Cell">Forward or backward cells.</param>
/// <param name="Method">How the score's Hamming distances were computed.</param>
/// <param name="Scored">Candidates scored.</param>
/// <param name="Seconds">Seconds of the whole search.</param>
/// <param name="CandidatesPerSecond">Scored candidates per second.</param>
/// <param name="MedianSecondsPerCandidate">Median seconds of a scored candidate; null when none was scored.</param>
/// <param name="SameScores">Whether every candidate scored exactly as in the other method's search (the reference row: true).</param>
/// <param name="VsReference">Candidates/s over the reference search's of the same set and cell kind (same run, back to
/// back); null on the reference row.</param>
internal sealed record SearchBenchRow(string KernelSet, CellKind Cell, SahdMethod Method, int Scored, double Seconds, double CandidatesPerSecond,
    double? MedianSecondsPerCandidate, bool SameScores, double? VsReference);

/// <summary>What <see cref="SearchBench"/> measured.</summary>
/// <param name="Rows">Per kernel set ({1,3}, {1,3,5,7}) × cell kind (forward, backward): the reference search's row, then the Gram search's.</param>
internal sealed record SearchBenchResult(IReadOnlyList<SearchBenchRow> Rows);

/// <summary>
/// <c>bench search</c>: scored candidates per second for the small Fashion-MNIST network family (C=32, hidden 256,
/// T=5, batch 64, repeat 2) with kernel sets {1,3} and {1,3,5,7}; each search writes into a temporary folder, deleted after.
/// Every search runs twice back to back, with the reference score (two float64 products, the anchor) and the Gram
/// score, in alternating order, so the ratio is measured under the same load; the scores must agree exactly.
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
        ImageDataset train = FashionMnist.LoadEmbedded().Train;
        var rows = new List<SearchBenchRow>();
        // the process's first search pays for loading and first-call costs: one untimed search per score first
        foreach (SahdMethod warm in new[] { SahdMethod.Reference, SahdMethod.Gram })
            _ = Search(train, KernelSets[0], CellKind.Forward, warm, 1, NullProgress.Instance, cancel);
        for (int s = 0; s < KernelSets.Count; s++)
        {
            string set = KernelSets[s];
            foreach (CellKind kind in new[] { CellKind.Forward, CellKind.Backward })
            {
                // alternate which goes first over set and cell kind, so neither always runs on a machine the other warmed
                SahdMethod[] order = (s + (kind == CellKind.Backward ? 1 : 0)) % 2 == 0 ? [SahdMethod.Reference, SahdMethod.Gram] : [SahdMethod.Gram, SahdMethod.Reference];
                var results = order.ToDictionary(m => m, m => Search(train, set, kind, m, n, progress, cancel));
                IEnumerable<double?> Scores(SahdMethod m) => results[m].Rows.Select(x => x.Score);
                bool same = Scores(SahdMethod.Reference).SequenceEqual(Scores(SahdMethod.Gram));
                double Rate(SahdMethod m) => results[m].Rows.Count(x => x.Status == CandidateStatus.Scored) / results[m].Seconds;
                foreach (SahdMethod m in new[] { SahdMethod.Reference, SahdMethod.Gram })
                {
                    SearchResult result = results[m];
                    double[] each = result.Rows.Where(x => x.Status == CandidateStatus.Scored).Select(x => x.Seconds).ToArray();
                    rows.Add(new SearchBenchRow(set, kind, m, each.Length, result.Seconds, Rate(m), each.Length == 0 ? null : SearchQuality.Median(each),
                        m == SahdMethod.Reference || same, m == SahdMethod.Reference ? null : Rate(m) / Rate(SahdMethod.Reference)));
                }
            }
        }
        return new SearchBenchResult(rows);
    }

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
