using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using SpiKernel.Models.Network;
using static TorchSharp.torch;
using Tensor = TorchSharp.torch.Tensor;

namespace SpiKernel.Exporters;

/// <summary>How an exported file compares with the TorchSharp network on the same images.</summary>
/// <param name="Samples">Images compared.</param>
/// <param name="MaxAbsLogitDiff">max |logits_onnx − logits_torch|.</param>
/// <param name="DifferingSpikeCounts">Entries of the [samples, layers] spike-count matrix that differ.</param>
/// <param name="TotalSpikeCounts">Entries compared.</param>
/// <param name="OnnxCorrect">Correct predictions of the ONNX model (when labels are given).</param>
/// <param name="TorchCorrect">Correct predictions of the TorchSharp network (when labels are given).</param>
/// <param name="ImagesWithSpikeDifferences">Images whose spike counts differ in any layer.</param>
/// <param name="MaxAbsLogitDiffSameSpikes">max |Δlogits| over the images whose spike counts all agree (pure rounding).</param>
public sealed record VerificationResult(int Samples, double MaxAbsLogitDiff, int DifferingSpikeCounts, int TotalSpikeCounts,
    int? OnnxCorrect, int? TorchCorrect, int ImagesWithSpikeDifferences, double MaxAbsLogitDiffSameSpikes)
{
    /// <summary>The tolerance on logits of <see cref="Passed"/>.</summary>
    public const double LogitTolerance = 1e-4;

    /// <summary>Within 1e-4 on every logit and no spike count differs, on at least one image.</summary>
    public bool Passed => Samples > 0 && MaxAbsLogitDiff <= LogitTolerance && DifferingSpikeCounts == 0;

    /// <summary>
    /// <see cref="Passed"/>, or the float rounding limit (docs/export.md#known-limits): every image whose spike counts agree
    /// is within 1e-4 on every logit, and the counts differ on at most 1 % of the images (at least one) — a membrane that
    /// rounding puts on the other side of the threshold — with finite logits everywhere. A wrong graph fails this: it
    /// changes the logits of images whose spikes agree, or spikes on most images, or puts out NaN.
    /// </summary>
    public bool WithinRounding => AgreesWhereSpikesAgree(0.01);

    /// <summary>
    /// <see cref="Passed"/>, or: every image whose spike counts agree is within 1e-4 on every logit, the counts differ on
    /// at most <paramref name="imageShare"/> of the images (at least one), at least one image agrees (else nothing was
    /// compared), and every logit is finite.
    /// <see cref="WithinRounding"/> allows 1 %; the comparison of a float file with the training form, whose folded
    /// BatchNorm rounds apart from the convolution's (5 of 2,000 quickstart images flip a spike), allows more: a wrong
    /// folding still fails it, through the logits of the images whose spikes agree.
    /// </summary>
    public bool AgreesWhereSpikesAgree(double imageShare) => Passed
        || (MaxAbsLogitDiffSameSpikes <= LogitTolerance && ImagesWithSpikeDifferences <= Math.Max(1, (int)(Samples * imageShare))
            && ImagesWithSpikeDifferences < Samples && double.IsFinite(MaxAbsLogitDiff));
}

/// <summary>Runs an exported file in ONNX Runtime and the network in TorchSharp (eval mode; the network's own mode is restored after) on the same batch.</summary>
public static class ExportVerifier
{
    /// <summary>
    /// Compares on <paramref name="images"/> [N, C, H, W] (normalised float32), optionally scoring <paramref name="labels"/>.
    /// <paramref name="fused"/>: against the network's deployed form — for an int8 file (<c>spikernel.precision</c>) the
    /// integer one (<see cref="SpikingNetwork.Fuse"/>), which computes what the file computes; otherwise against the
    /// training form (Conv → BN), which for an int8 file measures what quantisation changes.
    /// </summary>
    public static VerificationResult Verify(SpikingNetwork net, string onnxPath, Tensor images, long[]? labels = null, int batchSize = 64, bool fused = true)
    {
        ArgumentNullException.ThrowIfNull(net);
        ArgumentNullException.ThrowIfNull(images);
        // nothing compared would pass: a check that cannot fail
        if (images.dim() != 4 || images.shape[0] < 1 || images.dtype != ScalarType.Float32)
            throw new ArgumentException($"images must be a float32 [N, C, H, W] batch of at least one image (got {images.dtype} [{string.Join(", ", images.shape)}])", nameof(images));
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        if (labels is not null && labels.Length != images.shape[0])
            throw new ArgumentException($"{labels.Length} labels for {images.shape[0]} images", nameof(labels));
        using var options = new SessionOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR };
        using var session = new InferenceSession(onnxPath, options);
        bool integer = session.ModelMetadata.CustomMetadataMap.GetValueOrDefault(Core.MetadataKeys.Precision) == "int8";
        bool wasTraining = net.training;
        if (fused) net.Fuse(integer);
        try
        {
            return Compare(net, session, images, labels, batchSize);
        }
        finally
        {
            net.Unfuse();
            net.train(wasTraining); // the caller's mode again
        }
    }

    private static VerificationResult Compare(SpikingNetwork net, InferenceSession session, Tensor images, long[]? labels, int batchSize)
    {
        net.eval();
        using var counter = new SpikeCounter(net);
        int n = (int)images.shape[0];
        double maxDiff = 0;
        int differing = 0, total = 0, onnxCorrect = 0, torchCorrect = 0, imagesDiffering = 0;
        double maxDiffSame = 0;
        for (int start = 0; start < n; start += batchSize)
        {
            int b = Math.Min(batchSize, n - start);
            using var scope = NewDisposeScope();
            Tensor x = images.narrow(0, start, b).contiguous();
            counter.Start(b);
            Tensor logits;
            using (no_grad())
                logits = net.forward(x);
            float[] torchLogits = logits.data<float>().ToArray();
            long[,] torchCounts = counter.Counts;

            (float[] onnxLogits, long[] onnxCounts) = RunOnnx(session, x);
            int classes = torchLogits.Length / b;
            int layers = torchCounts.GetLength(1);
            if (onnxLogits.Length != torchLogits.Length || onnxCounts.Length != b * layers)
                throw new Core.VerificationException($"verification failed: the file puts out {onnxLogits.Length} logits and {onnxCounts.Length} spike counts " +
                    $"for {b} images; the network has {classes} classes and {layers} spiking layers");
            for (int s = 0; s < b; s++)
            {
                int before = differing;
                for (int l = 0; l < layers; l++)
                {
                    total++;
                    if (onnxCounts[s * layers + l] != torchCounts[s, l]) differing++;
                }
                double imageDiff = 0;
                for (int c = 0; c < classes; c++)
                {
                    double d = Math.Abs((double)onnxLogits[s * classes + c] - torchLogits[s * classes + c]);
                    imageDiff = double.IsNaN(d) ? double.PositiveInfinity : Math.Max(imageDiff, d); // a NaN on either side: no agreement
                }
                maxDiff = Math.Max(maxDiff, imageDiff);
                if (differing > before) imagesDiffering++;
                else maxDiffSame = Math.Max(maxDiffSame, imageDiff);
                if (labels is not null)
                {
                    long y = labels[start + s];
                    if (ArgMax(onnxLogits, s * classes, classes) == y) onnxCorrect++;
                    if (ArgMax(torchLogits, s * classes, classes) == y) torchCorrect++;
                }
            }
        }
        return new VerificationResult(n, maxDiff, differing, total,
            labels is null ? null : onnxCorrect, labels is null ? null : torchCorrect, imagesDiffering, maxDiffSame);
    }

    /// <summary>Runs one batch; returns flat logits and flat spike counts.</summary>
    internal static (float[] Logits, long[] SpikeCounts) RunOnnx(InferenceSession session, Tensor x)
    {
        float[] data = x.data<float>().ToArray();
        int[] dims = x.shape.Select(d => (int)d).ToArray();
        var input = new DenseTensor<float>(data, dims);
        using IDisposableReadOnlyCollection<DisposableNamedOnnxValue> results =
            session.Run([NamedOnnxValue.CreateFromTensor("input", input)]);
        float[] logits = results.First(r => r.Name == "logits").AsEnumerable<float>().ToArray();
        long[] counts = results.First(r => r.Name == "spike_counts").AsEnumerable<long>().ToArray();
        return (logits, counts);
    }

    private static int ArgMax(float[] v, int offset, int count)
    {
        int best = 0;
        for (int i = 1; i < count; i++)
            if (v[offset + i] > v[offset + best]) best = i;
        return best;
    }
}
