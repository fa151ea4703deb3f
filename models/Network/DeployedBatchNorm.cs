using TorchSharp.Modules;
using static TorchSharp.torch;
using SpiKernel.Models.Compute;

namespace SpiKernel.Models.Network;

/// <summary>
/// The eval-mode (deployed) form of a <see cref="TimestepBatchNorm"/>: per timestep slot a per-channel Mul then Add
/// with <see cref="BatchNormFold.Affine"/>'s numbers — the operations the ONNX exporter writes. A snapshot of the
/// statistics when made.
/// </summary>
internal sealed class DeployedBatchNorm : IDisposable
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
            _scales[t] = PerChannel(scale);
            _shifts[t] = PerChannel(shift);
        }
    }

    /// <summary>[1, C, 1, 1] of <paramref name="values"/> (the flat tensor it is made from is disposed here).</summary>
    private static Tensor PerChannel(float[] values)
    {
        using Tensor flat = tensor(values);
        return flat.reshape(1, -1, 1, 1);
    }

    /// <summary>x·scale + shift with the statistics of the layer's current timestep.</summary>
    public Tensor Apply(Tensor x)
    {
        using Tensor scaled = x * _scales[_bn.Slot];
        return scaled.add(_shifts[_bn.Slot], Scalars.One);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (Tensor t in _scales.Concat(_shifts)) t.Dispose();
    }
}

/// <summary>
/// The deployed form of Conv (no bias) → <see cref="TimestepBatchNorm"/>: the BN folded into the convolution. With one
/// set of statistics the weights are scaled once (<see cref="BatchNormFold.FoldWeights"/>); with statistics per timestep
/// each timestep slot has its own weights — the stored weights times that slot's scale, one float32 multiplication per
/// weight — and its shift as bias. Exactly what the ONNX exporter writes (there the per-timestep products are computed
/// in the graph from the stored weights and scales, with the same float32 multiplications).
/// </summary>
internal sealed class DeployedConvBn : IDeployedConv
{
    private readonly long _stride, _padding;
    private readonly Tensor[] _weights, _biases;
    private readonly TimestepBatchNorm _bn;

    /// <summary>Snapshots <paramref name="conv"/> and <paramref name="bn"/>.</summary>
    public DeployedConvBn(Conv2d conv, TimestepBatchNorm bn, long stride, long padding)
    {
        ArgumentNullException.ThrowIfNull(conv);
        _bn = bn ?? throw new ArgumentNullException(nameof(bn));
        _stride = stride;
        _padding = padding;
        _weights = new Tensor[bn.Steps];
        _biases = new Tensor[bn.Steps];
        if (bn.Steps == 1)
        {
            _weights[0] = tensor(BatchNormFold.FoldWeights(conv, bn), conv.weight!.shape);
            _biases[0] = tensor(BatchNormFold.Affine(bn, 0).Shift);
            return;
        }
        using Tensor detached = conv.weight!.detach();
        using Tensor w = detached.to_type(ScalarType.Float32);
        for (int t = 0; t < bn.Steps; t++)
        {
            (float[] scale, float[] shift) = BatchNormFold.Affine(bn, t);
            using Tensor flat = tensor(scale);
            using Tensor s = flat.reshape(-1, 1, 1, 1);
            _weights[t] = w * s;
            _biases[t] = tensor(shift);
        }
    }

    /// <summary>Runs the block on <paramref name="x"/> with the weights of the layer's current timestep.</summary>
    public Tensor Forward(Tensor x)
    {
        int slot = _weights.Length == 1 ? 0 : _bn.Slot;
        return nn.functional.conv2d(x, _weights[slot], _biases[slot], strides: [_stride, _stride], padding: [_padding, _padding]);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (Tensor t in _weights.Concat(_biases)) t.Dispose();
    }
}
