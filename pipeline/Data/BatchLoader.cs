using static TorchSharp.torch;

namespace SpiKernel.Pipeline.Data;

/// <summary>Turns images of an <see cref="ImageDataset"/> into normalised float tensors, batch by batch.</summary>
internal static class BatchLoader
{
    /// <summary>The batches of one pass over <paramref name="data"/>, shuffled by <paramref name="rng"/> when given.</summary>
    public static IEnumerable<int[]> Batches(int count, int batchSize, Random? rng, bool dropLast = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        int[] order = Enumerable.Range(0, count).ToArray();
        if (rng != null) rng.Shuffle(order);
        for (int start = 0; start < count; start += batchSize)
        {
            int n = Math.Min(batchSize, count - start);
            if (dropLast && n < batchSize) yield break;
            yield return order.AsSpan(start, n).ToArray();
        }
    }

    /// <summary>
    /// Images [n, C, H, W] (float32, normalised) and labels [n] (int64) for <paramref name="indices"/>;
    /// <paramref name="augmentation"/> draws its crops and flips from <paramref name="rng"/>.
    /// </summary>
    public static (Tensor Images, Tensor Labels) Load(ImageDataset data, IReadOnlyList<int> indices,
        Augmentation? augmentation = null, Random? rng = null)
    {
        int size = data.ImageSize;
        var buffer = new float[(long)indices.Count * size];
        var labels = new long[indices.Count];
        Augmentation aug = augmentation ?? Augmentation.None;
        if (!aug.IsIdentity) ArgumentNullException.ThrowIfNull(rng);
        for (int k = 0; k < indices.Count; k++)
        {
            int i = indices[k];
            int dy = 0, dx = 0;
            bool flip = false;
            if (!aug.IsIdentity)
            {
                if (aug.CropPadding > 0)
                {
                    dy = rng!.Next(-aug.CropPadding, aug.CropPadding + 1);
                    dx = rng.Next(-aug.CropPadding, aug.CropPadding + 1);
                }
                flip = aug.HorizontalFlip && rng!.Next(2) == 1;
            }
            Augmentation.Write(data.Pixels.AsSpan(i * size, size), buffer.AsSpan(k * size, size),
                data.Channels, data.Height, data.Width, dy, dx, flip, data.Mean, data.Std);
            labels[k] = data.Labels[i];
        }
        return (tensor(buffer, [indices.Count, data.Channels, data.Height, data.Width]), tensor(labels));
    }
}
