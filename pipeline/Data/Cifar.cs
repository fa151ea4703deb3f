namespace SpiKernel.Pipeline.Data;

/// <summary>
/// CIFAR-10 and CIFAR-100 "binary version" readers. A record is the label byte(s) — CIFAR-100 has coarse then
/// fine — followed by 3072 bytes: the 32×32 red, green and blue planes.
/// </summary>
internal static class Cifar
{
    private const int ImageBytes = 3 * 32 * 32;

    private static readonly string[] Cifar10Names =
        ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

    /// <summary>Loads CIFAR-10 from the folder holding data_batch_1..5.bin and test_batch.bin (or its parent).</summary>
    public static DataSplit LoadCifar10(string directory)
    {
        Layout c = Cifar10Layout(directory);
        ImageDataset train = c.Read(train: true), test = c.Read(train: false);
        // every batch file of CIFAR-10 holds as many records (10,000): a copy cut on a record boundary reads as whole
        if (test.Count * c.TrainFiles.Length != train.Count)
            throw new DataFormatException(c.TestFiles[0], $"{test.Count} records, the training batches {train.Count / c.TrainFiles.Length} each: cut short?");
        return new DataSplit(train, test, Path.GetFullPath(c.Dir));
    }

    /// <summary>One split of CIFAR-10 (train: data_batch_1..5.bin; test: test_batch.bin); the other's files are not read.</summary>
    public static ImageDataset Cifar10(string directory, bool train) => Cifar10Layout(directory).Read(train);

    /// <summary>Loads CIFAR-100 (train.bin, test.bin) with fine (100) or coarse (20) labels.</summary>
    public static DataSplit LoadCifar100(string directory, bool coarse = false)
    {
        Layout c = Cifar100Layout(directory, coarse);
        return new DataSplit(c.Read(train: true), c.Read(train: false), Path.GetFullPath(c.Dir));
    }

    /// <summary>One split of CIFAR-100 (train.bin or test.bin); the other file is not read.</summary>
    public static ImageDataset Cifar100(string directory, bool coarse, bool train) => Cifar100Layout(directory, coarse).Read(train);

    private static Layout Cifar10Layout(string directory)
    {
        string dir = Locate(directory, "cifar-10-batches-bin", "test_batch.bin");
        return new Layout("cifar10", dir, Enumerable.Range(1, 5).Select(i => Path.Combine(dir, $"data_batch_{i}.bin")).ToArray(), [Path.Combine(dir, "test_batch.bin")],
            1, 0, ReadNames(Path.Combine(dir, "batches.meta.txt"), Cifar10Names), [0.4914f, 0.4822f, 0.4465f], [0.2470f, 0.2435f, 0.2616f]);
    }

    private static Layout Cifar100Layout(string directory, bool coarse)
    {
        string dir = Locate(directory, "cifar-100-binary", "test.bin");
        int classes = coarse ? 20 : 100;
        string namesFile = Path.Combine(dir, coarse ? "coarse_label_names.txt" : "fine_label_names.txt");
        return new Layout("cifar100", dir, [Path.Combine(dir, "train.bin")], [Path.Combine(dir, "test.bin")], 2, coarse ? 0 : 1,
            ReadNames(namesFile, Enumerable.Range(0, classes).Select(i => $"class{i}").ToArray()), [0.5071f, 0.4865f, 0.4409f], [0.2673f, 0.2564f, 0.2762f]);
    }

    // where a CIFAR folder's splits are and how its records read: found and named once for both splits
    private sealed record Layout(string Name, string Dir, string[] TrainFiles, string[] TestFiles, int LabelBytes, int LabelOffset,
        IReadOnlyList<string> ClassNames, float[] Mean, float[] Std)
    {
        public ImageDataset Read(bool train) =>
            Cifar.Read($"{Name} {(train ? "train" : "test")}", train ? TrainFiles : TestFiles, LabelBytes, LabelOffset, ClassNames, Mean, Std);
    }

    private static string Locate(string directory, string subfolder, string marker)
    {
        if (!Directory.Exists(directory)) throw new DataFormatException(directory, "folder not found");
        if (File.Exists(Path.Combine(directory, marker))) return directory;
        string sub = Path.Combine(directory, subfolder);
        if (File.Exists(Path.Combine(sub, marker))) return sub;
        throw new DataFormatException(directory, $"no {marker} here or in {subfolder}/ — not a CIFAR binary folder");
    }

    private static ImageDataset Read(string name, string[] files, int labelBytes, int labelOffset,
        IReadOnlyList<string> classNames, float[] mean, float[] std)
    {
        int record = labelBytes + ImageBytes;
        var pixels = new List<byte[]>();
        var labels = new List<int>();
        foreach (string file in files)
        {
            byte[] data = IdxReader.ReadAll(file);
            if (data.Length == 0) throw new DataFormatException(file, "empty file");
            if (data.Length % record != 0)
                throw new DataFormatException(file, $"truncated: {data.Length} bytes is not a whole number of {record}-byte records");
            int n = data.Length / record;
            if (labels.Count > 0 && n * (long)pixels.Count != labels.Count) // CIFAR-10's training batches, all of one size
                throw new DataFormatException(file, $"{n} records, the batches before it {labels.Count / pixels.Count} each: cut short?");
            var px = new byte[(long)n * ImageBytes];
            for (int i = 0; i < n; i++)
            {
                int label = data[i * record + labelOffset];
                if (label >= classNames.Count)
                    throw new DataFormatException(file, $"record {i} has label {label}, outside 0..{classNames.Count - 1}");
                labels.Add(label);
                Array.Copy(data, (long)i * record + labelBytes, px, (long)i * ImageBytes, ImageBytes);
            }
            pixels.Add(px);
        }
        byte[] all = pixels.Count == 1 ? pixels[0] : Concat(pixels);
        return new ImageDataset(name, all, labels.ToArray(), 3, 32, 32, classNames, mean, std);
    }

    private static byte[] Concat(List<byte[]> parts)
    {
        var all = new byte[parts.Sum(p => (long)p.Length)];
        long at = 0;
        foreach (byte[] p in parts)
        {
            Array.Copy(p, 0, all, at, p.Length);
            at += p.Length;
        }
        return all;
    }

    private static IReadOnlyList<string> ReadNames(string path, IReadOnlyList<string> fallback)
    {
        if (!File.Exists(path)) return fallback;
        string[] names = File.ReadAllLines(path).Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();
        return names.Length == fallback.Count ? names : fallback;
    }
}
