namespace SpiKernel.Core;

/// <summary>
/// How a network's input is made from 8-bit pixels: <c>v · (1 / (255·std)) + (−mean / std)</c>, in float32, per
/// channel. Training's loader and ONNX Runtime evaluation both use this one definition, so an exported model sees
/// exactly the values it was trained and verified on (spikes are thresholds: a last-bit difference can flip one).
/// </summary>
/// <param name="Scale">1 / (255·std).</param>
/// <param name="Shift">−mean / std.</param>
public readonly record struct PixelNormalization(float Scale, float Shift)
{
    /// <summary>The map for one channel's mean and standard deviation of pixel/255.</summary>
    public static PixelNormalization For(float mean, float std) => new(1f / (255f * std), -mean / std);

    /// <summary>The network input for pixel value <paramref name="v"/>.</summary>
    public float Apply(byte v) => v * Scale + Shift;
}
