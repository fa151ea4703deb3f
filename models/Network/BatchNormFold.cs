using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SpiKernel.Models.Network;

/// <summary>
/// Eval-mode BatchNorm as a per-channel affine map, y = x·scale + shift with scale = γ/√(var+ε) and
/// shift = β − mean·scale (computed in double, rounded once to float32), and its folding into a preceding
/// convolution. The fused inference path of the modules and the ONNX exporter both use these exact numbers.
/// </summary>
public static class BatchNormFold
{
    /// <summary>Per-channel scale and shift of <paramref name="bn"/> at timestep slot <paramref name="t"/>.</summary>
    public static (float[] Scale, float[] Shift) Affine(TimestepBatchNorm bn, int t)
    {
        ArgumentNullException.ThrowIfNull(bn);
        float[] gamma = Values(bn.Weight), beta = Values(bn.Bias);
        using Tensor meanT = bn.RunningMean(t), varT = bn.RunningVar(t);
        float[] mean = Values(meanT), var = Values(varT);
        var scale = new float[gamma.Length];
        var shift = new float[gamma.Length];
        for (int c = 0; c < gamma.Length; c++)
        {
            double s = gamma[c] / Math.Sqrt(var[c] + bn.Eps);
            scale[c] = (float)s;
            shift[c] = (float)(beta[c] - mean[c] * s);
        }
        return (scale, shift);
    }

    /// <summary>
    /// Convolution weights [out, …] multiplied per output channel by the scale of a single-timestep BN (rounded once);
    /// a BN with statistics per timestep cannot be folded into one set of weights.
    /// </summary>
    public static float[] FoldWeights(Conv2d conv, TimestepBatchNorm bn)
    {
        ArgumentNullException.ThrowIfNull(conv);
        ArgumentNullException.ThrowIfNull(bn);
        if (bn.Steps != 1) throw new InvalidOperationException("A BatchNorm with statistics per timestep cannot be folded into one convolution.");
        float[] w = Values(conv.weight!);
        float[] gamma = Values(bn.Weight);
        using Tensor varT = bn.RunningVar(0);
        float[] var = Values(varT);
        int outs = (int)conv.weight!.shape[0], per = w.Length / outs;
        var folded = new float[w.Length];
        for (int o = 0; o < outs; o++)
        {
            double s = gamma[o] / Math.Sqrt(var[o] + bn.Eps);
            for (int k = 0; k < per; k++) folded[o * per + k] = (float)(w[o * per + k] * s);
        }
        return folded;
    }

    /// <summary>The values of <paramref name="t"/> as float32; the detached, converted and contiguous copies are disposed here.</summary>
    internal static float[] Values(Tensor t)
    {
        using Tensor detached = t.detach();
        using Tensor f = detached.to_type(ScalarType.Float32);
        using Tensor c = f.contiguous();
        return c.data<float>().ToArray();
    }
}
