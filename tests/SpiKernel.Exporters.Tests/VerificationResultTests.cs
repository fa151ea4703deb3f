namespace SpiKernel.Exporters.Tests;

/// <summary>
/// When a verification passes, passes only within float rounding (a membrane on the threshold: spikes differ on a few
/// images, every other image agrees), or fails (what a wrong graph does).
/// </summary>
public class VerificationResultTests
{
    private static VerificationResult Result(double maxDiff, int differingCounts, int images, double sameSpikesDiff, int samples = 128) =>
        new(samples, maxDiff, differingCounts, samples * 13, 110, 110, images, sameSpikesDiff);

    [Fact]
    public void Passes_exactly_within_rounding_or_not_at_all()
    {
        VerificationResult exact = Result(2e-6, 0, 0, 2e-6);
        Assert.True(exact.Passed);
        Assert.False(Result(0, 0, 0, 0, samples: 0).Passed); // nothing compared passes nothing
        Assert.False(Result(0, 0, 0, 0, samples: 0).WithinRounding);
        Assert.True(exact.WithinRounding);

        VerificationResult flip = Result(1.9e-6, 1, 1, 9.5e-7); // the quick run's candidate of 2026-12-06
        Assert.False(flip.Passed);
        Assert.True(flip.WithinRounding);

        VerificationResult bigFlip = Result(0.11, 3, 1, 9.5e-7); // one image's spikes cascade: its logits move, the rest agree
        Assert.True(bigFlip.WithinRounding);

        Assert.False(Result(1.9e-6, 2, 2, 9.5e-7).WithinRounding);          // two of 128 images: more than 1 %
        Assert.True(Result(1e-3, 40, 20, 9.5e-7, samples: 2000).WithinRounding); // 20 of 2,000: 1 %
        Assert.False(Result(1e-3, 1, 1, 1e-3).WithinRounding);              // images with equal spikes disagree: wrong arithmetic
        Assert.False(Result(5e-3, 0, 0, 5e-3).WithinRounding);              // no spike differs, logits do
        Assert.False(Result(0.5, 4, 1, 0, samples: 1).WithinRounding);      // one image, its spikes differ: nothing agreed to compare
    }
}
