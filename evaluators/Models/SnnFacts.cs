using System.Globalization;
using SpiKernel.Core;

namespace SpiKernel.Evaluators.Models;

/// <summary>What a SpiKernel export says about itself in its metadata (<c>spikernel.*</c>, <see cref="MetadataKeys"/>).</summary>
/// <param name="Timesteps">T.</param>
/// <param name="SpikeLayers">LIF layer paths, in <c>spike_counts</c> order.</param>
/// <param name="Neurons">Neurons per timestep of each layer (null in files exported before this was recorded).</param>
/// <param name="FanOut">Synaptic operations per spike of each layer (null likewise).</param>
/// <param name="Steps">Timesteps each layer runs per inference (T, or T − 1 for a backward cell's feedback edges; T for
/// every layer in files exported before this was recorded).</param>
/// <param name="FirstLayerMacs">MACs of the stem (real-valued input, once per image).</param>
/// <param name="AnnMacs">MACs of the equivalent non-spiking network for one image.</param>
/// <param name="Mean">Input normalisation mean per channel.</param>
/// <param name="Std">Input normalisation std per channel.</param>
/// <param name="ClassNames">Class names, by label.</param>
/// <param name="Dataset">The data the model was trained on (<c>embedded</c> or a folder).</param>
/// <param name="TestAccuracy">TorchSharp's test accuracy at training time, when recorded.</param>
/// <param name="Architecture">Architecture text.</param>
/// <param name="CandidateId">The architecture's id (from the metadata, or computed from its text in older files).</param>
public sealed record SnnFacts(int Timesteps, IReadOnlyList<string> SpikeLayers, long[]? Neurons, double[]? FanOut, int[] Steps,
    long? FirstLayerMacs, long? AnnMacs, float[]? Mean, float[]? Std, IReadOnlyList<string>? ClassNames, string? Dataset,
    double? TestAccuracy, string? Architecture, string? CandidateId)
{
    /// <summary>
    /// Reads the facts; null when the model carries no <see cref="MetadataKeys.Timesteps"/>. A value that is present
    /// but malformed throws <see cref="InvalidDataException"/> naming the key (the model is then a failed row).
    /// </summary>
    public static SnnFacts? FromMetadata(IReadOnlyDictionary<string, string> m)
    {
        ArgumentNullException.ThrowIfNull(m);
        if (!m.ContainsKey(MetadataKeys.Timesteps)) return null;
        int timesteps = (int)(Long(m, MetadataKeys.Timesteps) ?? 0);
        if (timesteps < 1) throw Bad(MetadataKeys.Timesteps, m[MetadataKeys.Timesteps], "a positive whole number");
        string[] layers = List(m, MetadataKeys.SpikeLayers) ?? [];
        long[]? neurons = List(m, MetadataKeys.SpikeLayerNeurons)?.Select(s => ParseLong(MetadataKeys.SpikeLayerNeurons, s)).ToArray();
        double[]? fanout = List(m, MetadataKeys.SpikeLayerFanOut)?.Select(s => ParseDouble(MetadataKeys.SpikeLayerFanOut, s)).ToArray();
        if (neurons?.Length != layers.Length || fanout?.Length != layers.Length) (neurons, fanout) = (null, null);
        int[] steps = List(m, MetadataKeys.SpikeLayerSteps)?.Select(s => (int)ParseLong(MetadataKeys.SpikeLayerSteps, s)).ToArray() ?? [];
        if (steps.Length != layers.Length || steps.Any(s => s < 0 || s > timesteps)) steps = layers.Select(_ => timesteps).ToArray();
        float[]? mean = Floats(m, MetadataKeys.NormalizationMean), std = Floats(m, MetadataKeys.NormalizationStd);
        if (std is not null && std.Any(s => !(s > 0)))
            throw Bad(MetadataKeys.NormalizationStd, m[MetadataKeys.NormalizationStd], "positive numbers");
        string? arch = m.GetValueOrDefault(MetadataKeys.Architecture);
        string? id = m.GetValueOrDefault(MetadataKeys.CandidateId) ?? (arch is null ? null : Core.CandidateId.Of(arch));
        return new SnnFacts(timesteps, layers, neurons, fanout, steps, Long(m, MetadataKeys.FirstLayerMacs), Long(m, MetadataKeys.AnnMacs),
            mean, std, m.TryGetValue(MetadataKeys.ClassNames, out string? names) ? names.Split('\n') : null,
            m.GetValueOrDefault(MetadataKeys.Dataset),
            m.TryGetValue(MetadataKeys.TestAccuracy, out string? a) ? ParseDouble(MetadataKeys.TestAccuracy, a) : null,
            arch, id);
    }

    private static string[]? List(IReadOnlyDictionary<string, string> m, string key) =>
        m.TryGetValue(key, out string? v) && v.Length > 0 ? v.Split(',') : null;

    private static long? Long(IReadOnlyDictionary<string, string> m, string key) =>
        m.TryGetValue(key, out string? v) ? ParseLong(key, v) : null;

    private static float[]? Floats(IReadOnlyDictionary<string, string> m, string key) =>
        List(m, key)?.Select(s => (float)ParseDouble(key, s)).ToArray();

    private static long ParseLong(string key, string text) =>
        long.TryParse(text.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out long v) ? v : throw Bad(key, text, "a whole number");

    private static double ParseDouble(string key, string text) =>
        double.TryParse(text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && double.IsFinite(v)
            ? v : throw Bad(key, text, "a number");

    private static InvalidDataException Bad(string key, string value, string expected) =>
        new($"metadata {key} is '{Shorten(value)}', expected {expected}");

    private static string Shorten(string s) => s.Length <= 40 ? s : s[..40] + "…";
}
