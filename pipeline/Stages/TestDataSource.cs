using SpiKernel.Evaluators;
using SpiKernel.Evaluators.Measurement;
using SpiKernel.Evaluators.Models;
using SpiKernel.Pipeline.Data;

namespace SpiKernel.Pipeline.Stages;

/// <summary>
/// Test data for evaluation: loaded once per source (the one named in the options, or the one each model's metadata
/// names) and handed to every model that can use it. A source named in a model but unreadable here means no accuracy
/// for that model (with the reason), not a failure; a source named in the options must load.
/// </summary>
internal sealed class TestDataSource(string? dataOption, bool enabled, bool accuracyPass = true)
{
    private readonly Dictionary<string, LabelledImages> _cache = new(StringComparer.Ordinal);

    /// <summary>Loads the data named in the options now, so a bad source fails before any measurement.</summary>
    public void Preload(string source) => Load(source, 0);

    /// <summary>The test data for <paramref name="model"/>, or why there is none.</summary>
    public TestData For(ModelInfo model)
    {
        if (!enabled) return TestData.None("--no-accuracy");
        if (model.Snn is not { Mean: { } mean, Std: { } std } snn)
            return TestData.None("the model's metadata has no input normalisation (spikernel.normalization.*)");
        string? source = dataOption ?? snn.Dataset;
        if (string.IsNullOrEmpty(source)) source = DatasetCatalog.Embedded;
        try
        {
            return new TestData(Load(source, snn.ClassNames?.Count ?? 0), mean, std, null, accuracyPass);
        }
        catch (Exception ex) when (dataOption is null && ex is InvalidDataException or IOException)
        {
            return TestData.None($"the data named in the model ({source}) cannot be read here: {ex.Message}");
        }
    }

    // a model's class count picks CIFAR-100's coarse labels for a 20-class network (DatasetCatalog.KindFor)
    private LabelledImages Load(string source, int classes)
    {
        DatasetKind? kind = DatasetCatalog.KindFor(source, classes);
        string key = $"{source}|{kind}";
        if (_cache.TryGetValue(key, out LabelledImages? hit)) return hit;
        ImageDataset test = DatasetCatalog.LoadTest(source, kind);
        var images = new LabelledImages(test.Name, test.Pixels, test.Labels, test.Channels, test.Height, test.Width);
        _cache[key] = images;
        return images;
    }
}
