using SpiKernel.Core;
using SpiKernel.Models.Architecture;

namespace SpiKernel.Pipeline.Data;

/// <summary>
/// Training-time augmentation: random crop after zero padding (<see cref="CropPadding"/> pixels each side) and a
/// horizontal flip with probability ½, as SNASNet trains CIFAR. <see cref="None"/> leaves images as they are.
/// </summary>
public sealed record Augmentation(int CropPadding, bool HorizontalFlip)
{
    /// <summary>No augmentation.</summary>
    public static Augmentation None { get; } = new(0, false);

    /// <summary>SNASNet's CIFAR augmentation: crop with padding 4, flip.</summary>
    public static Augmentation CropFlip { get; } = new(4, true);

    /// <summary>True when nothing is changed.</summary>
    public bool IsIdentity => CropPadding == 0 && !HorizontalFlip;

    /// <summary>Parses none | crop-flip | crop:P | flip | crop:P+flip.</summary>
    public static Augmentation Parse(string text)
    {
        string t = text.Trim().ToLowerInvariant();
        if (t == "none") return None;
        if (t == "crop-flip") return CropFlip;
        int pad = 0;
        bool flip = false;
        foreach (string part in t.Split('+'))
        {
            if (part == "flip") flip = true;
            else if (part.StartsWith("crop:", StringComparison.Ordinal) && int.TryParse(part[5..], out int p) && p >= 0) pad = p;
            else throw new SettingsException($"Unknown augmentation '{text}': use none, crop-flip, flip, crop:P or crop:P+flip.");
        }
        return new Augmentation(pad, flip);
    }

    /// <inheritdoc />
    public override string ToString() => IsIdentity ? "none"
        : string.Join('+', new[] { CropPadding > 0 ? $"crop:{CropPadding}" : null, HorizontalFlip ? "flip" : null }.Where(s => s != null));

    /// <summary>
    /// Writes image <paramref name="src"/> (C×H×W bytes) into <paramref name="dst"/> normalised, shifted by
    /// (dy, dx) with zero fill and optionally mirrored. Zero fill means raw pixel 0, as padding before normalising.
    /// </summary>
    internal static void Write(ReadOnlySpan<byte> src, Span<float> dst, int channels, int height, int width,
        int dy, int dx, bool flip, float[] mean, float[] std)
    {
        for (int c = 0; c < channels; c++)
        {
            PixelNormalization norm = PixelNormalization.For(mean[c], std[c]);
            int plane = c * height * width;
            for (int y = 0; y < height; y++)
            {
                int sy = y + dy;
                for (int x = 0; x < width; x++)
                {
                    int sx = (flip ? width - 1 - x : x) + dx;
                    byte v = sy >= 0 && sy < height && sx >= 0 && sx < width ? src[plane + sy * width + sx] : (byte)0;
                    dst[plane + y * width + x] = norm.Apply(v);
                }
            }
        }
    }
}
