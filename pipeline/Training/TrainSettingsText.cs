using System.Globalization;
using SpiKernel.Pipeline.Data;

namespace SpiKernel.Pipeline.Training;

/// <summary>
/// The canonical text of the settings that shape a training (<c>checkpoint.json</c>'s <c>Options</c>, stage markers):
/// written by <see cref="Describe"/>, read back by <see cref="Parse"/> so a resume can continue with the checkpoint's
/// own settings.
/// </summary>
internal static class TrainSettingsText
{
    /// <summary>The text of <paramref name="o"/> with its augmentation resolved to <paramref name="augment"/>.</summary>
    public static string Describe(TrainOptions o, Augmentation augment) => string.Create(CultureInfo.InvariantCulture,
        $"epochs={o.Epochs} batch={o.BatchSize} optimizer={o.Optimizer.ToString().ToLowerInvariant()} lr={o.PeakLearningRate:R} " +
        $"momentum={o.Momentum:R} weight-decay={o.WeightDecay:R} final-lr-factor={o.FinalLearningRateFactor:R} seed={o.Seed} " +
        $"val={o.ValidationFraction:R} augment={augment}");

    /// <summary>The settings <paramref name="text"/> describes (threads are not part of it: <paramref name="threads"/>).</summary>
    /// <exception cref="InvalidDataException">The text is not what <see cref="Describe"/> writes.</exception>
    public static TrainOptions Parse(string text, int threads = 0)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string part in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0) throw Bad(text, $"'{part}' is not key=value");
            fields[part[..eq]] = part[(eq + 1)..];
        }
        string Field(string key) => fields.TryGetValue(key, out string? v) ? v : throw Bad(text, $"no {key}");
        int Int(string key) => int.TryParse(Field(key), NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) ? v : throw Bad(text, $"{key} is not a whole number");
        double Real(string key) => double.TryParse(Field(key), NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v : throw Bad(text, $"{key} is not a number");
        OptimizerKind optimizer;
        Augmentation augment;
        try
        {
            optimizer = SettingWords.Parse("optimizer", Field("optimizer"), SettingWords.Optimizers);
            augment = Augmentation.Parse(Field("augment"));
        }
        catch (Core.SettingsException ex)
        {
            throw Bad(text, ex.Message);
        }
        return new TrainOptions(Int("epochs"), Int("batch"), optimizer, Real("lr"), Real("momentum"), Real("weight-decay"),
            Real("final-lr-factor"), Int("seed"), Real("val"), augment, threads);
    }

    /// <summary>The text without its epochs: what must stay the same when a resume changes only how long it trains.</summary>
    public static string WithoutEpochs(string text) =>
        string.Join(' ', text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Where(p => !p.StartsWith("epochs=", StringComparison.Ordinal)));

    private static InvalidDataException Bad(string text, string why) => new($"training settings '{text}': {why}");
}
