namespace SpiKernel.Pipeline.Search;

/// <summary>Statistics of how well a training-free score predicts trained accuracy.</summary>
public static class SearchQuality
{
    /// <summary>Kendall's τ-b between two paired samples (ties handled); NaN for fewer than two pairs.</summary>
    public static double KendallTau(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        if (x.Count != y.Count) throw new ArgumentException("Kendall's τ needs paired samples of equal length.");
        long concordant = 0, discordant = 0, tiesX = 0, tiesY = 0;
        for (int i = 0; i < x.Count; i++)
        {
            for (int j = i + 1; j < x.Count; j++)
            {
                int sx = Math.Sign(x[i] - x[j]), sy = Math.Sign(y[i] - y[j]);
                if (sx == 0 && sy == 0) continue;
                if (sx == 0) tiesX++;
                else if (sy == 0) tiesY++;
                else if (sx == sy) concordant++;
                else discordant++;
            }
        }
        double denominator = Math.Sqrt((double)(concordant + discordant + tiesX) * (concordant + discordant + tiesY));
        return denominator == 0 ? double.NaN : (concordant - discordant) / denominator;
    }

    /// <summary>The median of a sample.</summary>
    public static double Median(IEnumerable<double> values)
    {
        double[] v = values.Order().ToArray();
        if (v.Length == 0) return double.NaN;
        return v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
    }
}
