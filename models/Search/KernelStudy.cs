using SpiKernel.Models.Architecture;

namespace SpiKernel.Models.Search;

/// <summary>One size's result in the kernel-size study (SpiKernel step 1).</summary>
/// <param name="CandidateId">The studied architecture's id.</param>
/// <param name="Kernel">The kernel size every cell convolution used.</param>
/// <param name="Parameters">Trainable parameters.</param>
/// <param name="Macs">Multiply-accumulates per image over all timesteps.</param>
/// <param name="Accuracy">Test accuracy after the study's training.</param>
/// <param name="TrainSeconds">Training time.</param>
public sealed record KernelStudyPoint(string CandidateId, int Kernel, long Parameters, long Macs, double Accuracy, double TrainSeconds);

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
    /// Sets derived from a study. Sizes are ranked by accuracy gained per parameter spent over the cheapest size
    /// (which ranks first: it is the baseline every gain is measured from); the proposals are the growing prefixes of
    /// that ranking, the two most accurate sizes, and every size whose accuracy is within one point of the best.
    /// </summary>
    public static IReadOnlyList<ProposedSet> Propose(IReadOnlyList<KernelStudyPoint> points)
    {
        if (points.Count == 0) return [];
        KernelStudyPoint cheapest = points.MinBy(p => p.Parameters)!;
        var ranked = new List<KernelStudyPoint> { cheapest };
        ranked.AddRange(points.Where(p => p != cheapest)
            .OrderByDescending(p => (p.Accuracy - cheapest.Accuracy) / Math.Max(1, p.Parameters - cheapest.Parameters))
            .ThenBy(p => p.Kernel));
        var proposals = new List<ProposedSet>();
        void Add(string name, IEnumerable<int> sizes, string why)
        {
            var set = new KernelSet(sizes.Distinct());
            if (proposals.All(p => !p.Set.Equals(set))) proposals.Add(new ProposedSet(name, set, why));
        }
        for (int n = 2; n <= ranked.Count; n++)
            Add($"efficient-{n}", ranked.Take(n).Select(p => p.Kernel),
                $"the {n} sizes with the most accuracy gained per parameter over k={cheapest.Kernel}");
        List<KernelStudyPoint> byAccuracy = points.OrderByDescending(p => p.Accuracy).ThenBy(p => p.Parameters).ToList();
        Add("most-accurate-2", byAccuracy.Take(2).Select(p => p.Kernel), "the two most accurate sizes, whatever they cost");
        double best = byAccuracy[0].Accuracy;
        Add("within-1pt", points.Where(p => p.Accuracy >= best - 0.01).Select(p => p.Kernel), "every size within one accuracy point of the best");
        return proposals;
    }

    /// <summary>The file format <c>spikernel search --kernels @FILE</c> reads: "name: sizes  # why" per line.</summary>
    public static string Format(IEnumerable<ProposedSet> sets) =>
        string.Concat(sets.Select(s => $"{s.Name}: {s.Set}  # {s.Why}{Environment.NewLine}"));

    /// <summary>Reads that format; blank lines and lines starting with '#' are skipped.</summary>
    public static IReadOnlyList<(string Name, KernelSet Set)> ParseFile(string path)
    {
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
