using System.IO.Compression;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers.FastTree;

namespace SpiKernel.Pipeline.Prediction;

/// <summary>
/// One ML.NET FastTree regressor of latency (ms) from <see cref="LatencyFeatures"/>. With a log target it learns
/// ln(ms) and predicts exp of that: latencies span orders of magnitude and errors are relative. Single-threaded with a
/// seeded <see cref="MLContext"/>, so the same rows give the same model.
/// </summary>
internal sealed class LatencyRegressor
{
    private readonly MLContext _ml;
    private readonly ITransformer _model;
    private readonly SchemaDefinition _schema;

    private LatencyRegressor(MLContext ml, ITransformer model, int features, bool logTarget)
    {
        _ml = ml;
        _model = model;
        _schema = Schema(features);
        LogTarget = logTarget;
    }

    /// <summary>The model learns ln(ms).</summary>
    public bool LogTarget { get; }

    /// <summary>Trees: enough for a smooth fit of a few dozen rows, few enough to stay fast.</summary>
    public const int Trees = 200;

    /// <summary>Fits a regressor to feature vectors <paramref name="x"/> and latencies <paramref name="ms"/>.</summary>
    public static LatencyRegressor Fit(IReadOnlyList<float[]> x, IReadOnlyList<double> ms, bool logTarget, int seed)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(ms);
        var ml = new MLContext(seed);
        IDataView data = ml.Data.LoadFromEnumerable(Rows(x, ms, logTarget), Schema(x[0].Length));
        var options = new FastTreeRegressionTrainer.Options
        {
            NumberOfTrees = Trees,
            NumberOfLeaves = 8,
            // a few dozen rows per group: the default of 10 rows per leaf would leave one split
            MinimumExampleCountPerLeaf = Math.Max(1, Math.Min(10, x.Count / 8)),
            LearningRate = 0.1,
            NumberOfThreads = 1,
            Seed = seed,
            FeatureColumnName = "Features",
            LabelColumnName = "Label",
        };
        ITransformer model = ml.Regression.Trainers.FastTree(options).Fit(data);
        return new LatencyRegressor(ml, model, x[0].Length, logTarget);
    }

    /// <summary>Predicted latencies, ms.</summary>
    public double[] Predict(IReadOnlyList<float[]> x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Count == 0) return [];
        IDataView scored = _model.Transform(_ml.Data.LoadFromEnumerable(Rows(x, null, false), _schema));
        return scored.GetColumn<float>("Score").Select(s => LogTarget ? Math.Exp(s) : s).ToArray();
    }

    /// <summary>
    /// The ML.NET model as bytes (ML.NET's own zip format), its entries stamped with <paramref name="time"/> instead of the
    /// moment of saving: the same model gives the same bytes.
    /// </summary>
    public byte[] Save(int features, DateTimeOffset time)
    {
        using var saved = new MemoryStream();
        _ml.Model.Save(_model, _ml.Data.LoadFromEnumerable(Array.Empty<FeatureRow>(), Schema(features)).Schema, saved);
        saved.Position = 0;
        using var result = new MemoryStream();
        using (var source = new ZipArchive(saved, ZipArchiveMode.Read))
        using (var zip = new ZipArchive(result, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (ZipArchiveEntry e in source.Entries)
            {
                ZipArchiveEntry copy = zip.CreateEntry(e.FullName, CompressionLevel.Optimal);
                copy.LastWriteTime = time;
                using Stream from = e.Open(), to = copy.Open();
                from.CopyTo(to);
            }
        }
        return result.ToArray();
    }

    /// <summary>Reads a model written by <see cref="Save"/>.</summary>
    public static LatencyRegressor Load(byte[] bytes, int features, bool logTarget, int seed)
    {
        var ml = new MLContext(seed);
        using var stream = new MemoryStream(bytes, writable: false);
        ITransformer model = ml.Model.Load(stream, out _);
        return new LatencyRegressor(ml, model, features, logTarget);
    }

    private static IEnumerable<FeatureRow> Rows(IReadOnlyList<float[]> x, IReadOnlyList<double>? ms, bool logTarget) =>
        x.Select((f, i) => new FeatureRow
        {
            Features = f,
            Label = ms is null ? 0 : (float)(logTarget ? Math.Log(ms[i]) : ms[i]),
        }).ToList();

    private static SchemaDefinition Schema(int features)
    {
        SchemaDefinition schema = SchemaDefinition.Create(typeof(FeatureRow));
        schema[nameof(FeatureRow.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, features);
        return schema;
    }

    /// <summary>One row as ML.NET sees it.</summary>
    private sealed class FeatureRow
    {
        public float[] Features { get; set; } = [];

        public float Label { get; set; }
    }
}
