using System.Globalization;

namespace SpiKernel.Evaluators.Measurement;

/// <summary>
/// The keys of a bundle's data/datasets.json (key → folder of <see cref="LabelledImagesFile"/>), written by
/// <c>spikernel bundle</c> and read by spikernel-evaluate. A model's test images are found under the first key of
/// <see cref="Lookup"/> the index has: its source with its class count (where the class count picks other labels of the
/// same data, a 20-class network on CIFAR-100's coarse ones), its source, then what a bundle built with <c>--data</c>
/// holds for every model — that class count, and <see cref="Any"/>.
/// </summary>
public static class BundleDataKeys
{
    /// <summary>The data for every model (a bundle built with <c>--data</c>).</summary>
    public const string Any = "";

    /// <summary>The data of <paramref name="source"/> (null: of <c>--data</c>) read with the labels of a <paramref name="classes"/>-class network.</summary>
    public static string WithClasses(string? source, int classes) => string.Create(CultureInfo.InvariantCulture, $"{source}|{classes}");

    /// <summary>The keys that may serve a model of <paramref name="classes"/> classes naming <paramref name="source"/>, in order.</summary>
    public static IReadOnlyList<string> Lookup(string source, int classes) => [WithClasses(source, classes), source, WithClasses(null, classes), Any];
}
