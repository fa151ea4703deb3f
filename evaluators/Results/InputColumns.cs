namespace SpiKernel.Evaluators.Results;

/// <summary>Where a row's batch size comes from; written as a lower-case word.</summary>
public enum BatchSource
{
    /// <summary><c>--batch</c>.</summary>
    Option,

    /// <summary>The model's inputs fix it (their first dimension is not symbolic).</summary>
    Model,

    /// <summary>The test data's first dimension.</summary>
    Inputs,
}

/// <summary>What a row's model was fed; written as a lower-case word.</summary>
public enum InputSource
{
    /// <summary>Pseudo-random values from <c>--seed</c>: normal for floats, indices below the indexed dimension, coin flips for bool.</summary>
    Seeded,

    /// <summary>Labelled test images, normalised as the model's metadata says.</summary>
    Images,

    /// <summary>A test data set (<c>--inputs</c> or the model's test folder).</summary>
    TestData,
}

/// <summary>Whether a provider's outputs matched the expected ones within the tolerance; written as a lower-case word.</summary>
public enum OutputCheck
{
    /// <summary>Every element within tolerance.</summary>
    Passed,

    /// <summary>At least one element (or a shape, or an output) differs.</summary>
    Failed,
}
