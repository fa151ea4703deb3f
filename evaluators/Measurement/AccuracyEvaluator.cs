using Microsoft.ML.OnnxRuntime;
using SpiKernel.Evaluators.Models;

namespace SpiKernel.Evaluators.Measurement;

/// <summary>Accuracy (and spike activity) of a model through ONNX Runtime on labelled test images.</summary>
/// <param name="Samples">Images scored.</param>
/// <param name="Top1Correct">Images whose highest score is the label.</param>
/// <param name="Top5Correct">Images whose label is among the five highest scores (ties broken by index).</param>
/// <param name="MeanSpikesPerLayer">Mean spikes per sample of each LIF layer (all timesteps), for models with a <c>spike_counts</c> output.</param>
/// <param name="Classes">Classes the model scores.</param>
internal sealed record AccuracyResult(int Samples, int Top1Correct, int Top5Correct, double[]? MeanSpikesPerLayer, int Classes, bool[] Top1Right)
{
    /// <summary>Top-1 accuracy, 0–1.</summary>
    public double Top1 => (double)Top1Correct / Samples;

    /// <summary>Top-5 accuracy, 0–1; null for a model of five classes or fewer, where it is always 1 and says nothing.</summary>
    public double? Top5 => Classes > 5 ? (double)Top5Correct / Samples : null;
}

/// <summary>Runs the test set through a session, in batches, with ORT-allocated outputs (timing is not the point here).</summary>
internal static class AccuracyEvaluator
{
    /// <summary>Scores <paramref name="data"/> normalised with <paramref name="mean"/>/<paramref name="std"/>.</summary>
    public static AccuracyResult Evaluate(InferenceSession session, ModelInfo model, LabelledImages data, float[] mean, float[] std,
        int batchSize = 64, int? limit = null, Action<int, int>? progress = null, CancellationToken cancel = default, Providers.EvaluationProfile? profile = null)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        CheckShape(model, data);
        int n = Math.Min(limit ?? data.Count, data.Count);
        if (n < 1) throw new InvalidDataException($"{data.Name}: no images to score.");
        int top1 = 0, top5 = 0, classesSeen = 0;
        var right = new bool[n]; // image by image, so two models scored on these images can be compared pairwise
        double[]? spikes = null;
        string[] outputs = model.SpikeCountsName is null ? [model.LogitsName] : [model.LogitsName, model.SpikeCountsName];
        using RunOptions runOptions = GraphRuns.For(profile, GraphRuns.Untimed); // other shapes than the timed runs: no graph replay
        // a model that fixes its batch is fed that many images each run, the last run padded with zeros it is not scored on
        int fixedBatch = model.InputDims[0] > 0 ? checked((int)model.InputDims[0]) : 0;
        if (fixedBatch > 0) batchSize = fixedBatch;
        for (int start = 0; start < n; start += batchSize)
        {
            cancel.ThrowIfCancellationRequested();
            int b = Math.Min(batchSize, n - start), fed = Math.Max(b, fixedBatch);
            long[] shape = [fed, data.Channels, data.Height, data.Width];
            float[] images = data.Normalized(start, b, mean, std);
            if (fed > b) Array.Resize(ref images, checked(fed * data.Channels * data.Height * data.Width));
            using var input = OrtValue.CreateTensorValueFromMemory(images, shape);
            using IDisposableReadOnlyCollection<OrtValue> results = session.Run(runOptions, [model.InputName], [input], outputs);
            ReadOnlySpan<float> logits = results[0].GetTensorDataAsSpan<float>();
            int classes = logits.Length / fed;
            classesSeen = classes;
            if (classes * fed != logits.Length)
                throw new InvalidDataException($"{model.Path}: output '{model.LogitsName}' has {logits.Length} values for a batch of {fed}; expected [batch, classes]");
            for (int s = 0; s < b; s++)
            {
                int label = data.Labels[start + s];
                if (label >= classes)
                    throw new InvalidDataException($"{model.Path}: {data.Name} has label {label}, but the model scores only {classes} classes");
                ReadOnlySpan<float> row = logits.Slice(s * classes, classes);
                int rank = Rank(row, label);
                right[start + s] = rank == 0;
                if (rank == 0) top1++;
                if (rank < 5) top5++;
            }
            if (model.SpikeCountsName is not null)
            {
                ReadOnlySpan<long> counts = results[1].GetTensorDataAsSpan<long>();
                int layers = counts.Length / fed;
                spikes ??= new double[layers];
                for (int i = 0; i < b * layers; i++) spikes[i % layers] += counts[i]; // the padding's rows are not counted
            }
            progress?.Invoke(start + b, n);
        }
        if (spikes is not null)
            for (int l = 0; l < spikes.Length; l++) spikes[l] /= n;
        return new AccuracyResult(n, top1, top5, spikes, classesSeen, right);
    }

    /// <summary>
    /// How many classes score strictly higher than <paramref name="label"/>, or equal with a lower index (argmax's tie
    /// rule). NaN ranks first, as in numpy's argmax: a NaN at the label is right only when it is the first NaN, a NaN
    /// elsewhere outranks the label — a model that puts out NaN is not scored as right.
    /// </summary>
    internal static int Rank(ReadOnlySpan<float> row, int label)
    {
        float v = row[label];
        int rank = 0;
        for (int c = 0; c < row.Length; c++)
        {
            float x = row[c];
            bool above = float.IsNaN(v)
                ? float.IsNaN(x) && c < label
                : float.IsNaN(x) || x > v || (x == v && c < label);
            if (above) rank++;
        }
        return rank;
    }

    private static void CheckShape(ModelInfo model, LabelledImages data)
    {
        if (model.Inputs.Count != 1)
            throw new InvalidDataException($"{model.Path}: the model has {model.Inputs.Count} inputs; an image classifier has one");
        long[] d = model.InputDims;
        long[] want = [data.Channels, data.Height, data.Width];
        bool fits = d.Length == 4 && Enumerable.Range(0, 3).All(i => d[i + 1] < 0 || d[i + 1] == want[i]);
        if (!fits)
            throw new InvalidDataException(
                $"{model.Path}: input '{model.InputName}' is [{string.Join(", ", d.Select(x => x < 0 ? "?" : x.ToString(System.Globalization.CultureInfo.InvariantCulture)))}], " +
                $"but {data.Name} has {data.Channels}x{data.Height}x{data.Width} images");
    }
}
