using System.Globalization;
using SpiKernel.Core;

namespace SpiKernel.Evaluators.Inputs;

/// <summary>
/// One <c>--input-shape</c> value: the dimensions of input <paramref name="Name"/> (every input not named by another
/// value when null). As many dimensions as the input has replace its declared shape; one fewer are the dimensions
/// after the first, which stays the batch.
/// </summary>
/// <param name="Name">The input, or null for every input not named otherwise.</param>
/// <param name="Dims">Positive dimensions.</param>
public sealed record InputShape(string? Name, long[] Dims)
{
    /// <summary>"x=3,32,32" or "3,32,32".</summary>
    public override string ToString() =>
        (Name is null ? "" : Name + "=") + string.Join(',', Dims.Select(d => d.ToString(CultureInfo.InvariantCulture)));
}

/// <summary>
/// How close a provider's outputs must be to the expected ones: element by element |actual − expected| ≤ atol +
/// rtol·|expected| (numpy's <c>allclose</c>; NaN matches NaN). The defaults are those of the ONNX backend tests.
/// </summary>
/// <param name="Rtol">Relative tolerance.</param>
/// <param name="Atol">Absolute tolerance.</param>
public sealed record OutputTolerance(double Rtol = 1e-3, double Atol = 1e-7);

/// <summary>What is fed to the models besides labelled images, and how their outputs are checked.</summary>
/// <param name="Shapes"><c>--input-shape</c> values.</param>
/// <param name="Path"><c>--inputs</c>: test data for every model (a <c>test_data_set_*</c> folder, a folder of them, or tensor files).</param>
/// <param name="Seed">Seed of the values fed where there is no test data.</param>
/// <param name="Tolerance">Tolerance of the output check.</param>
public sealed record InputOptions(IReadOnlyList<InputShape>? Shapes = null, string? Path = null, int Seed = 0, OutputTolerance? Tolerance = null)
{
    /// <summary>The tolerance in effect.</summary>
    public OutputTolerance Check => Tolerance ?? new OutputTolerance();

    /// <summary>Throws <see cref="SettingsException"/> naming the first bad value.</summary>
    public InputOptions Validated()
    {
        IReadOnlyList<InputShape> shapes = Shapes ?? [];
        foreach (InputShape s in shapes)
            if (s.Dims.Length == 0 || s.Dims.Any(d => d < 1))
                throw new SettingsException($"--input-shape must be positive dimensions, e.g. 1,28,28 or x=1,28,28 (got {s}).");
        if (shapes.Count(s => s.Name is null) > 1) throw new SettingsException("--input-shape is given more than once without an input name.");
        if (shapes.Where(s => s.Name is not null).GroupBy(s => s.Name).FirstOrDefault(g => g.Count() > 1) is { } twice)
            throw new SettingsException($"--input-shape names input '{twice.Key}' more than once.");
        if (Path is { } p && !File.Exists(p) && !Directory.Exists(p)) throw new FileNotFoundException($"--inputs {p}: no such file or folder.", p);
        OutputTolerance t = Check;
        foreach ((string option, double value) in new[] { ("--rtol", t.Rtol), ("--atol", t.Atol) })
            if (!(value >= 0) || double.IsInfinity(value))
                throw new SettingsException($"{option} must be a finite number, 0 or more (got {value.ToString(CultureInfo.InvariantCulture)}).");
        return this;
    }
}
