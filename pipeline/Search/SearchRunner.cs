using SpiKernel.Core;
using SpiKernel.Core.Csv;
using System.Diagnostics;
using System.Globalization;
using SpiKernel.Models.Architecture;
using SpiKernel.Models.Network;
using SpiKernel.Models.Search;
using SpiKernel.Pipeline.Data;
using SpiKernel.Pipeline.ScaleOut;
using SpiKernel.Pipeline.Training;
using static TorchSharp.torch;

namespace SpiKernel.Pipeline.Search;

/// <summary>Settings of one training-free search.</summary>
/// <param name="KernelSets">The sets searched, each under the same budget and on the same batches.</param>
/// <param name="Cell">Forward or backward cells.</param>
/// <param name="Candidates">Distinct candidates per kernel set (duplicates are drawn again, up to <see cref="SearchRunner.DrawsPerCandidate"/> draws per candidate).</param>
/// <param name="BudgetParameters">Candidates above this many parameters are rejected before anything is built.</param>
/// <param name="Batch">Images per score batch (SNASNet: 256; 64 keeps CPU searches quick).</param>
/// <param name="Repeat">Score batches averaged (SNASNet: 2).</param>
/// <param name="Top">Architectures written as files per kernel set.</param>
/// <param name="Seed">Seeds sampling, the batches and every candidate's initial weights.</param>
/// <param name="Method">How the score's Hamming distances are computed; both give the same scores to the last bit.</param>
public sealed record SearchOptions(
    IReadOnlyList<(string Name, KernelSet Set)> KernelSets,
    CellKind Cell = CellKind.Backward,
    int Candidates = 200,
    long BudgetParameters = 10_000_000,
    int Batch = 64,
    int Repeat = 2,
    int Top = 5,
    int Seed = 1,
    SahdMethod Method = SahdMethod.Gram);

/// <summary>What a search produced.</summary>
public sealed record SearchResult(IReadOnlyList<CandidateRow> Rows, double Seconds, int Duplicates, string OutputDirectory,
    IReadOnlyList<string>? Exhausted = null);

/// <summary>One candidate of a search: the architecture and the kernel set it was drawn for.</summary>
internal sealed record SearchUnit(SnnArchitecture Architecture, string KernelSetName);

/// <summary>The candidates of a search before any is scored.</summary>
/// <param name="Units">Distinct candidates in their fixed order (the order shards split).</param>
/// <param name="Duplicates">Draws dropped because the pruned cell was already drawn.</param>
/// <param name="Exhausted">Kernel sets whose space ran out of distinct cells, with counts.</param>
internal sealed record SearchPlan(IReadOnlyList<SearchUnit> Units, int Duplicates, IReadOnlyList<string> Exhausted);

// Tensors in search: the fixed score batches are made once, outside any dispose scope, and disposed when Run ends (their
// labels at once); each candidate's network is disposed after scoring, and SahdScore scopes every forward.
/// <summary>
/// SpiKernel step 3: samples cells for each kernel set, drops duplicates (same pruned cell and set) and candidates over
/// the parameter budget before building anything, scores the rest with the SAHD score on the same fixed batches, and
/// writes <c>candidates.csv</c> (rows appended as they are scored) and the top architectures as files.
/// </summary>
internal static class SearchRunner
{
    /// <summary>Candidate rows, appended and flushed one by one.</summary>
    public const string CandidatesFile = "candidates.csv";

    /// <summary>Draws allowed per requested candidate before a set's space counts as exhausted (small spaces, e.g. {1}).</summary>
    public const int DrawsPerCandidate = 50;

    /// <summary>Runs the search with macro knobs from <paramref name="template"/> (its cell and kernels are replaced).</summary>
    /// <param name="resume">Keep the rows already in candidates.csv (an interrupted search) and score only the cells not there.</param>
    public static SearchResult Run(SnnArchitecture template, ImageDataset train, SearchOptions o, string outDir,
        IProgressObserver? observer = null, CancellationToken cancel = default, bool resume = false)
    {
        var sw = Stopwatch.StartNew();
        SearchPlan plan = Plan(template, o);
        Directory.CreateDirectory(outDir);
        List<CandidateRow> rows = Score(plan, Shard.All, train, o, Path.Combine(outDir, CandidatesFile), observer, cancel, resume);
        return Finish(rows, plan, o, outDir, sw.Elapsed.TotalSeconds);
    }

    /// <summary>
    /// The distinct candidates of a search in the order every shard splits: per kernel set, cells as the seeded sampler
    /// draws them, duplicates (same pruned cell) dropped. Nothing is built; this takes milliseconds.
    /// </summary>
    public static SearchPlan Plan(SnnArchitecture template, SearchOptions o)
    {
        Validate(template, o);
        var units = new List<SearchUnit>();
        var exhausted = new List<string>();
        int duplicates = 0;
        for (int s = 0; s < o.KernelSets.Count; s++)
        {
            (string name, KernelSet set) = o.KernelSets[s];
            var rng = new Random(Trainer.DeriveSeed(o.Seed, s, 7));
            var seen = new HashSet<string>(StringComparer.Ordinal);
            for (int draw = 0; seen.Count < o.Candidates && draw < o.Candidates * DrawsPerCandidate; draw++)
            {
                CellTopology cell = CellSampler.Sample(rng, set, o.Cell);
                if (seen.Add(cell.ToString())) units.Add(new SearchUnit(template with { Cell = cell, Kernels = set }, name));
                else duplicates++;
            }
            if (seen.Count < o.Candidates) exhausted.Add($"{name}: {seen.Count} distinct cells in {o.Candidates * DrawsPerCandidate} draws");
        }
        return new SearchPlan(units, duplicates, exhausted);
    }

    /// <summary>
    /// Scores the units of <paramref name="plan"/> that <paramref name="shard"/> owns, appending each row to
    /// <paramref name="path"/> as it is known; with <paramref name="resume"/>, rows already there are kept, not scored again.
    /// </summary>
    /// <returns>The shard's rows in unit order.</returns>
    public static List<CandidateRow> Score(SearchPlan plan, Shard shard, ImageDataset train, SearchOptions o, string path,
        IProgressObserver? observer, CancellationToken cancel, bool resume)
    {
        ArgumentNullException.ThrowIfNull(plan);
        if ((long)o.Batch * o.Repeat > train.Count)
            throw new SettingsException($"{o.Repeat} score batches of {o.Batch} images need {o.Batch * o.Repeat} training images; {train.Name} has {train.Count}.");
        SearchUnit[] owned = shard.Select(plan.Units);
        observer ??= NullProgress.Instance;
        observer.Begin(shard.Count == 1 ? "search" : $"search shard {shard}", owned.Length);
        Dictionary<string, CandidateRow> done = resume
            ? CsvFile.ReadLog<CandidateRow>(path).GroupBy(r => r.CandidateId).ToDictionary(g => g.Key, g => g.Last())
            : [];
        Tensor[] batches = FixedBatches(train, o);
        var sw = Stopwatch.StartNew();
        var rows = new List<CandidateRow>();
        int scored = 0;
        try
        {
            using var log = new CsvLog<CandidateRow>(path, append: done.Count > 0);
            foreach (SearchUnit unit in owned)
            {
                cancel.ThrowIfCancellationRequested();
                CandidateRow row;
                // a failed score (out of memory, a libtorch error) is tried again; scored and over-budget rows stand
                if (done.TryGetValue(unit.Architecture.CandidateId, out CandidateRow? earlier) && earlier.Status != CandidateStatus.Failed) row = earlier with { Rank = null };
                else log.Append(row = Evaluate(unit.Architecture, unit.KernelSetName, batches, o));
                rows.Add(row);
                if (row.Status == CandidateStatus.Scored) scored++;
                observer.Advance(rows.Count, string.Create(CultureInfo.InvariantCulture,
                    $"search  {scored} scored  {scored / Math.Max(sw.Elapsed.TotalSeconds, 1e-9):F2} cand/s"));
            }
        }
        finally
        {
            foreach (Tensor b in batches) b.Dispose();
        }
        return rows;
    }

    /// <summary>Ranks every unit's row, rewrites candidates.csv in rank order and writes the top architectures.</summary>
    public static SearchResult Finish(List<CandidateRow> rows, SearchPlan plan, SearchOptions o, string outDir, double seconds)
    {
        ArgumentNullException.ThrowIfNull(plan);
        List<CandidateRow> ranked = Rank(rows);
        CsvFile.WriteAll(Path.Combine(outDir, CandidatesFile), ranked);
        WriteTop(ranked, o, outDir);
        return new SearchResult(ranked, seconds, plan.Duplicates, outDir, plan.Exhausted);
    }

    private static CandidateRow Evaluate(SnnArchitecture arch, string setName, Tensor[] batches, SearchOptions o)
    {
        var row = new CandidateRow
        {
            CandidateId = arch.CandidateId,
            Architecture = arch.ToString(),
            Kernels = arch.Kernels.ToString(),
            KernelSetName = setName,
            CellType = arch.EffectiveCell.IsBackward ? "backward" : "forward",
            Cell = arch.Cell.ToString(),
            Parameters = arch.ParameterCount(),
            Macs = arch.MacCount(),
        };
        if (row.Parameters > o.BudgetParameters)
            return row with { Status = CandidateStatus.OverBudget, Reason = string.Create(CultureInfo.InvariantCulture, $"{row.Parameters:N0} parameters exceed the budget of {o.BudgetParameters:N0}") };
        var sw = Stopwatch.StartNew();
        try
        {
            manual_seed(o.Seed);
            using var net = new SpikingNetwork(arch);
            double score = SahdScore.Score(net, batches, o.Method);
            return row with { Score = score, Status = CandidateStatus.Scored, Seconds = sw.Elapsed.TotalSeconds };
        }
        // what one candidate can meet: a singular or non-finite score, this machine's memory, a libtorch error; anything
        // else is a bug and stops the search rather than marking every candidate failed
        catch (Exception ex) when (ex is ArithmeticException or OutOfMemoryException or System.Runtime.InteropServices.ExternalException)
        {
            return row with { Status = CandidateStatus.Failed, Reason = ex.Message.ReplaceLineEndings(" "), Seconds = sw.Elapsed.TotalSeconds };
        }
        finally
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
    }

    /// <summary>Scored rows first by descending score (ties: fewer parameters, then text), then the others.</summary>
    internal static List<CandidateRow> Rank(List<CandidateRow> rows)
    {
        List<CandidateRow> scored = rows.Where(r => r.Status == CandidateStatus.Scored)
            .OrderByDescending(r => r.Score).ThenBy(r => r.Parameters).ThenBy(r => r.Architecture, StringComparer.Ordinal)
            .Select((r, i) => r with { Rank = i + 1 }).ToList();
        return [.. scored, .. rows.Where(r => r.Status != CandidateStatus.Scored)];
    }

    private static void WriteTop(List<CandidateRow> ranked, SearchOptions o, string outDir)
    {
        string dir = Path.Combine(outDir, "top");
        Directory.CreateDirectory(dir);
        foreach (string old in Directory.GetFiles(dir, "*.arch.txt")) File.Delete(old); // an earlier search's lists would stay beside these
        foreach (IGrouping<string, CandidateRow> group in ranked.Where(r => r.Rank is not null).GroupBy(r => r.KernelSetName))
        {
            int k = 1;
            foreach (CandidateRow r in group.Take(o.Top))
                File.WriteAllText(Path.Combine(dir, $"{Safe(group.Key)}-{k++}.arch.txt"), r.Architecture + Environment.NewLine);
        }
    }

    private static string Safe(string name) => string.Concat(name.Select(c => char.IsLetterOrDigit(c) ? c : '_'));

    /// <summary>The score batches: <see cref="SearchOptions.Repeat"/> seeded draws of training images, prepared once.</summary>
    private static Tensor[] FixedBatches(ImageDataset train, SearchOptions o)
    {
        var rng = new Random(Trainer.DeriveSeed(o.Seed, 0, 11));
        int[] order = Enumerable.Range(0, train.Count).ToArray();
        rng.Shuffle(order);
        var batches = new Tensor[o.Repeat];
        for (int r = 0; r < o.Repeat; r++)
        {
            (Tensor x, Tensor y) = BatchLoader.Load(train, order.AsSpan(r * o.Batch, o.Batch).ToArray());
            y.Dispose();
            batches[r] = x.DetachFromDisposeScope();
        }
        return batches;
    }

    /// <summary>
    /// Refuses one set listed twice (as written, or its sizes in another order), naming the setting <paramref name="key"/>
    /// and how each was written: it would draw its cells twice, under one candidate id each.
    /// </summary>
    internal static void RefuseRepeatedSets(string key, IEnumerable<(string Written, KernelSet Set)> sets)
    {
        if (sets.GroupBy(k => k.Set).FirstOrDefault(g => g.Count() > 1) is { } twice)
            throw new SettingsException($"{key}: {{{twice.Key}}} is listed {twice.Count()} times ({string.Join(", ", twice.Select(k => $"'{k.Written}'"))}); list each set once");
    }

    /// <summary>Checks the settings against the template; throws <see cref="ArgumentException"/> with a sentence.</summary>
    public static void Validate(SnnArchitecture template, SearchOptions o)
    {
        if (o.KernelSets.Count == 0) throw new SettingsException("Name at least one kernel set (--kernels).");
        RefuseRepeatedSets("--kernels", o.KernelSets);
        // one name twice, or two names that make one file name (k-3, k_3), would merge two sets' top lists
        if (o.KernelSets.GroupBy(k => Safe(k.Name), StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } named)
            throw new SettingsException(named.Select(k => k.Name).Distinct().Count() == 1
                ? $"--kernels: the name '{named.First().Name}' is given to {named.Count()} sets ({string.Join(", ", named.Select(k => $"{{{k.Set}}}"))}); name each set once"
                : $"--kernels: the names {string.Join(" and ", named.Select(k => $"'{k.Name}'"))} both make the file names top/{named.Key}-N.arch.txt; rename one");
        if (o.Candidates < 1) throw new SettingsException($"--candidates must be at least 1 (got {o.Candidates}).");
        if (o.Batch < 2) throw new SettingsException($"--batch must be at least 2: the score compares images with each other (got {o.Batch}).");
        if (o.Repeat < 1) throw new SettingsException($"--repeat must be at least 1 (got {o.Repeat}).");
        if (o.Top < 1) throw new SettingsException($"--top must be at least 1 (got {o.Top}).");
        long smallest = (template with { Cell = CellTopology.Parse("0001 0000 0000 0000") }).ParameterCount();
        if (o.BudgetParameters < smallest)
            throw new SettingsException(string.Create(CultureInfo.InvariantCulture, $"A budget of {o.BudgetParameters:N0} parameters is below the smallest network of this macro configuration ({smallest:N0}, a skip-only cell); raise --budget-params or shrink the network."));
    }
}
