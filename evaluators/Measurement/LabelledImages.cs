using SpiKernel.Core;

namespace SpiKernel.Evaluators.Measurement;

/// <summary>Test images as raw bytes (N×C×H×W, 0–255) with their labels; what accuracy is measured on.</summary>
/// <param name="Name">Human-readable name (e.g. "fashion-mnist (embedded) test").</param>
/// <param name="Pixels">Pixel bytes.</param>
/// <param name="Labels">Labels, 0-based.</param>
/// <param name="Channels">Channels per image.</param>
/// <param name="Height">Image height.</param>
/// <param name="Width">Image width.</param>
public sealed record LabelledImages(string Name, byte[] Pixels, int[] Labels, int Channels, int Height, int Width)
{
    /// <summary>Number of images.</summary>
    public int Count => Labels.Length;

    /// <summary>Values per image.</summary>
    public int ImageSize => Channels * Height * Width;

    /// <summary>
    /// Images <paramref name="start"/>..+<paramref name="count"/> as float32, normalised per channel with the same
    /// arithmetic as training's loader (<c>v · (1 / (255·std)) + (−mean / std)</c>), so a model sees exactly the
    /// values it was verified on (<see cref="PixelNormalization"/>). Wraps around the end when more images are asked than exist.
    /// </summary>
    public float[] Normalized(int start, int count, float[] mean, float[] std)
    {
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(std);
        if (mean.Length != Channels || std.Length != Channels)
            throw new InvalidDataException($"{Name}: normalisation has {mean.Length} means and {std.Length} stds for {Channels} channels.");
        int size = ImageSize, plane = Height * Width;
        var buffer = new float[(long)count * size];
        for (int k = 0; k < count; k++)
        {
            int i = (start + k) % Count;
            for (int c = 0; c < Channels; c++)
            {
                PixelNormalization norm = PixelNormalization.For(mean[c], std[c]);
                ReadOnlySpan<byte> src = Pixels.AsSpan(i * size + c * plane, plane);
                Span<float> dst = buffer.AsSpan(k * size + c * plane, plane);
                for (int p = 0; p < plane; p++) dst[p] = norm.Apply(src[p]);
            }
        }
        return buffer;
    }
}
