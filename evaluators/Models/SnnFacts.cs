using System.Globalization;

namespace SpiKernel.Evaluators.Models;

/// <summary>What a SpiKernel export says about itself in its metadata (<c>spikernel.*</c>).</summary>
/// <param name="Timesteps">T.</param>
/// <param name="SpikeLayers">LIF layer paths, in <c>spike_counts</c> order.</param>
/// <param name="Neurons">Neurons per timestep of each layer (null in files exported before this was recorded).</param>
/// <param name="FanOut">Synaptic operations per spike of each layer (null likewise).</param>
/// <param name="FirstLayerMacs">MACs of the stem (real-valued input, once per image).</param>
/// <param name="AnnMacs">MACs of the equivalent non-spiking network for one image.</param>
/// <param name="Mean">Input normalisation mean per channel.</param>
/// <param name="Std">Input normalisation std per channel.</param>
/// <param name="ClassNames">Class names, by label.</param>
/// <param name="Dataset">The data the model was trained on (<c>embedded</c> or a folder).</param>
/// <param name="TestAccuracy">TorchSharp's test accuracy at training time, when recorded.</param>
/// <param name="Architecture">Architecture text.</param>
public sealed record SnnFacts(int Timesteps, IReadOnlyList<string> SpikeLayers, long[]? Neurons, double[]? FanOut,
    long? FirstLayerMacs, long? AnnMacs, float[]? Mean, float[]? Std, IReadOnlyList<string>? ClassNames, string? Dataset,
    double? TestAccuracy, string? Architecture)
{
    /// <summary>Reads the facts; null when the model carries no <c>spikernel.timesteps</c>.</summary>
    public static SnnFacts? FromMetadata(IReadOnlyDictionary<string, string> m)
    {
        ArgumentNullException.ThrowIfNull(m);
        if (!m.TryGetValue("spikernel.timesteps", out string? t) || !int.TryParse(t, NumberStyles.Integer, CultureInfo.InvariantCulture, out int timesteps))
            return null;
        string[] layers = List(m, "spikernel.spike_layers") ?? [];
        long[]? neurons = List(m, "spikernel.spike_layer_neurons")?.Select(s => long.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        double[]? fanout = List(m, "spikernel.spike_layer_fanout")?.Select(s => double.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        if (neurons?.Length != layers.Length || fanout?.Length != layers.Length) (neurons, fanout) = (null, null);
        return new SnnFacts(timesteps, layers, neurons, fanout, Long(m, "spikernel.first_layer_macs"), Long(m, "spikernel.ann_macs"),
            Floats(m, "spikernel.normalization.mean"), Floats(m, "spikernel.normalization.std"),
            m.TryGetValue("spikernel.class_names", out string? names) ? names.Split('\n') : null,
            m.GetValueOrDefault("spikernel.dataset"),
            m.TryGetValue("spikernel.test_accuracy", out string? a) && double.TryParse(a, NumberStyles.Float, CultureInfo.InvariantCulture, out double acc) ? acc : null,
            m.GetValueOrDefault("spikernel.architecture"));
    }

    private static string[]? List(IReadOnlyDictionary<string, string> m, string key) =>
        m.TryGetValue(key, out string? v) && v.Length > 0 ? v.Split(',') : null;

    private static long? Long(IReadOnlyDictionary<string, string> m, string key) =>
        m.TryGetValue(key, out string? v) && long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out long x) ? x : null;

    private static float[]? Floats(IReadOnlyDictionary<string, string> m, string key) =>
        List(m, key)?.Select(s => float.Parse(s, CultureInfo.InvariantCulture)).ToArray();
}
