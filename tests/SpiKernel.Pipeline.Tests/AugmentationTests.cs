using SpiKernel.Core;
using SpiKernel.Pipeline.Data;
using static TorchSharp.torch;

namespace SpiKernel.Pipeline.Tests;

public class AugmentationTests
{
    private static ImageDataset Ramp() => new("ramp", Enumerable.Range(1, 9).Select(i => (byte)i).ToArray(), [0], 1, 3, 3, ["a"], [0f], [1f / 255f]);

    private static float[] Write(int dy, int dx, bool flip)
    {
        var dst = new float[9];
        ImageDataset d = Ramp();
        Augmentation.Write(d.Pixels, dst, 1, 3, 3, dy, dx, flip, d.Mean, d.Std);
        return dst;
    }

    [Fact]
    public void Should_NormaliseOnly_When_NoShiftOrFlip() =>
        Assert.Equal(new float[] { 1, 2, 3, 4, 5, 6, 7, 8, 9 }, Write(0, 0, false));

    [Fact]
    public void Should_MirrorRows_When_Flipped() =>
        Assert.Equal(new float[] { 3, 2, 1, 6, 5, 4, 9, 8, 7 }, Write(0, 0, true));

    [Fact]
    public void Should_FillWithZeroPixels_When_CropShiftsPastTheBorder() =>
        Assert.Equal(new float[] { 5, 6, 0, 8, 9, 0, 0, 0, 0 }, Write(1, 1, false));

    [Theory]
    [InlineData("none", 0, false)]
    [InlineData("crop-flip", 4, true)]
    [InlineData("crop:2", 2, false)]
    [InlineData("crop:3+flip", 3, true)]
    public void Should_ParseAugmentation_When_TextIsValid(string text, int pad, bool flip)
    {
        Augmentation a = Augmentation.Parse(text);
        Assert.Equal((pad, flip), (a.CropPadding, a.HorizontalFlip));
        Assert.Equal(a, Augmentation.Parse(a.ToString()));
    }

    [Fact]
    public void Should_RejectAugmentation_When_Unknown() =>
        Assert.Contains("Unknown augmentation 'rotate'", Assert.Throws<SettingsException>(() => Augmentation.Parse("rotate")).Message);

    [Fact]
    public void Should_DrawSameBatch_When_SeedIsSame()
    {
        ImageDataset data = FashionMnist.LoadEmbedded().Test;
        int[] idx = [3, 1, 4, 1, 5, 9, 2, 6];
        (Tensor a, _) = BatchLoader.Load(data, idx, Augmentation.CropFlip, new Random(4));
        (Tensor b, _) = BatchLoader.Load(data, idx, Augmentation.CropFlip, new Random(4));
        (Tensor c, _) = BatchLoader.Load(data, idx, Augmentation.CropFlip, new Random(5));
        Assert.True(a.allclose(b, 0, 0));
        Assert.False(c.allclose(b, 0, 0));
    }

    [Fact]
    public void Should_HoldOutStratifiedDisjointImages_When_ValidationSplitIsMade()
    {
        DataSplit split = FashionMnist.LoadEmbedded();
        (ImageDataset train, ImageDataset val) = split.SplitValidation(0.1, seed: 3);
        (ImageDataset train2, ImageDataset val2) = split.SplitValidation(0.1, seed: 3);
        Assert.Equal(9_000, train.Count);
        Assert.All(val.ClassCounts(), c => Assert.Equal(100, c));
        Assert.Equal(val.Pixels, val2.Pixels);
        Assert.Equal(train.Labels, train2.Labels);
        var trainImages = Enumerable.Range(0, train.Count).Select(i => Convert.ToBase64String(train.Pixels, i * 784, 784)).ToHashSet();
        int shared = Enumerable.Range(0, val.Count).Count(i => trainImages.Contains(Convert.ToBase64String(val.Pixels, i * 784, 784)));
        Assert.True(shared <= 2, $"{shared} validation images also in the training part"); // Fashion-MNIST has a few exact duplicates
    }

    [Fact]
    public void Should_KeepEveryClassInTraining_When_TheFractionWouldHoldOutAllOfATinyClass()
    {
        DataSplit split = FashionMnist.LoadEmbedded().WithTrainImages(15, seed: 1); // 10 classes: five with 2 images, five with 1
        (ImageDataset train, ImageDataset val) = split.SplitValidation(0.9, seed: 1);
        Assert.Equal(10, train.Count); // one image of each class trains; round(2 × 0.9) = 2 would have held out both
        Assert.All(train.ClassCounts(), c => Assert.Equal(1, c));
        Assert.Equal(5, val.Count);
    }
}
