using System.Collections.Concurrent;
using SkiaSharp;

namespace SpiKernel.Pipeline.Data;

/// <summary>
/// TinyImageNet-200 folder reader: <c>wnids.txt</c>, <c>train/&lt;wnid&gt;/images/*.JPEG</c>, and
/// <c>val/images/*.JPEG</c> labelled by <c>val/val_annotations.txt</c> (the public test split has no labels, so
/// the validation split serves as the test set). JPEGs are decoded by SkiaSharp; grey images become RGB.
/// </summary>
internal static class TinyImageNet
{
    private const int Size = 64;

    private static readonly float[] Mean = [0.4802f, 0.4481f, 0.3975f];
    private static readonly float[] Std = [0.2770f, 0.2691f, 0.2821f];

    /// <summary>Loads the data set rooted at <paramref name="root"/>.</summary>
    public static DataSplit Load(string root)
    {
        (string[] wnids, Dictionary<string, int> index, IReadOnlyList<string> names) = Classes(root);
        var train = new List<(string File, int Label)>();
        foreach (string wnid in wnids)
        {
            string dir = Path.Combine(root, "train", wnid, "images");
            if (!Directory.Exists(dir)) throw new DataFormatException(dir, "folder not found");
            string[] images = [.. Directory.GetFiles(dir).Where(IsJpeg).Order(StringComparer.Ordinal)];
            if (images.Length == 0) throw new DataFormatException(dir, $"no JPEG images: class {wnid} would have nothing to train on");
            train.AddRange(images.Select(f => (f, index[wnid])));
        }
        List<(string File, int Label)> val = Validation(root, index); // checked before the long decode of the training images
        return new DataSplit(Decode("tinyimagenet train", train, names, Mean, Std), Decode("tinyimagenet val", val, names, Mean, Std), Path.GetFullPath(root));
    }

    /// <summary>The validation split alone (the test set here): the training images are not read.</summary>
    public static ImageDataset LoadTest(string root)
    {
        (string[] _, Dictionary<string, int> index, IReadOnlyList<string> names) = Classes(root);
        return Decode("tinyimagenet val", Validation(root, index), names, Mean, Std);
    }

    private static (string[] Wnids, Dictionary<string, int> Index, IReadOnlyList<string> Names) Classes(string root)
    {
        if (!Directory.Exists(root)) throw new DataFormatException(root, "folder not found");
        string wnidsFile = Path.Combine(root, "wnids.txt");
        if (!File.Exists(wnidsFile)) throw new DataFormatException(wnidsFile, "file not found (not a TinyImageNet-200 folder)");
        string[] wnids = File.ReadAllLines(wnidsFile).Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();
        if (wnids.Length == 0) throw new DataFormatException(wnidsFile, "lists no classes");
        if (wnids.GroupBy(w => w, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } twice)
            throw new DataFormatException(wnidsFile, $"lists {twice.Key} more than once");
        var index = wnids.Select((w, i) => (w, i)).ToDictionary(p => p.w, p => p.i);
        return (wnids, index, ReadWords(Path.Combine(root, "words.txt"), wnids));
    }

    private static List<(string File, int Label)> Validation(string root, Dictionary<string, int> index)
    {
        string annotations = Path.Combine(root, "val", "val_annotations.txt");
        if (!File.Exists(annotations)) throw new DataFormatException(annotations, "file not found");
        var val = new List<(string File, int Label)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        int line = 0;
        foreach (string row in File.ReadLines(annotations))
        {
            line++;
            if (row.Trim().Length == 0) continue;
            string[] cols = row.Split('\t');
            if (cols.Length < 2 || !index.TryGetValue(cols[1], out int label))
                throw new DataFormatException(annotations, $"line {line} does not name an image and a known wnid");
            if (!seen.Add(cols[0])) throw new DataFormatException(annotations, $"line {line} names {cols[0]} again");
            val.Add((Path.Combine(root, "val", "images", cols[0]), label));
        }
        if (val.Count == 0) throw new DataFormatException(annotations, "lists no validation images");
        return val;
    }

    private static bool IsJpeg(string f) =>
        f.EndsWith(".jpeg", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".jpg", StringComparison.OrdinalIgnoreCase);

    private static ImageDataset Decode(string name, List<(string File, int Label)> items, IReadOnlyList<string> names, float[] mean, float[] std)
    {
        const int plane = Size * Size;
        var pixels = new byte[(long)items.Count * 3 * plane];
        var errors = new ConcurrentBag<DataFormatException>();
        Parallel.For(0, items.Count, i =>
        {
            string file = items[i].File;
            if (!File.Exists(file)) { errors.Add(new DataFormatException(file, "file not found")); return; }
            // the size from the header first (a huge one is not allocated), then every row decoded: SKBitmap.Decode
            // would accept a file cut short and fill its missing rows
            using SKCodec? codec = SKCodec.Create(file, out SKCodecResult opened);
            if (codec is null) { errors.Add(new DataFormatException(file, "not a decodable image")); return; }
            if (codec.Info.Width != Size || codec.Info.Height != Size)
            {
                errors.Add(new DataFormatException(file, $"is {codec.Info.Width}×{codec.Info.Height}; TinyImageNet images are {Size}×{Size}"));
                return;
            }
            using var bmp = new SKBitmap(new SKImageInfo(Size, Size, SKColorType.Rgba8888, SKAlphaType.Unpremul));
            SKCodecResult decoded = codec.GetPixels(bmp.Info, bmp.GetPixels());
            if (decoded != SKCodecResult.Success) { errors.Add(new DataFormatException(file, $"cannot be decoded whole ({decoded}): truncated or corrupt")); return; }
            long o = (long)i * 3 * plane;
            for (int y = 0; y < Size; y++)
            {
                for (int x = 0; x < Size; x++)
                {
                    SKColor c = bmp.GetPixel(x, y);
                    int p = y * Size + x;
                    pixels[o + p] = c.Red;
                    pixels[o + plane + p] = c.Green;
                    pixels[o + 2 * plane + p] = c.Blue;
                }
            }
        });
        if (!errors.IsEmpty) throw errors.OrderBy(e => e.Path, StringComparer.Ordinal).First();
        return new ImageDataset(name, pixels, items.Select(t => t.Label).ToArray(), 3, Size, Size, names, mean, std);
    }

    private static IReadOnlyList<string> ReadWords(string path, string[] wnids)
    {
        if (!File.Exists(path)) return wnids;
        var words = File.ReadLines(path).Select(l => l.Split('\t')).Where(c => c.Length >= 2)
            .GroupBy(c => c[0]).ToDictionary(g => g.Key, g => g.First()[1].Split(',')[0].Trim());
        return wnids.Select(w => words.TryGetValue(w, out string? n) ? n : w).ToArray();
    }
}
