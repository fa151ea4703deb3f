using SpiKernel.Core;

namespace SpiKernel.Pipeline.Data;

/// <summary>A training set and a test set of the same kind of images, and where they came from.</summary>
internal sealed record DataSplit(ImageDataset Train, ImageDataset Test, string Source)
{
    /// <summary>
    /// Splits <see cref="Train"/> into a training part and a validation part of <paramref name="fraction"/>,
    /// class-stratified and seeded (the same seed always holds out the same images). Every class keeps at least one
    /// training image: on tiny data a large fraction holds out fewer than asked, never a whole class.
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
        return (Train.Subset(train, Train.Name), Train.Subset(val, Train.Name + " (validation)"));
    }

    /// <summary>
    /// The split with at most <paramref name="count"/> training images, drawn class by class in turn (seeded), so the
    /// classes stay balanced; the test set and the normalisation are unchanged. A count at or above the size keeps all.
    /// </summary>
    public DataSplit WithTrainImages(int count, int seed)
    {
        if (count < 1) throw new SettingsException($"the number of training images must be at least 1 (got {count})");
        if (count >= Train.Count) return this;
        var rng = new Random(seed);
        Queue<int>[] classes = Enumerable.Range(0, Train.Count).GroupBy(i => Train.Labels[i]).OrderBy(g => g.Key)
            .Select(g =>
            {
                int[] idx = g.ToArray();
                rng.Shuffle(idx);
                return new Queue<int>(idx);
            }).ToArray();
        var keep = new List<int>(count);
        while (keep.Count < count)
            foreach (Queue<int> q in classes)
                if (keep.Count < count && q.TryDequeue(out int i)) keep.Add(i);
        keep.Sort();
        return this with { Train = Train.Subset(keep, $"{Train.Name} ({count} images)") };
    }
}
