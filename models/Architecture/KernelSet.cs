using SpiKernel.Core;
using System.Collections.Immutable;
using System.Globalization;

namespace SpiKernel.Models.Architecture;

/// <summary>
/// An ordered set of odd convolution kernel sizes (k1 &lt; k2 &lt; …). It fixes the operation codes of a cell:
/// 0 zero, 1 skip, 2.. one convolution per size in ascending order, and the last code average pooling.
/// With {1,3} the codes are SNASNet's own: 0 zero, 1 skip, 2 conv1×1, 3 conv3×3, 4 avgpool.
/// </summary>
public sealed class KernelSet : IEquatable<KernelSet>
{
    /// <summary>Largest kernel size accepted (a k×k kernel must still fit a small feature map after padding).</summary>
    internal const int MaxSize = 31;

    /// <summary>SNASNet's own set.</summary>
    public static KernelSet Snasnet { get; } = new([1, 3]);

    /// <summary>Creates the set, or throws <see cref="ArgumentException"/> naming what is wrong.</summary>
    internal KernelSet(IEnumerable<int> sizes)
    {
        ArgumentNullException.ThrowIfNull(sizes);
        int[] list = sizes.ToArray();
        if (list.Length == 0)
            throw new SettingsException("A kernel set needs at least one size (e.g. 1,3).");
        foreach (int k in list)
        {
            if (k < 1 || k % 2 == 0 || k > MaxSize)
                throw new SettingsException($"Kernel size {k} is not allowed: sizes must be odd numbers from 1 to {MaxSize}.");
        }
        int dup = list.GroupBy(k => k).Where(g => g.Count() > 1).Select(g => g.Key).DefaultIfEmpty(0).First();
        if (dup != 0)
            throw new SettingsException($"Kernel size {dup} appears more than once in the set.");
        Sizes = [.. list.Order()];
    }

    /// <summary>The sizes in ascending order.</summary>
    public ImmutableArray<int> Sizes { get; }

    /// <summary>Number of operation codes: zero, skip, one per size, avgpool.</summary>
    public int OperationCount => Sizes.Length + 3;

    /// <summary>The code of the average-pooling operation.</summary>
    internal int AvgPoolCode => Sizes.Length + 2;

    /// <summary>The operation a code stands for in this set.</summary>
    public CellOp Operation(int code)
    {
        if (code < 0 || code >= OperationCount)
            throw new ArgumentOutOfRangeException(nameof(code), code, $"Operation code must be 0..{OperationCount - 1} for kernel set {this}.");
        return code switch
        {
            0 => CellOp.Zero,
            1 => CellOp.Skip,
            _ when code == AvgPoolCode => CellOp.AvgPool,
            _ => CellOp.Conv(Sizes[code - 2]),
        };
    }

    /// <summary>The code of a convolution of size <paramref name="kernel"/>.</summary>
    internal int ConvCode(int kernel)
    {
        int i = Sizes.IndexOf(kernel);
        if (i < 0) throw new ArgumentException($"Kernel size {kernel} is not in the set {this}.", nameof(kernel));
        return i + 2;
    }

    /// <summary>Parses "1,3,5" (spaces allowed).</summary>
    public static KernelSet Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string[] parts = text.Split(',', StringSplitOptions.TrimEntries);
        var sizes = new List<int>();
        foreach (string p in parts)
        {
            if (!int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out int k))
                throw new SettingsException($"Kernel set '{text}' is not a comma-separated list of odd sizes (bad item '{p}').");
            sizes.Add(k);
        }
        return new KernelSet(sizes);
    }

    /// <summary>"1,3,5".</summary>
    public override string ToString() => string.Join(',', Sizes);

    /// <inheritdoc />
    public bool Equals(KernelSet? other) => other is not null && Sizes.SequenceEqual(other.Sizes);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as KernelSet);

    /// <inheritdoc />
    public override int GetHashCode() => Sizes.Aggregate(17, (h, k) => h * 31 + k);
}
