using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SpiKernel.Models.Network;

/// <summary>
/// The eval-mode (deployed) form of a <see cref="TimestepBatchNorm"/>: per timestep slot a per-channel Mul then Add
/// with <see cref="BatchNormFold.Affine"/>'s numbers — the operations the ONNX exporter writes. A snapshot of the
/// statistics when made.
/// </summary>
public sealed class DeployedBatchNorm : IDisposable
{
    private readonly Tensor[] _scales, _shifts;
    private readonly TimestepBatchNorm _bn;

    /// <summary>Snapshots <paramref name="bn"/>.</summary>
    public DeployedBatchNorm(TimestepBatchNorm bn)
    {
        _bn = bn ?? throw new ArgumentNullException(nameof(bn));
        _scales = new Tensor[bn.Steps];
        _shifts = new Tensor[bn.Steps];
        for (int t = 0; t < bn.Steps; t++)
        {
            (float[] scale, float[] shift) = BatchNormFold.Affine(bn, t);
            _scales[t] = tensor(scale).reshape(1, -1, 1, 1);
            _shifts[t] = tensor(shift).reshape(1, -1, 1, 1);
        }
    }

    /// <summary>x·scale + shift with the statistics of the layer's current timestep.</summary>
    public Tensor Apply(Tensor x)
    {
        using Tensor scaled = x * _scales[_bn.Slot];
        return scaled + _shifts[_bn.Slot];
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (Tensor t in _scales.Concat(_shifts)) t.Dispose();
    }
}

/// <summary>
/// The deployed form of Conv (no bias) → <see cref="TimestepBatchNorm"/>: with one set of statistics the BN is folded
/// into the convolution (weights scaled, shift as bias); with statistics per timestep the convolution keeps its weights
/// and a <see cref="DeployedBatchNorm"/> follows. Exactly what the ONNX exporter writes.
/// </summary>
public sealed class DeployedConvBn : IDisposable
{
    private readonly Conv2d _conv;
    private readonly long _stride, _padding;
    private readonly Tensor? _foldedWeight, _foldedBias;
    private readonly DeployedBatchNorm? _bn;

    /// <summary>Snapshots <paramref name="conv"/> and <paramref name="bn"/>.</summary>
    public DeployedConvBn(Conv2d conv, TimestepBatchNorm bn, long stride, long padding)
    {
        _conv = conv ?? throw new ArgumentNullException(nameof(conv));
        ArgumentNullException.ThrowIfNull(bn);
        _stride = stride;
        _padding = padding;
        if (bn.Steps == 1)
        {
            _foldedWeight = tensor(BatchNormFold.FoldWeights(conv, bn), conv.weight!.shape);
            _foldedBias = tensor(BatchNormFold.Affine(bn, 0).Shift);
        }
        else
        {
            _bn = new DeployedBatchNorm(bn);
        }
    }

    /// <summary>Runs the block on <paramref name="x"/>.</summary>
    public Tensor Forward(Tensor x)
    {
        if (_bn is null)
            return nn.functional.conv2d(x, _foldedWeight!, _foldedBias, strides: [_stride, _stride], padding: [_padding, _padding]);
        using Tensor c = nn.functional.conv2d(x, _conv.weight!, null, strides: [_stride, _stride], padding: [_padding, _padding]);
        return _bn.Apply(c);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _foldedWeight?.Dispose();
        _foldedBias?.Dispose();
        _bn?.Dispose();
    }
}
