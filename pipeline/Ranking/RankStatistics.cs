namespace SpiKernel.Pipeline.Ranking;

/// <summary>Rank correlations used to judge a score or a predictor against measured numbers.</summary>
internal static class RankStatistics
{
    /// <summary>
    /// The 95 % Wilson score interval of an accuracy measured on <paramref name="samples"/> test images: where the
    /// network's accuracy on the whole distribution the test set was drawn from lies, as far as that many images can
    /// tell (about ±1.6 points at 85 % on 2,000). Null without an accuracy or a sample count.
    /// </summary>
    public static (double Low, double High)? Wilson95(double? accuracy, int? samples)
    {
        if (accuracy is not (>= 0 and <= 1 and var p) || samples is not (> 0 and var n)) return null; // NaN fails the range too
        const double z = 1.959963984540054; // the two-sided 95 % quantile of the standard normal
        double z2n = z * z / n, centre = (p + z2n / 2) / (1 + z2n);
        double half = z / (1 + z2n) * Math.Sqrt(p * (1 - p) / n + z2n / (4 * n));
        return (Math.Max(0, centre - half), Math.Min(1, centre + half));
    }

    /// <summary>
    /// The two-sided p-value of the difference between accuracies <paramref name="a"/> on <paramref name="n"/> images and
    /// <paramref name="b"/> on <paramref name="m"/> (the pooled two-proportion z-test): for results without each image's
    /// answer. Two models scored on the same images are compared more sharply by <see cref="McNemarP"/>; unpaired is the
    /// cautious side of it when their mistakes go together. Null without both sample counts.
    /// </summary>
    public static double? DifferenceP(double a, int? n, double b, int? m)
    {
        if (n is not > 0 || m is not > 0 || a is not (>= 0 and <= 1) || b is not (>= 0 and <= 1)) return null;
        double pooled = (a * n.Value + b * m.Value) / (n.Value + m.Value);
        double se = Math.Sqrt(pooled * (1 - pooled) * (1.0 / n.Value + 1.0 / m.Value));
        if (se == 0) return a == b ? 1 : 0;
        return Erfc(Math.Abs(a - b) / se / Math.Sqrt(2)); // 2·(1 − Φ(|z|))
    }

    /// <summary>
    /// The two-sided p-value of McNemar's exact test: two classifiers answered the same images (<paramref name="a"/>,
    /// <paramref name="b"/>: right or not, image by image), and only the images where they disagree tell them apart — a
    /// sharper test than comparing two counts as if from different images. Null unless both cover the same images.
    /// </summary>
    public static double? McNemarP(IReadOnlyList<bool>? a, IReadOnlyList<bool>? b)
    {
        if (a is null || b is null || a.Count != b.Count || a.Count == 0) return null;
        int onlyA = 0, onlyB = 0;
        for (int i = 0; i < a.Count; i++)
        {
            if (a[i] && !b[i]) onlyA++;
            else if (b[i] && !a[i]) onlyB++;
        }
        int n = onlyA + onlyB, k = Math.Min(onlyA, onlyB);
        if (n == 0) return 1;
        // P(X ≤ k) for X ~ Binomial(n, ½), summed in logarithms (0.5^n underflows beyond n ≈ 1,074)
        double logTerm = n * Math.Log(0.5), logSum = logTerm;
        for (int j = 0; j < k; j++)
        {
            logTerm += Math.Log((double)(n - j) / (j + 1));
            logSum = Math.Max(logSum, logTerm) + Math.Log(1 + Math.Exp(-Math.Abs(logSum - logTerm)));
        }
        return Math.Min(1, 2 * Math.Exp(logSum));
    }

    /// <summary>
    /// A p-value as a sentence gives it: "p = 0.23", "p = 0.004", or "p < 0.001" (not "p = 0.00"); near 0.05, the line the
    /// sentences draw, with four decimals, so 0.0496 does not read as 0.05.
    /// </summary>
    public static string PText(double p) => double.IsNaN(p) ? "p undefined" : p < 0.001 ? "p < 0.001"
        : "p = " + (p is >= 0.045 and < 0.05 ? Math.Floor(p * 1e4) / 1e4 : p) // below the line stays below it: 0.04996 is 0.0499
            .ToString(p < 0.01 ? "0.000" : p is >= 0.045 and < 0.055 ? "0.0000" : "0.00", System.Globalization.CultureInfo.InvariantCulture);

    // the complementary error function (Numerical Recipes' erfcc: fractional error below 1.2e-7)
    private static double Erfc(double x)
    {
        double z = Math.Abs(x), t = 1 / (1 + 0.5 * z);
        double r = t * Math.Exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
            t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? r : 2 - r;
    }

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
    /// The two-sided p-value of <see cref="KendallTau"/> under no association, as a permutation test (ties kept as they
    /// are): the share of orderings of <paramref name="y"/> whose |τ-b| is at least the observed one — every one of the
    /// n! up to n = 8, else 20,000 drawn with a fixed seed (the same answer every time). Null where τ is.
    /// </summary>
    public static double? KendallP(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        if (KendallTau(x, y) is not { } observed) return null;
        double[] values = [.. y];
        long atLeast = 0, total = 0;
        bool AtLeast(double[] order) => Math.Abs(KendallTau(x, order) ?? 0) >= Math.Abs(observed) - 1e-12;
        if (values.Length <= 8)
        {
            foreach (double[] order in Orderings(values, 0))
            {
                total++;
                if (AtLeast(order)) atLeast++;
            }
            return (double)atLeast / total;
        }
        var rng = new Random(1);
        for (total = 0; total < 20_000; total++)
        {
            rng.Shuffle(values);
            if (AtLeast(values)) atLeast++;
        }
        return (atLeast + 1.0) / (total + 1.0); // the observed ordering counts as one of them
    }

    // every ordering of values, by swapping each element into place in turn (each yielded array is the same one, changed)
    private static IEnumerable<double[]> Orderings(double[] values, int k)
    {
        if (k == values.Length - 1)
        {
            yield return values;
            yield break;
        }
        for (int i = k; i < values.Length; i++)
        {
            (values[k], values[i]) = (values[i], values[k]);
            foreach (double[] p in Orderings(values, k + 1)) yield return p;
            (values[k], values[i]) = (values[i], values[k]);
        }
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
