namespace SpiKernel.Pipeline.Data;

/// <summary>
/// Images as raw bytes (N×C×H×W, channel-planar, 0–255) with integer labels. Immutable; subsets share nothing.
/// Normalisation constants travel with the data so a trained model can record them.
/// </summary>
internal sealed class ImageDataset
{
    /// <summary>Creates a data set; throws when the sizes disagree.</summary>
    public ImageDataset(string name, byte[] pixels, int[] labels, int channels, int height, int width,
        IReadOnlyList<string> classNames, float[] mean, float[] std)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentNullException.ThrowIfNull(labels);
        if (pixels.LongLength != (long)labels.Length * channels * height * width)
            throw new ArgumentException($"{name}: {pixels.LongLength} pixel bytes do not make {labels.Length} images of {channels}×{height}×{width}.");
        if (mean.Length != channels || std.Length != channels)
            throw new ArgumentException($"{name}: normalisation needs one mean and one std per channel ({channels}).");
        Name = name;
        Pixels = pixels;
        Labels = labels;
        Channels = channels;
        Height = height;
        Width = width;
        ClassNames = classNames;
        Mean = mean;
        Std = std;
    }

    /// <summary>Human-readable name, e.g. "fashion-mnist (embedded) train".</summary>
    public string Name { get; }

    /// <summary>Pixel bytes.</summary>
    public byte[] Pixels { get; }

    /// <summary>Labels, 0-based.</summary>
    public int[] Labels { get; }

    /// <summary>Image channels.</summary>
    public int Channels { get; }

    /// <summary>Image height.</summary>
    public int Height { get; }

    /// <summary>Image width.</summary>
    public int Width { get; }

    /// <summary>Class names by label.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>Per-channel mean of pixel/255, subtracted before training.</summary>
    public float[] Mean { get; }

    /// <summary>Per-channel standard deviation of pixel/255, divided by before training.</summary>
    public float[] Std { get; }

    /// <summary>Number of images.</summary>
    public int Count => Labels.Length;

    /// <summary>Bytes per image.</summary>
    public int ImageSize => Channels * Height * Width;

    /// <summary>A copy holding the images at <paramref name="indices"/>, in that order.</summary>
    public ImageDataset Subset(IReadOnlyList<int> indices, string name)
    {
        int size = ImageSize;
        var pixels = new byte[(long)indices.Count * size];
        var labels = new int[indices.Count];
        for (int k = 0; k < indices.Count; k++)
        {
            Array.Copy(Pixels, (long)indices[k] * size, pixels, (long)k * size, size);
            labels[k] = Labels[indices[k]];
        }
        return new ImageDataset(name, pixels, labels, Channels, Height, Width, ClassNames, Mean, Std);
    }

    /// <summary>The images of <paramref name="first"/> then those of <paramref name="second"/> (same shape, classes and normalisation).</summary>
    public static ImageDataset Concat(ImageDataset first, ImageDataset second, string name)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(second);
        if (first.Channels != second.Channels || first.Height != second.Height || first.Width != second.Width || !first.ClassNames.SequenceEqual(second.ClassNames))
            throw new ArgumentException($"{first.Name} and {second.Name} are not images of the same kind.", nameof(second));
        return new ImageDataset(name, [.. first.Pixels, .. second.Pixels], [.. first.Labels, .. second.Labels],
            first.Channels, first.Height, first.Width, first.ClassNames, first.Mean, first.Std);
    }

    /// <summary>How many images each class has.</summary>
    internal int[] ClassCounts()
    {
        var counts = new int[ClassNames.Count];
        foreach (int l in Labels) counts[l]++;
        return counts;
    }
}
