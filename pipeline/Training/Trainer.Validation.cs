using System.Globalization;
using SpiKernel.Core;
using SpiKernel.Core.Csv;
using SpiKernel.Models.Network;
using SpiKernel.Pipeline.Data;
using static TorchSharp.torch;

namespace SpiKernel.Pipeline.Training;

/// <summary>Scoring a network on images (validation, test), and the record of which images it got right.</summary>
internal static partial class Trainer
{
    /// <summary>Mean cross-entropy, correct predictions and count over <paramref name="data"/> in eval mode.</summary>
    public static (double Loss, int Correct, int Count) Evaluate(SpikingNetwork net, ImageDataset data, int batchSize)
    {
        (double loss, bool[] right) = Answers(net, data, batchSize);
        return (loss, right.Count(r => r), right.Length);
    }

    /// <summary>
    /// Mean cross-entropy over <paramref name="data"/> in eval mode, and whether each image, in order, is classified
    /// right: two networks scored on the same images are compared image by image (McNemar's test), not only by count.
    /// </summary>
    public static (double Loss, bool[] Right) Answers(SpikingNetwork net, ImageDataset data, int batchSize)
    {
        ArgumentNullException.ThrowIfNull(net);
        ArgumentNullException.ThrowIfNull(data);
        if (data.Count == 0) return (double.NaN, []);
        bool wasTraining = net.training;
        net.eval();
        double lossSum = 0;
        var right = new bool[data.Count];
        try
        {
            using (no_grad())
            {
                foreach (int[] batch in BatchLoader.Batches(data.Count, batchSize, rng: null))
                {
                    using var scope = NewDisposeScope();
                    (Tensor x, Tensor y) = BatchLoader.Load(data, batch);
                    Tensor logits = net.forward(x);
                    lossSum += nn.functional.cross_entropy(logits, y, reduction: nn.Reduction.Sum).item<float>(); // item: no Scalar made (docs/train.md)
                    bool[] hits = logits.argmax(1).eq(y).data<bool>().ToArray();
                    for (int k = 0; k < batch.Length; k++) right[batch[k]] = hits[k];
                }
            }
        }
        finally
        {
            net.train(wasTraining); // the caller's mode, however this ends
        }
        return (lossSum / data.Count, right);
    }

    // validation never shapes the weights: a finished training asked for another validation set (more held-out images)
    // is measured on it again, its last epoch's row and the checkpoint's record rewritten (earlier rows keep their set)
    private static TrainState Revalidate(SpikingNetwork net, ImageDataset val, TrainState state, List<EpochMetrics> history,
        string statePath, string metricsPath, IProgressObserver observer)
    {
        (double loss, bool[] right) = Answers(net, val, EvalBatch);
        int count = right.Length;
        double accuracy = count == 0 ? double.NaN : (double)right.Count(r => r) / count;
        observer.Note(string.Create(CultureInfo.InvariantCulture, $"validated again on {count} images (the checkpoint's record was of {state.ValCount?.ToString(CultureInfo.InvariantCulture) ?? "an unrecorded number of"}): {accuracy:P2}"));
        history[^1] = history[^1] with { ValLoss = loss, ValAccuracy = accuracy };
        CsvFile.WriteAll(metricsPath, history);
        TrainState revalidated = state with { ValAccuracy = accuracy, ValCount = count, ValAnswers = AnswerBits.Pack(right) };
        revalidated.Save(statePath);
        return revalidated;
    }
}
