namespace SpiKernel.Pipeline.Data;

/// <summary>Fashion-MNIST: 28×28 grey images of 10 clothing classes (Zalando, MIT licence).</summary>
internal static class FashionMnist
{
    /// <summary>Where Debian's <c>dataset-fashion-mnist</c> package installs the full set.</summary>
    public const string DebianDirectory = "/usr/share/datasets/fashion-mnist";

    /// <summary>The class names by label.</summary>
    public static IReadOnlyList<string> ClassNames { get; } =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    private static readonly float[] Mean = [0.2860f];
    private static readonly float[] Std = [0.3530f];

    /// <summary>True when <paramref name="directory"/> holds the four IDX files (gzip or raw).</summary>
    public static bool IsPresent(string directory) =>
        Directory.Exists(directory) && Find(directory, "train-images-idx3-ubyte") != null;

    /// <summary>Whether <paramref name="directory"/> holds the test images (all an evaluation reads).</summary>
    public static bool HasTestImages(string directory) =>
        Directory.Exists(directory) && Find(directory, "t10k-images-idx3-ubyte") != null;

    /// <summary>Loads train (60k) and test (10k) from a folder of IDX files, gzip-compressed or raw.</summary>
    public static DataSplit Load(string directory)
    {
        if (!Directory.Exists(directory))
            throw new DataFormatException(directory, "folder not found");
        ImageDataset train = Read(directory, "train", $"fashion-mnist train", name => File.OpenRead(name));
        ImageDataset test = Read(directory, "t10k", $"fashion-mnist test", name => File.OpenRead(name));
        return new DataSplit(train, test, Path.GetFullPath(directory));
    }

    /// <summary>The test split (10k) alone, from a folder of IDX files: the training files are not read.</summary>
    public static ImageDataset LoadTest(string directory)
    {
        if (!Directory.Exists(directory))
            throw new DataFormatException(directory, "folder not found");
        return Read(directory, "t10k", $"fashion-mnist test", name => File.OpenRead(name));
    }

    /// <summary>The balanced 10k/2k subset compiled into this program (made by scripts/make_embedded_fashion_mnist.py).</summary>
    public static DataSplit LoadEmbedded()
    {
        ImageDataset train = Read("embedded:", "train", "fashion-mnist (embedded) train", OpenEmbedded, gz: true);
        return new DataSplit(train, LoadEmbeddedTest(), "embedded");
    }

    /// <summary>The test split (2k) of the embedded subset alone.</summary>
    public static ImageDataset LoadEmbeddedTest() => Read("embedded:", "t10k", "fashion-mnist (embedded) test", OpenEmbedded, gz: true);

    private static Stream OpenEmbedded(string name) =>
        typeof(FashionMnist).Assembly.GetManifestResourceStream("fashion-mnist-embedded/" + Path.GetFileName(name))
            ?? throw new DataFormatException(name, "embedded resource missing from this build");

    private static ImageDataset Read(string dir, string prefix, string name, Func<string, Stream> open, bool gz = false)
    {
        string images = gz ? Path.Combine(dir, $"{prefix}-images-idx3-ubyte.gz") : Find(dir, $"{prefix}-images-idx3-ubyte")
            ?? throw new DataFormatException(Path.Combine(dir, $"{prefix}-images-idx3-ubyte[.gz]"), "file not found");
        string labels = gz ? Path.Combine(dir, $"{prefix}-labels-idx1-ubyte.gz") : Find(dir, $"{prefix}-labels-idx1-ubyte")
            ?? throw new DataFormatException(Path.Combine(dir, $"{prefix}-labels-idx1-ubyte[.gz]"), "file not found");
        return FromIdx(images, labels, name, open);
    }

    /// <summary>Builds a data set from one IDX image file and one label file.</summary>
    public static ImageDataset FromIdx(string imagesPath, string labelsPath, string name, Func<string, Stream>? open = null)
    {
        open ??= File.OpenRead;
        (int count, int rows, int cols, byte[] pixels) = IdxReader.ReadImages(imagesPath, Open(open, imagesPath));
        byte[] labelBytes = IdxReader.ReadLabels(labelsPath, Open(open, labelsPath));
        if (labelBytes.Length != count)
            throw new DataFormatException(labelsPath, $"{labelBytes.Length} labels but {imagesPath} holds {count} images");
        int bad = Array.FindIndex(labelBytes, b => b >= ClassNames.Count);
        if (bad >= 0)
            throw new DataFormatException(labelsPath, $"label {labelBytes[bad]} at index {bad} is outside 0..{ClassNames.Count - 1}");
        return new ImageDataset(name, pixels, labelBytes.Select(b => (int)b).ToArray(), 1, rows, cols, ClassNames, Mean, Std);
    }

    private static Stream Open(Func<string, Stream> open, string path)
    {
        try
        {
            return open(path);
        }
        catch (FileNotFoundException)
        {
            throw new DataFormatException(path, "file not found");
        }
    }

    private static string? Find(string dir, string stem)
    {
        foreach (string candidate in new[] { stem + ".gz", stem, stem.Replace("-idx", ".idx", StringComparison.Ordinal) })
        {
            string p = Path.Combine(dir, candidate);
            if (File.Exists(p)) return p;
        }
        return null;
    }
}
