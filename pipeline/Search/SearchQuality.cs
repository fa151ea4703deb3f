namespace SpiKernel.Pipeline.Search;

/// <summary>Statistics of how well a training-free score predicts trained accuracy.</summary>
internal static class SearchQuality
{
    /// <summary>Kendall's τ-b between two paired samples (ties handled); NaN for fewer than two pairs or a constant side.</summary>
    public static double KendallTau(IReadOnlyList<double> x, IReadOnlyList<double> y) => Ranking.RankStatistics.KendallTau(x, y) ?? double.NaN;

    /// <summary>The median of a sample.</summary>
    public static double Median(IEnumerable<double> values)
    {
        double[] v = values.Order().ToArray();
        if (v.Length == 0) return double.NaN;
        return v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
    }
}
