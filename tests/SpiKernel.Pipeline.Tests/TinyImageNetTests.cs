using SkiaSharp;
using SpiKernel.Pipeline.Data;

namespace SpiKernel.Pipeline.Tests;

public class TinyImageNetTests
{
    private static void Jpeg(string path, SKColor color, int size = 64, bool noise = false)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var bmp = new SKBitmap(size, size);
        bmp.Erase(color);
        var random = new Random(3);
        for (int y = 0; noise && y < size; y++)
            for (int x = 0; x < size; x++)
                bmp.SetPixel(x, y, new SKColor((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256)));
        using SKData data = bmp.Encode(SKEncodedImageFormat.Jpeg, 95);
        File.WriteAllBytes(path, data.ToArray());
    }

    private static void Folder(string root)
    {
        File.WriteAllLines(Path.Combine(root, "wnids.txt"), ["n01", "n02"]);
        File.WriteAllLines(Path.Combine(root, "words.txt"), ["n01\tgoldfish, Carassius auratus", "n02\ttabby, tabby cat"]);
        Jpeg(Path.Combine(root, "train", "n01", "images", "n01_0.JPEG"), new SKColor(250, 0, 0));
        Jpeg(Path.Combine(root, "train", "n01", "images", "n01_1.JPEG"), new SKColor(240, 10, 0));
        Jpeg(Path.Combine(root, "train", "n02", "images", "n02_0.JPEG"), new SKColor(0, 0, 250));
        Jpeg(Path.Combine(root, "val", "images", "val_0.JPEG"), new SKColor(0, 250, 0));
        File.WriteAllLines(Path.Combine(root, "val", "val_annotations.txt"), ["val_0.JPEG\tn02\t0\t0\t63\t63"]);
    }

    [Fact]
    public void Should_DecodeJpegsIntoChannelPlanes_When_FolderIsTinyImageNet()
    {
        using var dir = new TempDir();
        Folder(dir.Path);

        DataSplit split = DatasetCatalog.Load(dir.Path);

        Assert.Equal(3, split.Train.Count);
        Assert.Equal(new[] { 0, 0, 1 }, split.Train.Labels);
        Assert.Equal(new[] { 1 }, split.Test.Labels);
        Assert.Equal(new[] { "goldfish", "tabby" }, split.Train.ClassNames);
        const int plane = 64 * 64;
        Assert.InRange(split.Train.Pixels[100], 240, 255);                   // red plane of a red image
        Assert.InRange(split.Train.Pixels[2 * 3 * plane + 2 * plane + 100], 240, 255); // blue plane of the blue image
        Assert.InRange(split.Test.Pixels[plane + 7], 240, 255);              // green plane of the val image
    }

    [Fact]
    public void Should_DecodeTheValidationImagesAlone_When_OnlyTheTestSplitIsAsked()
    {
        using var dir = new TempDir();
        Folder(dir.Path);
        ImageDataset expected = DatasetCatalog.Load(dir.Path).Test;
        Directory.Delete(Path.Combine(dir.Path, "train", "n02"), recursive: true); // training images are not read

        ImageDataset test = DatasetCatalog.LoadTest(dir.Path);
        Assert.Equal(expected.Name, test.Name);
        Assert.Equal(expected.Labels, test.Labels);
        Assert.Equal(expected.Pixels, test.Pixels);
        Assert.Equal(expected.ClassNames, test.ClassNames);
    }

    [Fact]
    public void Should_NameImage_When_FileIsNotDecodable()
    {
        using var dir = new TempDir();
        Folder(dir.Path);
        string bad = Path.Combine(dir.Path, "train", "n02", "images", "n02_1.JPEG");
        File.WriteAllBytes(bad, [0xff, 0xd8, 0xff, 0x00, 0x01, 0x02]);
        var ex = Assert.Throws<DataFormatException>(() => TinyImageNet.Load(dir.Path));
        Assert.Equal($"{bad}: not a decodable image", ex.Message);
    }

    [Fact]
    public void Should_NameImage_When_ItIsCutShort()
    {
        using var dir = new TempDir();
        Folder(dir.Path);
        string cut = Path.Combine(dir.Path, "train", "n01", "images", "n01_1.JPEG");
        Jpeg(cut, SKColors.Black, noise: true); // most of its bytes are image data, not tables
        byte[] whole = File.ReadAllBytes(cut);
        File.WriteAllBytes(cut, whole[..(whole.Length / 2)]); // a copy that stopped halfway: its header still says 64×64
        var ex = Assert.Throws<DataFormatException>(() => TinyImageNet.Load(dir.Path));
        Assert.True(ex.Message.StartsWith($"{cut}: cannot be decoded whole", StringComparison.Ordinal), ex.Message);
    }

    [Theory]
    [InlineData("class twice")]
    [InlineData("empty class")]
    [InlineData("image twice")]
    [InlineData("no validation")]
    public void Should_RefuseTheFolder_When_ItsListsDoNotAddUp(string fault)
    {
        using var dir = new TempDir();
        Folder(dir.Path);
        string annotations = Path.Combine(dir.Path, "val", "val_annotations.txt");
        (string file, string message) = fault switch
        {
            "class twice" => (Path.Combine(dir.Path, "wnids.txt"), "lists n01 more than once"),
            "empty class" => (Path.Combine(dir.Path, "train", "n02", "images"), "no JPEG images: class n02 would have nothing to train on"),
            "image twice" => (annotations, "line 2 names val_0.JPEG again"),
            _ => (annotations, "lists no validation images"),
        };
        switch (fault)
        {
            case "class twice": File.WriteAllLines(file, ["n01", "n02", "n01"]); break;
            case "empty class": File.Delete(Path.Combine(file, "n02_0.JPEG")); break;
            case "image twice": File.AppendAllLines(file, ["val_0.JPEG\tn01\t0\t0\t63\t63"]); break;
            default: File.WriteAllText(file, ""); break;
        }

        Assert.Equal($"{file}: {message}", Assert.Throws<DataFormatException>(() => TinyImageNet.Load(dir.Path)).Message);
    }

    [Fact]
    public void Should_SayFolderNotFound_When_ClassFolderIsMissing()
    {
        using var dir = new TempDir();
        Folder(dir.Path);
        Directory.Delete(Path.Combine(dir.Path, "train", "n02"), recursive: true);
        var ex = Assert.Throws<DataFormatException>(() => TinyImageNet.Load(dir.Path));
        Assert.Equal($"{Path.Combine(dir.Path, "train", "n02", "images")}: folder not found", ex.Message);
    }

    [Fact]
    public void Should_NameLine_When_AnnotationIsMalformed()
    {
        using var dir = new TempDir();
        Folder(dir.Path);
        File.AppendAllLines(Path.Combine(dir.Path, "val", "val_annotations.txt"), ["val_1.JPEG\tn99\t0\t0\t1\t1"]);
        Assert.Contains("line 2 does not name an image and a known wnid", Assert.Throws<DataFormatException>(() => TinyImageNet.Load(dir.Path)).Message);
    }

    [Fact]
    public void Should_RejectImage_When_SizeIsNot64()
    {
        using var dir = new TempDir();
        Folder(dir.Path);
        Jpeg(Path.Combine(dir.Path, "val", "images", "val_0.JPEG"), SKColors.White, size: 32);
        Assert.Contains("is 32×32", Assert.Throws<DataFormatException>(() => TinyImageNet.Load(dir.Path)).Message);
    }
}
