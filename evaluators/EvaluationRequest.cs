using SpiKernel.Core;
using SpiKernel.Evaluators.Inputs;
using SpiKernel.Evaluators.Measurement;
using SpiKernel.Evaluators.Models;
using SpiKernel.Evaluators.Providers;

namespace SpiKernel.Evaluators;

/// <summary>Which weight variants each profile runs.</summary>
public enum PrecisionChoice
{
    /// <summary>The float file, except profiles that prefer int8 (edge) take the int8 variant where it exists.</summary>
    Auto,

    /// <summary>Float files only.</summary>
    Fp32,

    /// <summary>Int8 variants only.</summary>
    Int8,

    /// <summary>Every variant on every profile.</summary>
    All,
}

/// <summary>Test data for a model, or why there is none.</summary>
/// <param name="Data">The images, or null.</param>
/// <param name="Mean">Normalisation mean per channel.</param>
/// <param name="Std">Normalisation std per channel.</param>
/// <param name="Note">Why accuracy is not measured, when <paramref name="Data"/> is null.</param>
/// <param name="AccuracyPass">Score the images (false: they only feed the timed runs, the accuracy coming from elsewhere).</param>
public sealed record TestData(LabelledImages? Data, float[]? Mean, float[]? Std, string? Note, bool AccuracyPass = true)
{
    /// <summary>No data, for the reason given.</summary>
    public static TestData None(string note) => new(null, null, null, note);
}

/// <summary>Everything one evaluation needs besides the models.</summary>
/// <param name="Profiles">Profiles to run, in order.</param>
/// <param name="BatchSizes">Batch sizes to time, in order.</param>
/// <param name="Latency">Warm-up and repeats.</param>
/// <param name="Precision">Which variants each profile runs.</param>
/// <param name="DataFor">Test data for a model (accuracy, spikes, realistic latency inputs); return <see cref="TestData.None"/> to skip.</param>
/// <param name="Inputs">Input shapes, test data, seed and output tolerance (default: the model's shapes, seed 0, no test data).</param>
/// <param name="AccuracyLimit">Score at most this many test samples.</param>
/// <param name="Isolated">Recorded in the rows: the caller runs each measurement in a fresh process.</param>
/// <param name="Done">Measurements already made (<see cref="Key"/>): skipped, so a resumed evaluation adds only what is missing.</param>
/// <param name="LayersDone">
/// Measurements whose per-layer rows are on file already (<see cref="LayerKey"/>): not written again. Null: none (a new
/// file). A measurement of which only rows without spike figures were made (no accuracy then) gets its layer rows with
/// the first batch size that has them.
/// </param>
public sealed record EvaluationRequest(
    IReadOnlyList<EvaluationProfile> Profiles,
    IReadOnlyList<int> BatchSizes,
    LatencyOptions Latency,
    PrecisionChoice Precision,
    Func<ModelInfo, TestData> DataFor,
    InputOptions? Inputs = null,
    int? AccuracyLimit = null,
    bool Isolated = false,
    IReadOnlySet<string>? Done = null,
    IReadOnlySet<string>? LayersDone = null)
{
    /// <summary>The identity of one measurement's per-layer rows: its <see cref="Key"/> without a batch size (layers are per file, profile and precision).</summary>
    public static string LayerKey(string modelSha256, string profile, int deviceId, string precision) => Key(modelSha256, profile, deviceId, precision, null);

    /// <summary>The identity of one measurement: the model file's hash, profile, device (the GPU's index), precision and batch size.</summary>
    public static string Key(string modelSha256, string profile, int deviceId, string precision, int? batch) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{modelSha256}|{profile}#{deviceId}|{precision}|{batch}");

    /// <summary>The input options in effect.</summary>
    public InputOptions Feeding => Inputs ?? new InputOptions();

    /// <summary>Throws <see cref="SettingsException"/> naming the first bad value.</summary>
    public EvaluationRequest Validated()
    {
        if (Profiles.Count == 0) throw new SettingsException("No provider or profile to run.");
        if (BatchSizes.Count == 0) throw new SettingsException("--batch names no batch size.");
        foreach (int b in BatchSizes)
            if (b < 1) throw new SettingsException($"--batch sizes must be at least 1 (got {b}).");
        Feeding.Validated();
        if (AccuracyLimit is < 1) throw new SettingsException($"--limit must be at least 1 (got {AccuracyLimit}).");
        Latency.Validated();
        return this;
    }
}
