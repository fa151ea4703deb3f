namespace SpiKernel.Evaluators.Measurement;

/// <summary>Summary of measured run times, in milliseconds.</summary>
/// <param name="Runs">Measured runs.</param>
/// <param name="P50">Median.</param>
/// <param name="P90">90th percentile.</param>
/// <param name="P95">95th percentile.</param>
/// <param name="P99">99th percentile.</param>
/// <param name="Min">Fastest run.</param>
/// <param name="Max">Slowest run.</param>
/// <param name="Mean">Arithmetic mean.</param>
/// <param name="Std">Sample standard deviation (n − 1; 0 for one run).</param>
/// <param name="Throughput">Samples per second: batch size / mean run time.</param>
public sealed record LatencyStats(int Runs, double P50, double P90, double P95, double P99, double Min, double Max, double Mean, double Std, double Throughput)
{
    /// <summary>Summarises <paramref name="milliseconds"/> for runs of <paramref name="batchSize"/> samples.</summary>
    public static LatencyStats From(IReadOnlyList<double> milliseconds, int batchSize)
    {
        ArgumentNullException.ThrowIfNull(milliseconds);
        if (milliseconds.Count == 0) throw new ArgumentException("No runs to summarise.", nameof(milliseconds));
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        double[] sorted = milliseconds.Order().ToArray();
        double mean = sorted.Average();
        double std = sorted.Length > 1 ? Math.Sqrt(sorted.Sum(x => (x - mean) * (x - mean)) / (sorted.Length - 1)) : 0;
        return new LatencyStats(sorted.Length, Percentile(sorted, 50), Percentile(sorted, 90), Percentile(sorted, 95), Percentile(sorted, 99),
            sorted[0], sorted[^1], mean, std, batchSize * 1000.0 / mean);
    }

    /// <summary>
    /// The <paramref name="p"/>-th percentile of ascending <paramref name="sorted"/>, interpolating linearly between
    /// the closest ranks (numpy's default), so figures compare with a pandas user's own.
    /// </summary>
    public static double Percentile(IReadOnlyList<double> sorted, double p)
    {
        ArgumentNullException.ThrowIfNull(sorted);
        if (sorted.Count == 0) throw new ArgumentException("Empty sample.", nameof(sorted));
        ArgumentOutOfRangeException.ThrowIfLessThan(p, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(p, 100);
        double rank = p / 100 * (sorted.Count - 1);
        int lo = (int)Math.Floor(rank);
        int hi = Math.Min(lo + 1, sorted.Count - 1);
        return sorted[lo] + (rank - lo) * (sorted[hi] - sorted[lo]);
    }
}
