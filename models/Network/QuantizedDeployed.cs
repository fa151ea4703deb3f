using TorchSharp.Modules;
using static TorchSharp.torch;
using SpiKernel.Models.Compute;

namespace SpiKernel.Models.Network;

/// <summary>A convolution → BatchNorm in a deployed form (BatchNorm folded, or integer).</summary>
internal interface IDeployedConv : IDisposable
{
    /// <summary>Runs the block on <paramref name="x"/> at the layer's current timestep.</summary>
    Tensor Forward(Tensor x);
}

/// <summary>
/// The integer (int8) deployed form of a convolution → <see cref="TimestepBatchNorm"/> that reads spikes, as the int8
/// ONNX export computes it (<see cref="SpikeQuantization"/>): the convolution of the 0/1 spikes with the int8 weights
/// plus the bias (integer values held in float64: exact whatever the order and size, as ONNX Runtime's int32
/// accumulator is), converted once to float32, times the multiplier, rounded half to even, saturated to int8, times
/// the step — each step one float32 operation, as ONNX Runtime's <c>QLinearConv</c> and <c>DequantizeLinear</c> perform them.
/// A snapshot of the weights and statistics when made.
/// </summary>
internal sealed class QuantizedConvBn : IDeployedConv
{
    private readonly long _padding;
    private readonly Tensor _weights;
    private readonly Tensor[] _bias, _multiplier;
    private readonly Tensor?[] _residual;
    private readonly float[] _step;
    private readonly TimestepBatchNorm _bn;

    /// <summary>Snapshots <paramref name="conv"/> (stride 1) and <paramref name="bn"/>.</summary>
    public QuantizedConvBn(Conv2d conv, TimestepBatchNorm bn, long padding)
    {
        ArgumentNullException.ThrowIfNull(conv);
        _bn = bn ?? throw new ArgumentNullException(nameof(bn));
        _padding = padding;
        long[] shape = conv.weight!.shape;
        (sbyte[] q, float[] scales) = SpikeQuantization.ConvWeights(BatchNormFold.Values(conv.weight), (int)shape[0], bn);
        _weights = tensor(q.Select(v => (double)v).ToArray(), shape);
        _bias = new Tensor[bn.Steps];
        _multiplier = new Tensor[bn.Steps];
        _residual = new Tensor?[bn.Steps];
        _step = new float[bn.Steps];
        for (int t = 0; t < bn.Steps; t++)
        {
            SpikeRequantization r = SpikeQuantization.ConvBn(scales, bn, t);
            _bias[t] = PerChannel(r.Bias.Select(b => (double)b).ToArray());
            _multiplier[t] = PerChannel(r.Multiplier);
            _residual[t] = r.Residual is { } res ? PerChannel(res) : null;
            _step[t] = r.Step;
        }
    }

    private static Tensor PerChannel(IEnumerable<float> values)
    {
        using Tensor flat = tensor(values.ToArray());
        return flat.reshape(1, -1, 1, 1);
    }

    private static Tensor PerChannel(double[] values)
    {
        using Tensor flat = tensor(values);
        return flat.reshape(1, -1, 1, 1);
    }

    /// <inheritdoc />
    public Tensor Forward(Tensor x)
    {
        int slot = _bn.Slot;
        using Tensor spikes = x.to_type(ScalarType.Float64);
        using Tensor conv = nn.functional.conv2d(spikes, _weights, padding: [_padding, _padding]);
        using Tensor acc = conv.round(); // exact already; rounding only guards against a backend that is not
        using Tensor sum = acc.add(_bias[slot], Scalars.One); // the int32 accumulator, exact
        using Tensor biased = sum.to_type(ScalarType.Float32); // converted once, as the requantisation converts it
        using Tensor scaled = biased * _multiplier[slot];
        using Tensor q = scaled.round().clamp_(Scalars.Of(-128L), Scalars.Of(127L));
        Tensor y = q.mul(Scalars.Of(_step[slot])); // a float32 tensor times a float32 number: float32 products
        return _residual[slot] is { } residual ? y.add_(residual, Scalars.One) : y;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _weights.Dispose();
        foreach (Tensor t in _bias.Concat(_multiplier)) t.Dispose();
        foreach (Tensor? t in _residual) t?.Dispose();
    }
}

/// <summary>
/// The integer deployed form of a linear layer that reads spikes (or spikes averaged over sap×sap): the input times
/// its level count is an integer 0…levels, the product with the int8 weights is exact (float64, as ONNX Runtime's int32
/// accumulator), converted once to float32, and one float32 multiplication per output channel (then the bias) gives the
/// float result — <c>MatMulInteger</c>, <c>Cast</c>, <c>Mul</c>, <c>Add</c>.
/// </summary>
internal sealed class QuantizedLinear : IDisposable
{
    private readonly Tensor _weightsT, _scale;
    private readonly Tensor? _bias;
    private readonly int _levels;

    /// <summary>Snapshots <paramref name="linear"/>, whose input holds multiples of 1/<paramref name="levels"/>.</summary>
    public QuantizedLinear(Linear linear, int levels)
    {
        ArgumentNullException.ThrowIfNull(linear);
        long[] shape = linear.weight!.shape;
        (sbyte[] q, float[] scales) = SpikeQuantization.Weights(BatchNormFold.Values(linear.weight), (int)shape[0]);
        using Tensor w = tensor(q.Select(v => (double)v).ToArray(), shape);
        _weightsT = w.t().contiguous();
        _scale = tensor(SpikeQuantization.LinearScales(scales, levels));
        _bias = linear.bias is null ? null : tensor(BatchNormFold.Values(linear.bias));
        _levels = levels;
    }

    /// <summary>Runs the layer on <paramref name="x"/> [N, in].</summary>
    public Tensor Forward(Tensor x)
    {
        using Tensor counted = _levels == 1 ? x.alias() : x.mul(Scalars.Of((long)_levels)).round_();
        using Tensor levels = counted.to_type(ScalarType.Float64);
        using Tensor product = levels.matmul(_weightsT);
        using Tensor exact = product.round();
        using Tensor acc = exact.to_type(ScalarType.Float32); // the int32 sum, cast to float once
        Tensor scaled = acc * _scale;
        if (_bias is null) return scaled;
        using (scaled)
            return scaled.add(_bias, Scalars.One);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _weightsT.Dispose();
        _scale.Dispose();
        _bias?.Dispose();
    }
}
