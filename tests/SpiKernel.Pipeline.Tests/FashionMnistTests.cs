using SpiKernel.Pipeline.Data;

namespace SpiKernel.Pipeline.Tests;

public class FashionMnistTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Should_ReadImagesAndLabels_When_IdxFilesAreGzipOrRaw(bool gzip)
    {
        using var dir = new TempDir();
        IdxWriter.FashionMnistFolder(dir.Path, train: 30, test: 12, gzip);

        DataSplit split = FashionMnist.Load(dir.Path);

        Assert.Equal(30, split.Train.Count);
        Assert.Equal(12, split.Test.Count);
        Assert.Equal((1, 28, 28), (split.Train.Channels, split.Train.Height, split.Train.Width));
        Assert.Equal(7, split.Train.Labels[17]);
        Assert.Equal((byte)((5 * 7 + 100) % 256), split.Train.Pixels[5 * 784 + 100]);
    }

    [Fact]
    public void Should_RefuseTheFolder_When_TestImagesAreOfAnotherSize()
    {
        using var dir = new TempDir();
        IdxWriter.FashionMnistFolder(dir.Path, train: 30, test: 12, gzip: false);
        IdxWriter.Write(Path.Combine(dir.Path, "t10k-images-idx3-ubyte"), IdxWriter.Images(12, 32, 32, (i, p) => 0), gzip: false);

        // before, every epoch trained and the final test pass crashed in the network (exit 70)
        var ex = Assert.Throws<DataFormatException>(() => DatasetCatalog.Load(dir.Path));
        Assert.Equal($"{Path.GetFullPath(dir.Path)}: the test images are 1×32×32, the training images 1×28×28", ex.Message);
    }

    [Fact]
    public void Should_EvaluateAFolderOfTestFilesOnly_When_ItHasNoTrainingFiles()
    {
        using var dir = new TempDir();
        IdxWriter.FashionMnistFolder(dir.Path, train: 30, test: 12, gzip: true);
        foreach (string f in Directory.GetFiles(dir.Path, "train-*")) File.Delete(f);

        Assert.Equal(DatasetKind.FashionMnist, DatasetCatalog.Detect(dir.Path));
        Assert.Equal(12, DatasetCatalog.LoadTest(dir.Path).Count);
    }

    [Fact]
    public void Should_HoldBalancedSubset_When_EmbeddedDataIsLoaded()
    {
        DataSplit split = FashionMnist.LoadEmbedded();
        Assert.Equal(10_000, split.Train.Count);
        Assert.Equal(2_000, split.Test.Count);
        Assert.All(split.Train.ClassCounts(), c => Assert.Equal(1000, c));
        Assert.All(split.Test.ClassCounts(), c => Assert.Equal(200, c));
        Assert.Equal("embedded", split.Source);
    }

    [Fact]
    public void Should_NameFileAndMagic_When_MagicIsWrong()
    {
        using var dir = new TempDir();
        IdxWriter.FashionMnistFolder(dir.Path, 4, 4, gzip: false);
        IdxWriter.Write(dir.File("train-images-idx3-ubyte"), IdxWriter.Images(4, 28, 28, (_, _) => 0, magic: 0x801), gzip: false);

        var ex = Assert.Throws<DataFormatException>(() => FashionMnist.Load(dir.Path));
        Assert.Equal(dir.File("train-images-idx3-ubyte"), ex.Path);
        Assert.Contains("wrong magic number 0x00000801", ex.Message);
    }

    [Fact]
    public void Should_SayTruncated_When_ImageFileIsCutShort()
    {
        using var dir = new TempDir();
        IdxWriter.FashionMnistFolder(dir.Path, 4, 4, gzip: false);
        byte[] full = IdxWriter.Images(4, 28, 28, (_, _) => 1);
        File.WriteAllBytes(dir.File("t10k-images-idx3-ubyte"), full[..(full.Length - 100)]);

        var ex = Assert.Throws<DataFormatException>(() => FashionMnist.Load(dir.Path));
        Assert.Contains("t10k-images-idx3-ubyte", ex.Message);
        Assert.Contains("truncated", ex.Message);
    }

    [Fact]
    public void Should_SayItHoldsNoImages_When_AnImageFileIsEmpty()
    {
        using var dir = new TempDir();
        IdxWriter.FashionMnistFolder(dir.Path, 4, 4, gzip: false);
        IdxWriter.Write(dir.File("t10k-images-idx3-ubyte"), IdxWriter.Images(0, 28, 28, (_, _) => 0), gzip: false);
        IdxWriter.Write(dir.File("t10k-labels-idx1-ubyte"), IdxWriter.Labels([]), gzip: false);

        var ex = Assert.Throws<DataFormatException>(() => FashionMnist.Load(dir.Path)); // was a NaN training and exit 0
        Assert.Equal(dir.File("t10k-images-idx3-ubyte"), ex.Path);
        Assert.Contains("holds no images (its header says 0 of 28×28)", ex.Message);
    }

    [Fact]
    public void Should_ReadTheTestFilesAlone_When_OnlyTheTestSplitIsAsked()
    {
        using var dir = new TempDir();
        IdxWriter.FashionMnistFolder(dir.Path, 4, 4, gzip: false);
        ImageDataset expected = DatasetCatalog.Load(dir.Path).Test;
        File.WriteAllBytes(dir.File("train-images-idx3-ubyte"), [0, 0, 8, 3, 0, 0]); // damaged: evaluate never needed it

        ImageDataset test = DatasetCatalog.LoadTest(dir.Path);
        Assert.Equal(expected.Name, test.Name);
        Assert.Equal(expected.Labels, test.Labels);
        Assert.Equal(expected.Pixels, test.Pixels);
        Assert.Equal(FashionMnist.LoadEmbedded().Test.Labels, DatasetCatalog.LoadTest(DatasetCatalog.Embedded).Labels);
    }

    [Fact]
    public void Should_SayTruncated_When_HeaderIsIncomplete()
    {
        using var dir = new TempDir();
        IdxWriter.FashionMnistFolder(dir.Path, 4, 4, gzip: false);
        File.WriteAllBytes(dir.File("train-labels-idx1-ubyte"), [0, 0, 8, 1, 0]);
        Assert.Contains("shorter than the 8-byte IDX labels header", Assert.Throws<DataFormatException>(() => FashionMnist.Load(dir.Path)).Message);
    }

    [Fact]
    public void Should_ReportBothCounts_When_ImagesAndLabelsDisagree()
    {
        using var dir = new TempDir();
        IdxWriter.FashionMnistFolder(dir.Path, 5, 4, gzip: true);
        IdxWriter.Write(dir.File("train-labels-idx1-ubyte.gz"), IdxWriter.Labels([1, 2, 3]), gzip: true);

        var ex = Assert.Throws<DataFormatException>(() => FashionMnist.Load(dir.Path));
        Assert.Contains("3 labels but", ex.Message);
        Assert.Contains("holds 5 images", ex.Message);
    }

    [Fact]
    public void Should_SayFileNotFound_When_LabelFileIsMissing()
    {
        using var dir = new TempDir();
        IdxWriter.FashionMnistFolder(dir.Path, 4, 4, gzip: true);
        File.Delete(dir.File("t10k-labels-idx1-ubyte.gz"));
        var ex = Assert.Throws<DataFormatException>(() => FashionMnist.Load(dir.Path));
        Assert.Contains("t10k-labels-idx1-ubyte", ex.Message);
        Assert.Contains("file not found", ex.Message);
    }

    [Fact]
    public void Should_SayFolderNotFound_When_FolderIsMissing()
    {
        var ex = Assert.Throws<DataFormatException>(() => DatasetCatalog.Load("/nonexistent/spikernel-data"));
        Assert.Equal("/nonexistent/spikernel-data: folder not found", ex.Message);
        using var dir = new TempDir();
        File.WriteAllText(dir.File("train-images-idx3-ubyte"), "");
        Assert.StartsWith($"{dir.File("train-images-idx3-ubyte")}: a file, not a data folder",
            Assert.Throws<DataFormatException>(() => DatasetCatalog.Load(dir.File("train-images-idx3-ubyte"))).Message);
    }

    [Fact]
    public void Should_SayCorruptGzip_When_CompressedDataIsDamaged()
    {
        using var dir = new TempDir();
        IdxWriter.FashionMnistFolder(dir.Path, 4, 4, gzip: true);
        byte[] gz = File.ReadAllBytes(dir.File("train-images-idx3-ubyte.gz"));
        for (int i = 20; i < gz.Length - 8; i++) gz[i] ^= 0x5a;
        File.WriteAllBytes(dir.File("train-images-idx3-ubyte.gz"), gz);
        var ex = Assert.Throws<DataFormatException>(() => FashionMnist.Load(dir.Path));
        Assert.Contains("train-images-idx3-ubyte.gz", ex.Message);
        Assert.Contains("corrupt gzip", ex.Message);
    }

    [Fact]
    public void Should_RejectLabel_When_OutsideTenClasses()
    {
        using var dir = new TempDir();
        IdxWriter.FashionMnistFolder(dir.Path, 4, 4, gzip: false);
        IdxWriter.Write(dir.File("t10k-labels-idx1-ubyte"), IdxWriter.Labels([1, 2, 10, 3]), gzip: false);
        Assert.Contains("label 10 at index 2", Assert.Throws<DataFormatException>(() => FashionMnist.Load(dir.Path)).Message);
    }
}
