namespace SpiKernel.Pipeline.Data;

/// <summary>The data set kinds the pipeline reads.</summary>
public enum DatasetKind
{
    /// <summary>Fashion-MNIST IDX files.</summary>
    FashionMnist,

    /// <summary>CIFAR-10 binary version.</summary>
    Cifar10,

    /// <summary>CIFAR-100 binary version, fine labels.</summary>
    Cifar100,

    /// <summary>CIFAR-100 binary version, coarse (20 super-class) labels.</summary>
    Cifar100Coarse,

    /// <summary>TinyImageNet-200 folder.</summary>
    TinyImageNet,
}

/// <summary>Resolves what <c>--data</c> names to a loaded <see cref="DataSplit"/>.</summary>
internal static class DatasetCatalog
{
    /// <summary>The word that selects the Fashion-MNIST subset compiled into the program.</summary>
    public const string Embedded = "embedded";

    /// <summary>
    /// Loads <paramref name="data"/>: <c>embedded</c>, or a folder (its kind detected from its files unless
    /// <paramref name="kind"/> is given). With nothing given, the full Fashion-MNIST at Debian's location is used when
    /// installed, else the embedded subset.
    /// </summary>
    public static DataSplit Load(string? data, DatasetKind? kind = null) => SameKind(Resolve(data, kind) switch
    {
        (null, _) => FashionMnist.LoadEmbedded(),
        ({ } dir, DatasetKind.FashionMnist) => FashionMnist.Load(dir),
        ({ } dir, DatasetKind.Cifar10) => Cifar.LoadCifar10(dir),
        ({ } dir, DatasetKind.Cifar100) => Cifar.LoadCifar100(dir),
        ({ } dir, DatasetKind.Cifar100Coarse) => Cifar.LoadCifar100(dir, coarse: true),
        ({ } dir, DatasetKind.TinyImageNet) => TinyImageNet.Load(dir),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    });

    // a test set of other images than the training set's would fail only after the whole training, in the network
    private static DataSplit SameKind(DataSplit split)
    {
        ImageDataset a = split.Train, b = split.Test;
        if ((a.Channels, a.Height, a.Width) != (b.Channels, b.Height, b.Width))
            throw new DataFormatException(split.Source, $"the test images are {b.Channels}×{b.Height}×{b.Width}, the training images {a.Channels}×{a.Height}×{a.Width}");
        if (!a.ClassNames.SequenceEqual(b.ClassNames))
            throw new DataFormatException(split.Source, $"the test set has {b.ClassNames.Count} classes ({string.Join(", ", b.ClassNames.Take(3))}, …), the training set {a.ClassNames.Count} ({string.Join(", ", a.ClassNames.Take(3))}, …)");
        return split;
    }

    /// <summary>
    /// The kind to read <paramref name="data"/> as for a network of <paramref name="classes"/> classes, where its files
    /// alone cannot tell: a CIFAR-100 folder gives a 20-class network (trained with <c>--dataset cifar100-coarse</c>)
    /// its 20 coarse labels. Null: detect as usual.
    /// </summary>
    public static DatasetKind? KindFor(string? data, int classes) =>
        classes == 20 && !string.IsNullOrWhiteSpace(data) && Directory.Exists(data) && Detect(data) == DatasetKind.Cifar100 ? DatasetKind.Cifar100Coarse : null;

    /// <summary>What no <c>--data</c> means on this machine: Debian's full Fashion-MNIST folder when installed, else <see cref="Embedded"/>.</summary>
    public static string DefaultSource() => Resolve(null, null).Folder ?? Embedded;

    /// <summary>
    /// The test split of what <see cref="Load"/> would load, alone: the training files are not read (an evaluation
    /// needs only these, and a damaged training file does not stop it).
    /// </summary>
    public static ImageDataset LoadTest(string? data, DatasetKind? kind = null) => Resolve(data, kind) switch
    {
        (null, _) => FashionMnist.LoadEmbeddedTest(),
        ({ } dir, DatasetKind.FashionMnist) => FashionMnist.LoadTest(dir),
        ({ } dir, DatasetKind.Cifar10) => Cifar.Cifar10(dir, train: false),
        ({ } dir, DatasetKind.Cifar100) => Cifar.Cifar100(dir, coarse: false, train: false),
        ({ } dir, DatasetKind.Cifar100Coarse) => Cifar.Cifar100(dir, coarse: true, train: false),
        ({ } dir, DatasetKind.TinyImageNet) => TinyImageNet.LoadTest(dir),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    // the folder and its kind, or no folder for the embedded subset
    private static (string? Folder, DatasetKind Kind) Resolve(string? data, DatasetKind? kind)
    {
        if (string.IsNullOrWhiteSpace(data))
        {
            if (kind is null or DatasetKind.FashionMnist && FashionMnist.IsPresent(FashionMnist.DebianDirectory))
                return (FashionMnist.DebianDirectory, DatasetKind.FashionMnist);
            if (kind is null or DatasetKind.FashionMnist) return (null, DatasetKind.FashionMnist);
            throw new DataFormatException("--data", $"data set {kind} has no default location; pass --data DIR");
        }
        if (string.Equals(data, Embedded, StringComparison.OrdinalIgnoreCase))
        {
            if (kind is not null and not DatasetKind.FashionMnist)
                throw new DataFormatException("--data", $"the embedded data is Fashion-MNIST, not {kind}");
            return (null, DatasetKind.FashionMnist);
        }
        if (!Directory.Exists(data))
            throw new DataFormatException(data, File.Exists(data) ? "a file, not a data folder (give the folder that holds the data set's files, or embedded)" : "folder not found");
        return (data, kind ?? Detect(data));
    }

    /// <summary>Guesses a folder's kind from the files in it.</summary>
    public static DatasetKind Detect(string dir)
    {
        bool Has(params string[] parts) => File.Exists(Path.Combine([dir, .. parts]));
        if (FashionMnist.IsPresent(dir) || FashionMnist.HasTestImages(dir)) return DatasetKind.FashionMnist;
        if (Has("test_batch.bin") || Has("cifar-10-batches-bin", "test_batch.bin")) return DatasetKind.Cifar10;
        if (Has("test.bin") || Has("cifar-100-binary", "test.bin")) return DatasetKind.Cifar100;
        if (Has("wnids.txt")) return DatasetKind.TinyImageNet;
        throw new DataFormatException(dir, "no known data set here (expected Fashion-MNIST IDX files, CIFAR .bin batches or TinyImageNet's wnids.txt)");
    }
}
