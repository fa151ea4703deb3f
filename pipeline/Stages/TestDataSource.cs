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
    public void Preload(string source) => Load(source);

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
            return new TestData(Load(source), mean, std, null, accuracyPass);
        }
        catch (Exception ex) when (dataOption is null && ex is InvalidDataException or IOException)
        {
            return TestData.None($"the data named in the model ({source}) cannot be read here: {ex.Message}");
        }
    }

    private LabelledImages Load(string source)
    {
        if (_cache.TryGetValue(source, out LabelledImages? hit)) return hit;
        ImageDataset test = DatasetCatalog.LoadTest(source);
        var images = new LabelledImages(test.Name, test.Pixels, test.Labels, test.Channels, test.Height, test.Width);
        _cache[source] = images;
        return images;
    }
}
