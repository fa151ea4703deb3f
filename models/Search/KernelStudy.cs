using SpiKernel.Models.Architecture;

namespace SpiKernel.Models.Search;

/// <summary>One size's result in the kernel-size study (SpiKernel step 1).</summary>
/// <param name="CandidateId">The studied architecture's id.</param>
/// <param name="Kernel">The kernel size every cell convolution used.</param>
/// <param name="Parameters">Trainable parameters.</param>
/// <param name="Macs">Multiply-accumulates per image over all timesteps.</param>
/// <param name="Accuracy">Test accuracy after the study's training.</param>
/// <param name="TrainSeconds">Training time (sizes trained side by side share the cores).</param>
/// <param name="ValAccuracy">Accuracy on the training's validation split (null without one): what the proposals use, so
/// the test images that later judge the searched networks do not also choose the sizes they are built from.</param>
/// <param name="ValSamples">Validation images <paramref name="ValAccuracy"/> is over (null when not recorded).</param>
/// <param name="TestSamples">Test images <paramref name="Accuracy"/> is over (null when not recorded).</param>
/// <param name="ValPairedP">Two-sided p-value of McNemar's test between this size and the size of the best
/// validation accuracy, image by image on the same validation images (null for that size, or without the per-image
/// record of checkpoints of earlier versions).</param>
/// <param name="Status">Whether the size trained or its training diverged (then no accuracy: <paramref name="Accuracy"/>
/// is NaN, and the proposals leave the size out).</param>
/// <param name="Reason">Why a size diverged (where, at which learning rate); empty when it trained.</param>
public sealed record KernelStudyPoint(string CandidateId, int Kernel, long Parameters, long Macs, double Accuracy, double TrainSeconds,
    double? ValAccuracy = null, int? ValSamples = null, int? TestSamples = null, double? ValPairedP = null,
    KernelStudyStatus Status = KernelStudyStatus.Trained, string Reason = "");

/// <summary>What became of one size of the kernel-size study.</summary>
public enum KernelStudyStatus
{
    /// <summary>Trained: its accuracies are the study's evidence.</summary>
    Trained,

    /// <summary>Its training diverged (a loss or weight not a finite number): no accuracy, left out of the proposals.</summary>
    Diverged,
}

/// <summary>A kernel set proposed from a study (SpiKernel step 2), with the reason in one line.</summary>
public sealed record ProposedSet(string Name, KernelSet Set, string Why);

/// <summary>SpiKernel steps 1 and 2: the single-size variants of a cell, and kernel sets derived from their results.</summary>
public static class KernelStudy
{
    /// <summary>
    /// The same topology with every convolution at size <paramref name="kernel"/>: codes are read under
    /// <paramref name="kernels"/> and rewritten under the one-size set {k} (0 zero, 1 skip, 2 conv k×k, 3 avgpool).
    /// </summary>
    public static (CellTopology Cell, KernelSet Kernels) SingleSize(CellTopology cell, KernelSet kernels, int kernel)
    {
        var single = new KernelSet([kernel]);
        int[,] m = cell.ToMatrix();
        for (int i = 0; i < CellTopology.Nodes; i++)
        {
            for (int j = 0; j < CellTopology.Nodes; j++)
            {
                m[i, j] = kernels.Operation(m[i, j]).Kind switch
                {
                    CellOpKind.Zero => 0,
                    CellOpKind.Skip => 1,
                    CellOpKind.Conv => single.ConvCode(kernel),
                    _ => single.AvgPoolCode,
                };
            }
        }
        return (new CellTopology(m), single);
    }

    /// <summary>
    /// Sets derived from a study's trained sizes, on each size's validation accuracy (<see cref="KernelStudyPoint.ValAccuracy"/>; the
    /// test accuracy when any size lacks it). The efficient sets are the growing prefixes, cheapest first, of the sizes on the Pareto
    /// front of parameters and accuracy — each more accurate than every cheaper size, so a size that costs more and
    /// gives less is never in them; then the two most accurate sizes, and every size within one point of the best.
    /// With a <paramref name="budget"/>, a set holding sizes whose single-size network exceeds it says so: most cells
    /// using those sizes will not fit the search's budget either.
    /// </summary>
    public static IReadOnlyList<ProposedSet> Propose(IReadOnlyList<KernelStudyPoint> points, long? budget = null)
    {
        ArgumentNullException.ThrowIfNull(points);
        points = points.Where(p => p.Status == KernelStudyStatus.Trained).ToList(); // a size that diverged has no accuracy to propose it on
        if (points.Count == 0) return [];
        bool validation = points.All(p => p.ValAccuracy is not null);
        string on = validation ? "validation" : "test";
        double Chosen(KernelStudyPoint p) => validation ? p.ValAccuracy!.Value : p.Accuracy;
        var front = new List<KernelStudyPoint>();
        foreach (KernelStudyPoint p in points.OrderBy(p => p.Parameters).ThenByDescending(Chosen).ThenBy(p => p.Kernel))
            if (front.Count == 0 || Chosen(p) > Chosen(front[^1])) front.Add(p);
        var over = points.Where(p => p.Parameters > budget).Select(p => p.Kernel).ToHashSet();
        var proposals = new List<ProposedSet>();
        void Add(string name, IEnumerable<int> sizes, string why)
        {
            var set = new KernelSet(sizes.Distinct());
            int[] large = set.Sizes.Where(over.Contains).ToArray();
            if (large.Length > 0)
                why += System.FormattableString.Invariant($"; {string.Join(", ", large.Select(k => $"k={k}"))} alone exceed{(large.Length == 1 ? "s" : "")} the budget of {budget:N0} parameters, so most cells using {(large.Length == 1 ? "it" : "them")} will not fit");
            if (proposals.All(p => !p.Set.Equals(set))) proposals.Add(new ProposedSet(name, set, why));
        }
        for (int n = 2; n <= front.Count; n++)
            Add($"efficient-{n}", front.Take(n).Select(p => p.Kernel),
                $"the {n} cheapest sizes on the Pareto front of parameters and {on} accuracy (each more accurate than every cheaper size)");
        List<KernelStudyPoint> byAccuracy = points.OrderByDescending(Chosen).ThenBy(p => p.Parameters).ThenBy(p => p.Kernel).ToList();
        Add("most-accurate-2", byAccuracy.Take(2).Select(p => p.Kernel), $"the two sizes of the best {on} accuracy, whatever they cost");
        double best = Chosen(byAccuracy[0]);
        // one point, with room for the rounding of counts written as fractions (249/2000 is 1 point under 269/2000, but
        // 269/2000 − 0.01 rounds above it)
        Add("within-1pt", points.Where(p => Chosen(p) >= best - 0.01 - 1e-9).Select(p => p.Kernel), $"every size within one {on} accuracy point of the best");
        return proposals;
    }

    /// <summary>The file format <c>spikernel search --kernels @FILE</c> reads: "name: sizes  # why" per line.</summary>
    public static string Format(IEnumerable<ProposedSet> sets) =>
        string.Concat(sets.Select(s => $"{s.Name}: {s.Set}  # {s.Why}{Environment.NewLine}"));

    /// <summary>Reads that format; blank lines and lines starting with '#' are skipped.</summary>
    public static IReadOnlyList<(string Name, KernelSet Set)> ParseFile(string path)
    {
        if (Directory.Exists(path)) throw new InvalidDataException($"{path}: is a folder, not a file of kernel sets");
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file of kernel sets", path);
        var sets = new List<(string, KernelSet)>();
        int line = 0;
        foreach (string raw in File.ReadLines(path))
        {
            line++;
            string text = raw.Split('#')[0].Trim();
            if (text.Length == 0) continue;
            int colon = text.IndexOf(':');
            if (colon <= 0) throw new InvalidDataException($"{path}, line {line}: expected 'name: sizes' (e.g. 'efficient-2: 1,3').");
            try
            {
                sets.Add((text[..colon].Trim(), KernelSet.Parse(text[(colon + 1)..])));
            }
            catch (ArgumentException ex)
            {
                throw new InvalidDataException($"{path}, line {line}: {ex.Message}", ex);
            }
        }
        if (sets.Count == 0) throw new InvalidDataException($"{path}: lists no kernel sets.");
        return sets;
    }
}
