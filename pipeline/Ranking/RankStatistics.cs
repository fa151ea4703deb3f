namespace SpiKernel.Pipeline.Ranking;

/// <summary>Rank correlations used to judge a score or a predictor against measured numbers.</summary>
internal static class RankStatistics
{
    /// <summary>
    /// Kendall's τ-b of paired values (ties handled as in scipy.stats.kendalltau's default); null when fewer than
    /// two pairs or when one side is constant (τ is undefined there).
    /// </summary>
    public static double? KendallTau(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        if (x.Count != y.Count) throw new ArgumentException("x and y must have the same length.");
        long concordant = 0, discordant = 0, tiesX = 0, tiesY = 0;
        for (int i = 0; i < x.Count; i++)
            for (int j = i + 1; j < x.Count; j++)
            {
                int dx = x[i].CompareTo(x[j]), dy = y[i].CompareTo(y[j]);
                if (dx == 0 && dy == 0) continue;
                if (dx == 0) tiesX++;
                else if (dy == 0) tiesY++;
                else if (dx == dy) concordant++;
                else discordant++;
            }
        double denominator = Math.Sqrt((double)(concordant + discordant + tiesX) * (concordant + discordant + tiesY));
        return denominator == 0 ? null : (concordant - discordant) / denominator;
    }

    /// <summary>
    /// The two-sided p-value of <see cref="KendallTau"/> under no association: the share of the n! orderings of
    /// <paramref name="y"/> whose |τ-b| is at least the observed one (exact, up to n = 8), else the normal approximation
    /// (variance 2(2n+5)/(9n(n−1))). Null where τ is.
    /// </summary>
    public static double? KendallP(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        if (KendallTau(x, y) is not { } observed) return null;
        int n = x.Count;
        if (n > 8)
            return Math.Min(1, 2 * (1 - NormalCdf(Math.Abs(observed) / Math.Sqrt(2.0 * (2 * n + 5) / (9.0 * n * (n - 1))))));
        double[] values = [.. y];
        long atLeast = 0, total = 0;
        foreach (double[] order in Permutations(values, 0))
        {
            total++;
            if (Math.Abs(KendallTau(x, order) ?? 0) >= Math.Abs(observed) - 1e-12) atLeast++;
        }
        return (double)atLeast / total;
    }

    // every ordering of values (Heap's algorithm, in place: each yielded array is the same one, changed)
    private static IEnumerable<double[]> Permutations(double[] values, int k)
    {
        if (k == values.Length - 1)
        {
            yield return values;
            yield break;
        }
        for (int i = k; i < values.Length; i++)
        {
            (values[k], values[i]) = (values[i], values[k]);
            foreach (double[] p in Permutations(values, k + 1)) yield return p;
            (values[k], values[i]) = (values[i], values[k]);
        }
    }

    // Φ(z) by the complementary error function (Abramowitz and Stegun 7.1.26, |error| < 1.5e-7)
    private static double NormalCdf(double z)
    {
        double t = 1 / (1 + 0.3275911 * Math.Abs(z) / Math.Sqrt(2));
        double erfc = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) * Math.Exp(-z * z / 2);
        return z >= 0 ? 1 - erfc / 2 : erfc / 2;
    }

    /// <summary>Spearman's ρ: Pearson's correlation of the average ranks; null when undefined (fewer than two pairs, a constant side).</summary>
    public static double? SpearmanRho(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        if (x.Count != y.Count) throw new ArgumentException("x and y must have the same length.");
        return Pearson(AverageRanks(x), AverageRanks(y));
    }

    /// <summary>Pearson's correlation; null when fewer than two pairs or a side has no variance.</summary>
    public static double? Pearson(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        if (x.Count != y.Count) throw new ArgumentException("x and y must have the same length.");
        if (x.Count < 2) return null;
        double mx = x.Average(), my = y.Average(), sxy = 0, sxx = 0, syy = 0;
        for (int i = 0; i < x.Count; i++)
        {
            sxy += (x[i] - mx) * (y[i] - my);
            sxx += (x[i] - mx) * (x[i] - mx);
            syy += (y[i] - my) * (y[i] - my);
        }
        return sxx == 0 || syy == 0 ? null : sxy / Math.Sqrt(sxx * syy);
    }

    /// <summary>1-based ranks, ties sharing the average of the ranks they span.</summary>
    public static double[] AverageRanks(IReadOnlyList<double> values)
    {
        int[] order = Enumerable.Range(0, values.Count).OrderBy(i => values[i]).ToArray();
        var ranks = new double[values.Count];
        for (int start = 0; start < order.Length;)
        {
            int end = start;
            while (end + 1 < order.Length && values[order[end + 1]].Equals(values[order[start]])) end++;
            double rank = (start + end) / 2.0 + 1;
            for (int k = start; k <= end; k++) ranks[order[k]] = rank;
            start = end + 1;
        }
        return ranks;
    }
}
