using System.IO.Compression;
using System.Text.Json;
using SpiKernel.Core;
using SpiKernel.Core.Csv;
using SpiKernel.Exporters;

namespace SpiKernel.Pipeline.Prediction;

/// <summary>
/// A trained latency predictor: one <see cref="LatencyRegressor"/> per profile × batch size × precision and the
/// <see cref="PredictorManifest"/> that describes them, stored as one zip (<c>manifest.json</c> plus one ML.NET model
/// per group under <c>models/</c>). Loading refuses a zip written by another tool version or feature schema with one
/// line, because its features would not mean the same thing.
/// </summary>
public sealed class LatencyPredictor
{
    private const string ManifestEntry = "manifest.json";

    private static JsonSerializerOptions Json => Core.JsonFiles.Options;

    private static readonly DateTimeOffset FixedTime = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly Dictionary<string, LatencyRegressor> _regressors;

    /// <summary>Wraps trained regressors (keys: <see cref="PredictorGroup.Key"/>).</summary>
    internal LatencyPredictor(PredictorManifest manifest, IReadOnlyDictionary<string, LatencyRegressor> regressors)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentNullException.ThrowIfNull(regressors);
        Manifest = manifest;
        _regressors = new Dictionary<string, LatencyRegressor>(regressors, StringComparer.Ordinal);
    }

    /// <summary>What the predictor is.</summary>
    public PredictorManifest Manifest { get; }

    /// <summary>Predicted latency p50 (ms) of each feature vector on <paramref name="group"/>.</summary>
    public double[] Predict(PredictorGroup group, IReadOnlyList<float[]> features)
    {
        ArgumentNullException.ThrowIfNull(group);
        ArgumentNullException.ThrowIfNull(features);
        return group.UsesBaseline
            ? features.Select(f => group.BaselineFit.Predict(f[LatencyFeatures.MacsIndex])).ToArray()
            : _regressors[group.Key].Predict(features);
    }

    /// <summary>Writes the zip atomically.</summary>
    public void Save(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        AtomicFile.Write(path, stream =>
        {
            using var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true);
            Write(zip, ManifestEntry, JsonSerializer.SerializeToUtf8Bytes(Manifest, Json));
            foreach (PredictorGroup g in Manifest.Groups)
                Write(zip, g.Entry, _regressors[g.Key].Save(Manifest.FeatureSchema.Count, FixedTime));
        });
    }

    /// <summary>
    /// The groups that predict for files of <paramref name="layout"/>; the others are named in a note. None: refused, one
    /// line saying what the predictor was fitted on (its predictions would be another layout's latencies).
    /// </summary>
    public IReadOnlyList<PredictorGroup> For(TimestepLayout layout, string path, IProgressObserver progress)
    {
        ArgumentNullException.ThrowIfNull(progress);
        PredictorGroup[] known = Manifest.Groups.Where(g => g.Knows(layout)).ToArray();
        string word = CsvFormat.Word(layout);
        if (known.Length == 0)
            throw new SettingsException($"{path} was fitted on {string.Join(" and ", Manifest.Groups.SelectMany(g => g.Layouts.Split(',')).Distinct().Order(StringComparer.Ordinal))} files only, not {word} ones, " +
                $"so it cannot predict their latency: predict for the layout it knows (rank --predict-layout; a run's export.layout), or train it on {word} files (predictor dataset --layouts {word})");
        if (known.Length < Manifest.Groups.Count)
            progress.Note($"{path}: {string.Join(", ", Manifest.Groups.Except(known).Select(g => g.Key))} fitted on other layouts than {word}; not predicted");
        return known;
    }

    /// <summary>
    /// Reads a predictor zip. Throws <see cref="FileNotFoundException"/> when missing and <see cref="InvalidDataException"/>
    /// with one line when it is not a predictor zip, or one written by another tool version or feature schema.
    /// </summary>
    public static LatencyPredictor Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such predictor file", path);
        try
        {
            using ZipArchive zip = ZipFile.OpenRead(path);
            PredictorManifest manifest = ReadManifest(path, zip);
            var regressors = new Dictionary<string, LatencyRegressor>(StringComparer.Ordinal);
            foreach (PredictorGroup g in manifest.Groups)
            {
                byte[] bytes = Read(zip, g.Entry) ?? throw new InvalidDataException($"{path}: entry {g.Entry} of group {g.Key} is missing");
                regressors[g.Key] = LatencyRegressor.Load(bytes, manifest.FeatureSchema.Count, manifest.LogTarget, manifest.Seed);
            }
            return new LatencyPredictor(manifest, regressors);
        }
        catch (Exception ex) when (ex is InvalidDataException or FormatException or InvalidOperationException && !ex.Message.StartsWith(path, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"{path}: not a latency predictor zip of spikernel predictor train ({ex.Message})", ex);
        }
    }

    private static PredictorManifest ReadManifest(string path, ZipArchive zip)
    {
        byte[] bytes = Read(zip, ManifestEntry) ?? throw new InvalidDataException($"{path}: not a latency predictor zip (no {ManifestEntry})");
        PredictorManifest? m;
        try
        {
            m = JsonSerializer.Deserialize<PredictorManifest>(bytes, Json);
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{path}: {ManifestEntry} is not a predictor manifest ({ex.Message.Split('\n')[0]})", ex);
        }
        const string family = "spikernel-latency-predictor/";
        if (m?.Format is { } format && format.StartsWith(family, StringComparison.Ordinal) && format != PredictorManifest.FormatName)
            throw new InvalidDataException($"{path}: a predictor of format {format[family.Length..]} (this version reads {PredictorManifest.FormatName[family.Length..]}: " +
                "format 1 did not record the layouts of the files it was fitted on); train it again with spikernel predictor train");
        if (m is null || m.Format != PredictorManifest.FormatName)
            throw new InvalidDataException($"{path}: not a latency predictor zip (format '{m?.Format}', expected '{PredictorManifest.FormatName}')");
        if (m.FeatureSchema is null || m.Groups is null || m.Groups.Any(g => g?.Layouts is null)) // a manifest without them reads as nulls
            throw new InvalidDataException($"{path}: {ManifestEntry} lacks its feature_schema, groups or their layouts; train it again with spikernel predictor train");
        if (m.ToolVersion != ToolInfo.Version)
            throw new InvalidDataException($"{path}: predictor trained by spikernel {m.ToolVersion}, this is {ToolInfo.Version}; train it again with spikernel predictor train");
        if (!m.FeatureSchema.SequenceEqual(LatencyFeatures.Names))
            throw new InvalidDataException($"{path}: predictor uses another feature schema ({m.FeatureSchema.Count} features, this version has {LatencyFeatures.Names.Count}); train it again with spikernel predictor train");
        return m;
    }

    private static void Write(ZipArchive zip, string name, byte[] bytes)
    {
        ZipArchiveEntry entry = zip.CreateEntry(name, CompressionLevel.Optimal);
        entry.LastWriteTime = FixedTime; // the same predictor gives the same zip
        using Stream s = entry.Open();
        s.Write(bytes);
    }

    private static byte[]? Read(ZipArchive zip, string name)
    {
        ZipArchiveEntry? entry = zip.GetEntry(name);
        if (entry is null) return null;
        using Stream s = entry.Open();
        using var copy = new MemoryStream();
        s.CopyTo(copy);
        return copy.ToArray();
    }
}
