namespace SpiKernel.Models.Architecture;

/// <summary>What an edge of a cell computes.</summary>
public enum CellOpKind
{
    /// <summary>Contributes nothing (no computation is emitted).</summary>
    Zero,

    /// <summary>Identity.</summary>
    Skip,

    /// <summary>LIF → Conv(k×k, pad k/2, no bias) → BN.</summary>
    Conv,

    /// <summary>AvgPool(3, stride 1, pad 1).</summary>
    AvgPool,
}

/// <summary>One edge operation; <see cref="Kernel"/> is set for convolutions only.</summary>
public readonly record struct CellOp(CellOpKind Kind, int Kernel)
{
    /// <summary>The zero operation.</summary>
    public static CellOp Zero => new(CellOpKind.Zero, 0);

    /// <summary>The identity.</summary>
    public static CellOp Skip => new(CellOpKind.Skip, 0);

    /// <summary>3×3 average pooling.</summary>
    public static CellOp AvgPool => new(CellOpKind.AvgPool, 0);

    /// <summary>A k×k spiking convolution.</summary>
    public static CellOp Conv(int kernel) => new(CellOpKind.Conv, kernel);

    /// <inheritdoc />
    public override string ToString() => Kind == CellOpKind.Conv ? $"conv{Kernel}x{Kernel}" : Kind.ToString().ToLowerInvariant();
}
