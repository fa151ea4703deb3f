using SpiKernel.Core;

namespace SpiKernel.Pipeline.Data;

/// <summary>A training set and a test set of the same kind of images, and where they came from.</summary>
internal sealed record DataSplit(ImageDataset Train, ImageDataset Test, string Source)
{
    /// <summary>
    /// Training images <see cref="WithTrainImages"/> left out, class-balanced in draw order, that the validation takes
    /// up to <see cref="ValidationImages"/>; null when none were kept.
    /// </summary>
    public ImageDataset? HeldOut { get; init; }

    /// <summary>The validation's size that <see cref="HeldOut"/> tops the split up to; null: the split alone.</summary>
    public int? ValidationImages { get; init; }

    /// <summary>
    /// Splits <see cref="Train"/> into a training part and a validation part of <paramref name="fraction"/>,
    /// class-stratified and seeded (the same seed always holds out the same images). Every class keeps at least one
    /// training image: on tiny data a large fraction holds out fewer than asked, never a whole class. With
    /// <see cref="HeldOut"/>, the validation part is topped up with those images to <see cref="ValidationImages"/>:
    /// images no training sees, so the validation accuracy is measured on more of them.
    /// </summary>
    public (ImageDataset Train, ImageDataset Validation) SplitValidation(double fraction, int seed)
    {
        if (!(fraction >= 0 && fraction < 1))
            throw new ArgumentOutOfRangeException(nameof(fraction), fraction, "The validation fraction must be in [0, 1).");
        var rng = new Random(seed);
        var train = new List<int>();
        var val = new List<int>();
        foreach (IGrouping<int, int> cls in Enumerable.Range(0, Train.Count).GroupBy(i => Train.Labels[i]).OrderBy(g => g.Key))
        {
            int[] idx = cls.ToArray();
            rng.Shuffle(idx);
            int take = Math.Min((int)Math.Round(idx.Length * fraction), idx.Length - 1);
            val.AddRange(idx.Take(take));
            train.AddRange(idx.Skip(take));
        }
        train.Sort();
        val.Sort();
        ImageDataset validation = Train.Subset(val, Train.Name + " (validation)");
        int extra = Math.Min(Math.Max(0, (ValidationImages ?? 0) - validation.Count), HeldOut?.Count ?? 0);
        if (extra > 0)
            validation = ImageDataset.Concat(validation, HeldOut!.Subset(Enumerable.Range(0, extra).ToArray(), HeldOut.Name),
                string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{validation.Name} and {extra} training images not trained on"));
        return (Train.Subset(train, Train.Name), validation);
    }

    /// <summary>Refuses a count of training or validation images below 1 (null: not given), as <see cref="WithTrainImages"/> would.</summary>
    public static void RefuseCounts(int? trainImages, int? validationImages)
    {
        if (trainImages < 1) throw new SettingsException($"the number of training images must be at least 1 (got {trainImages})");
        if (validationImages < 1) throw new SettingsException($"the number of validation images must be at least 1 (got {validationImages})");
    }

    /// <summary>
    /// The split with at most <paramref name="count"/> training images, drawn class by class in turn (seeded), so the
    /// classes stay balanced; the test set and the normalisation are unchanged. A count at or above the size keeps all.
    /// With <paramref name="validationImages"/>, the draw goes on for that many more (<see cref="HeldOut"/>, the same
    /// training images for the same seed and count), and <see cref="SplitValidation"/> tops its validation up to that
    /// size with them.
    /// </summary>
    public DataSplit WithTrainImages(int count, int seed, int? validationImages = null)
    {
        RefuseCounts(count, validationImages);
        if (count >= Train.Count) return this;
        var rng = new Random(seed);
        Queue<int>[] classes = Enumerable.Range(0, Train.Count).GroupBy(i => Train.Labels[i]).OrderBy(g => g.Key)
            .Select(g =>
            {
                int[] idx = g.ToArray();
                rng.Shuffle(idx);
                return new Queue<int>(idx);
            }).ToArray();
        List<int> Draw(int n)
        {
            var drawn = new List<int>(n);
            while (drawn.Count < n && classes.Any(q => q.Count > 0))
                foreach (Queue<int> q in classes)
                    if (drawn.Count < n && q.TryDequeue(out int i)) drawn.Add(i);
            return drawn;
        }
        List<int> keep = Draw(count);
        List<int> heldOut = Draw(validationImages ?? 0); // after the training draw, which stays as it was without them
        keep.Sort();
        return this with
        {
            Train = Train.Subset(keep, $"{Train.Name} ({count} images)"),
            HeldOut = heldOut.Count > 0 ? Train.Subset(heldOut, $"{Train.Name} (held out)") : null,
            ValidationImages = heldOut.Count > 0 ? validationImages : null,
        };
    }
}
