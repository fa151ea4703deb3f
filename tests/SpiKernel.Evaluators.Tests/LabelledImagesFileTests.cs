using SpiKernel.Evaluators.Measurement;

namespace SpiKernel.Evaluators.Tests;

/// <summary>The bundle's test images on disk: read back as written, and a damaged file named as bad input.</summary>
public sealed class LabelledImagesFileTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Should_ReadBackWhatWasWritten_And_RefuseANegativeLabel()
    {
        var images = new LabelledImages("three", [1, 2, 3, 4, 5, 6], [0, 9, 4], 1, 1, 2);
        LabelledImagesFile.Save(images, _dir.Path);
        LabelledImages back = LabelledImagesFile.Load(_dir.Path);
        Assert.Equal(("three", 1, 1, 2), (back.Name, back.Channels, back.Height, back.Width));
        Assert.Equal(images.Pixels, back.Pixels);
        Assert.Equal(images.Labels, back.Labels);

        // a negative label used to reach the accuracy pass and crash it there (exit 70, not a corrupt file)
        LabelledImagesFile.Save(images with { Labels = [0, -3, 4] }, _dir.Path);
        var ex = Assert.Throws<InvalidDataException>(() => LabelledImagesFile.Load(_dir.Path));
        Assert.Equal($"{Path.Combine(_dir.Path, "labels.idx")}: label -3 of image 1 is negative", ex.Message);
    }
}
