namespace SpiKernel.Pipeline.Prediction;

/// <summary>Which model a metrics row judges.</summary>
internal enum PredictorKind
{
    /// <summary>The ML.NET FastTree regressor.</summary>
    FastTree,

    /// <summary>Least squares latency = a + b·MACs.</summary>
    MacsLinear,
}

/// <summary>
/// One row of <c>NAME.metrics.csv</c>, written beside a predictor zip: the cross-validated figures of one model of
/// one profile × batch size × precision. Column order is the property order (docs/csv.md).
/// </summary>
internal sealed record PredictorMetricsRow
{
    /// <summary>Profile.</summary>
    public string Profile { get; init; } = "";

    /// <summary>Batch size.</summary>
    public int BatchSize { get; init; }

    /// <summary>fp32 or int8.</summary>
    public string Precision { get; init; } = "";

    /// <summary>fast_tree or macs_linear.</summary>
    public PredictorKind Predictor { get; init; }

    /// <summary>Measured architectures in the group.</summary>
    public int Architectures { get; init; }

    /// <summary>Cross-validation folds.</summary>
    public int Folds { get; init; }

    /// <summary>Mean absolute percentage error (0.1 = 10 %).</summary>
    public double Mape { get; init; }

    /// <summary>R² on milliseconds.</summary>
    public double? R2 { get; init; }

    /// <summary>Spearman's ρ between predicted and measured.</summary>
    public double? SpearmanRho { get; init; }

    /// <summary>The two rows (FastTree, baseline) of <paramref name="g"/>.</summary>
    public static IEnumerable<PredictorMetricsRow> Of(PredictorGroup g)
    {
        ArgumentNullException.ThrowIfNull(g);
        foreach ((PredictorKind kind, FitMetrics m) in new[] { (PredictorKind.FastTree, g.FastTree), (PredictorKind.MacsLinear, g.Baseline) })
            yield return new PredictorMetricsRow
            {
                Profile = g.Profile, BatchSize = g.BatchSize, Precision = g.Precision, Predictor = kind, Architectures = g.Architectures,
                Folds = g.Folds, Mape = m.Mape, R2 = m.R2, SpearmanRho = m.SpearmanRho,
            };
    }
}
