using System.Globalization;
using SpiKernel.Core;
namespace SpiKernel.Models.Architecture;

/// <summary>
/// The SNASNet macro network around the two cells. Defaults are the quick Fashion-MNIST network that
/// <c>spikernel train</c> uses when no architecture is given (README, "Default network"): C = 16, a stride-2 stem so
/// the cells run at 14×14 and 7×7 (a quarter of the work of stride 1), no second pooling, hidden 128, T = 4.
/// </summary>
/// <param name="InChannels">Input image channels.</param>
/// <param name="Height">Input image height.</param>
/// <param name="Width">Input image width.</param>
/// <param name="BaseChannels">C: with the ratio, cell 1 runs at C·r channels, cell 2 at 2·C·r.</param>
/// <param name="ChannelRatio">r: SNASNet scales C by it (CIFAR-10: 2).</param>
/// <param name="StemStride">Stride of the 3×3 stem convolution (2 for 64×64 TinyImageNet inputs).</param>
/// <param name="Hidden">Width of the spiking hidden layer of the classifier.</param>
/// <param name="Classes">Output classes.</param>
/// <param name="Cluster">Output neurons per class; their mean is the class vote (population coding).</param>
/// <param name="SecondPool">sap: the pooling before the classifier (SNASNet's second_avgpooling).</param>
/// <param name="Timesteps">T: the static stem output is presented T times; logits are averaged over T.</param>
/// <param name="Dropout">Dropout before the classifier, one mask per sample shared by all timesteps.</param>
public sealed record MacroConfig(
    int InChannels = 1,
    int Height = 28,
    int Width = 28,
    int BaseChannels = 16,
    int ChannelRatio = 1,
    int StemStride = 2,
    int Hidden = 128,
    int Classes = 10,
    int Cluster = 10,
    int SecondPool = 1,
    int Timesteps = 4,
    double Dropout = 0.2)
{
    /// <summary>Channels of cell 1 (C·r).</summary>
    public int Cell1Channels => BaseChannels * ChannelRatio;

    /// <summary>Channels of cell 2 (2·C·r).</summary>
    public int Cell2Channels => 2 * Cell1Channels;

    /// <summary>Feature-map height/width after the stem.</summary>
    public (int H, int W) StemSize => ((Height - 1) / StemStride + 1, (Width - 1) / StemStride + 1);

    /// <summary>Feature-map height/width of cell 2 (after the 2×2 pooling).</summary>
    public (int H, int W) Cell2Size => (StemSize.H / 2, StemSize.W / 2);

    /// <summary>Feature-map height/width entering the classifier.</summary>
    internal (int H, int W) HeadSize => (Cell2Size.H / SecondPool, Cell2Size.W / SecondPool);

    /// <summary>Flattened features entering the classifier.</summary>
    internal long Features => (long)Cell2Channels * HeadSize.H * HeadSize.W;

    /// <summary>Throws <see cref="ArgumentException"/> with a sentence naming the bad knob.</summary>
    internal void Validate()
    {
        Positive(InChannels, "input channels");
        Positive(Height, "input height");
        Positive(Width, "input width");
        Positive(BaseChannels, "base channels C");
        Positive(ChannelRatio, "channel ratio r");
        Positive(StemStride, "stem stride");
        Positive(Hidden, "hidden width");
        Positive(Classes, "classes");
        Positive(Cluster, "cluster size");
        Positive(SecondPool, "second pooling (sap)");
        Positive(Timesteps, "timesteps T");
        // a width past this could not be trained or exported anyway, and C·r or 2·C·r beyond int would wrap round to a
        // small (or negative) count that passes any parameter budget
        if (2L * BaseChannels * ChannelRatio > MaxChannels)
            throw new SettingsException(string.Create(CultureInfo.InvariantCulture,
                $"Cell 2 would have 2·C·r = {2L * BaseChannels * ChannelRatio:N0} channels (C {BaseChannels}, r {ChannelRatio}); at most {MaxChannels:N0}."));
        if (Hidden > MaxChannels || (long)Classes * Cluster > MaxChannels)
            throw new SettingsException(string.Create(CultureInfo.InvariantCulture,
                $"The classifier is too wide: hidden {Hidden:N0}, {Classes:N0} classes × cluster {Cluster:N0} output neurons; at most {MaxChannels:N0} each."));
        if (!(Dropout >= 0 && Dropout < 1))
            throw new SettingsException(string.Create(CultureInfo.InvariantCulture, $"Dropout must be in [0, 1) (got {Dropout})."));
        if (HeadSize.H < 1 || HeadSize.W < 1)
            throw new SettingsException(
                $"Input {Height}×{Width} is too small for stem stride {StemStride}, the 2×2 pooling and sap {SecondPool}: nothing is left for the classifier.");
    }

    /// <summary>The most channels (or output neurons) a layer may have.</summary>
    internal const int MaxChannels = 1 << 20;

    private static void Positive(int value, string what)
    {
        if (value < 1) throw new SettingsException($"The {what} must be at least 1 (got {value}).");
    }
}
