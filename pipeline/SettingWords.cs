using SpiKernel.Core;
using SpiKernel.Evaluators;
using SpiKernel.Exporters;
using SpiKernel.Models.Search;
using SpiKernel.Pipeline.Training;

namespace SpiKernel.Pipeline;

/// <summary>
/// The words a setting takes, once for the command line (<c>--optimizer sgd</c>) and the run configuration
/// (<c>"optimizer": "sgd"</c>), and the one way they are read: case-insensitive, a bad word named with the ones allowed.
/// </summary>
internal static class SettingWords
{
    /// <summary>Search cells.</summary>
    public static readonly (string Word, CellKind Value)[] Cells = [("forward", CellKind.Forward), ("backward", CellKind.Backward)];

    /// <summary>Optimizers.</summary>
    public static readonly (string Word, OptimizerKind Value)[] Optimizers = [("sgd", OptimizerKind.Sgd), ("adam", OptimizerKind.Adam)];

    /// <summary>Timestep layouts of an export.</summary>
    public static readonly (string Word, TimestepLayout Value)[] Layouts = [("batched", TimestepLayout.Batched), ("step", TimestepLayout.Step)];

    /// <summary>Weight precisions of an export.</summary>
    public static readonly (string Word, WeightPrecision Value)[] Precisions = [("fp32", WeightPrecision.Float32), ("int8", WeightPrecision.Int8)];

    /// <summary>Which variants an evaluation runs.</summary>
    public static readonly (string Word, PrecisionChoice Value)[] PrecisionChoices =
        [("auto", PrecisionChoice.Auto), ("fp32", PrecisionChoice.Fp32), ("int8", PrecisionChoice.Int8), ("all", PrecisionChoice.All)];

    /// <summary>The value of <paramref name="text"/> among <paramref name="words"/>; <see cref="SettingsException"/> naming <paramref name="setting"/> otherwise.</summary>
    public static T Parse<T>(string setting, string? text, IReadOnlyList<(string Word, T Value)> words)
    {
        ArgumentNullException.ThrowIfNull(words);
        foreach ((string word, T value) in words)
            if (string.Equals(word, text, StringComparison.OrdinalIgnoreCase)) return value;
        string allowed = words.Count == 1 ? words[0].Word : $"{string.Join(", ", words.SkipLast(1).Select(w => w.Word))} or {words[^1].Word}";
        throw new SettingsException($"{setting} must be {allowed} (got '{text}').");
    }
}
