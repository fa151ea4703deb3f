using SpiKernel.Pipeline.Ranking;

namespace SpiKernel.Pipeline.Prediction;

/// <summary>How well out-of-fold predictions match measured latencies.</summary>
/// <param name="Mape">Mean absolute percentage error, |predicted − measured| / measured averaged (0.1 = 10 %).</param>
/// <param name="R2">Coefficient of determination on milliseconds, 1 − SS_res / SS_tot (can be negative: worse than the mean); null when the measured values are all equal.</param>
/// <param name="SpearmanRho">Spearman's ρ between predicted and measured: does the predictor order the models right; null when undefined.</param>
public sealed record FitMetrics(double Mape, double? R2, double? SpearmanRho)
{
    /// <summary>The metrics of <paramref name="predicted"/> against <paramref name="measured"/>.</summary>
    public static FitMetrics Of(IReadOnlyList<double> measured, IReadOnlyList<double> predicted)
    {
        ArgumentNullException.ThrowIfNull(measured);
        ArgumentNullException.ThrowIfNull(predicted);
        if (measured.Count != predicted.Count || measured.Count == 0) throw new ArgumentException("measured and predicted must be non-empty and of the same length.");
        double mape = measured.Select((y, i) => Math.Abs(predicted[i] - y) / y).Average();
        double mean = measured.Average();
        double ssTot = measured.Sum(y => (y - mean) * (y - mean));
        double ssRes = measured.Select((y, i) => (y - predicted[i]) * (y - predicted[i])).Sum();
        return new FitMetrics(mape, ssTot == 0 ? null : 1 - ssRes / ssTot, RankStatistics.SpearmanRho(predicted, measured));
    }
}

/// <summary>
/// Least squares latency = a + b·MACs: the simple baseline a predictor must beat. It predicts no less than the
/// fastest latency it was fitted on: a line extrapolated below the measured networks reaches zero and negative
/// milliseconds (a tree ensemble stays within its range by construction).
/// </summary>
/// <param name="Intercept">a, ms.</param>
/// <param name="Slope">b, ms per MAC.</param>
/// <param name="FloorMs">The fastest latency fitted, ms: the least it predicts.</param>
public sealed record MacsLinear(double Intercept, double Slope, double FloorMs)
{
    /// <summary>Fits a and b to (MACs, latency) pairs; with one distinct MACs value the line is flat at the mean.</summary>
    public static MacsLinear Fit(IReadOnlyList<double> macs, IReadOnlyList<double> latency)
    {
        double mx = macs.Average(), my = latency.Average();
        double sxx = macs.Sum(x => (x - mx) * (x - mx));
        double sxy = macs.Select((x, i) => (x - mx) * (latency[i] - my)).Sum();
        double b = sxx == 0 ? 0 : sxy / sxx;
        return new MacsLinear(my - b * mx, b, latency.Min());
    }

    /// <summary>The predicted latency, ms.</summary>
    public double Predict(double macs) => Math.Max(FloorMs, Intercept + Slope * macs);
}
