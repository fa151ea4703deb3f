namespace SpiKernel.Pipeline.Prediction;

/// <summary>
/// What a predictor zip says about itself (<c>manifest.json</c>, snake_case keys): the tool version and feature schema
/// it was trained with (a zip from another version or schema is refused), how, and for each profile × batch size ×
/// precision its ML.NET model entry and the cross-validated figures of FastTree next to the MACs-linear baseline.
/// </summary>
/// <param name="Format">Always <see cref="FormatName"/>.</param>
/// <param name="ToolVersion">SpiKernel.Onnx version that trained it.</param>
/// <param name="FeatureSchema">Feature names in vector order (<see cref="LatencyFeatures.Names"/>).</param>
/// <param name="LogTarget">The regressors learn ln(ms).</param>
/// <param name="Seed">ML.NET seed and fold shuffle seed.</param>
/// <param name="Target">The column predicted (latency_p50_ms).</param>
/// <param name="Sources">The results CSVs it was trained on.</param>
/// <param name="Groups">One regressor per profile × batch size × precision.</param>
public sealed record PredictorManifest(string Format, string ToolVersion, IReadOnlyList<string> FeatureSchema, bool LogTarget, int Seed,
    string Target, IReadOnlyList<string> Sources, IReadOnlyList<PredictorGroup> Groups)
{
    /// <summary>The format word and version of the zip layout.</summary>
    public const string FormatName = "spikernel-latency-predictor/2";
}

/// <summary>One regressor of a predictor and how well it did.</summary>
/// <param name="Profile">Profile (cpu, edge, …).</param>
/// <param name="BatchSize">Batch size.</param>
/// <param name="Precision">fp32 or int8.</param>
/// <param name="Entry">The zip entry holding the ML.NET model.</param>
/// <param name="Architectures">Measured models it was fitted on.</param>
/// <param name="Folds">Cross-validation folds.</param>
/// <param name="FastTree">Cross-validated figures of the FastTree regressor.</param>
/// <param name="Baseline">Cross-validated figures of the MACs-linear baseline, on the same folds.</param>
/// <param name="BaselineFit">The baseline fitted on all rows.</param>
/// <param name="Layouts">
/// The timestep layouts of the files it was fitted on, comma-separated (<c>batched,step</c>). It predicts for these
/// only: fitted on one layout, the layout feature never varied, so it would give the other layout that one's latency.
/// Zips of format 1 did not record them (most were fitted on batched files alone) and are refused.
/// </param>
public sealed record PredictorGroup(string Profile, int BatchSize, string Precision, string Entry, int Architectures, int Folds,
    FitMetrics FastTree, FitMetrics Baseline, MacsLinear BaselineFit, string Layouts)
{
    /// <summary>Whether it predicts for files of <paramref name="layout"/>.</summary>
    public bool Knows(Exporters.TimestepLayout layout) => Layouts.Split(',').Contains(Core.Csv.CsvFormat.Word(layout));

    /// <summary>"cpu/1/fp32".</summary>
    public string Key => $"{Profile}/{BatchSize}/{Precision}";

    /// <summary>
    /// The baseline line predicts this group: it was closer than FastTree in cross-validation (lower MAPE), as with few
    /// measured models or where latency is MACs alone. A prediction is never knowingly the worse of the two.
    /// </summary>
    public bool UsesBaseline => Baseline.Mape < FastTree.Mape;
}
