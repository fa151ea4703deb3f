namespace SpiKernel.Models.Network;

/// <summary>
/// How one convolution → BatchNorm that reads spikes becomes an integer operation at one timestep slot: the integer
/// accumulator <c>acc</c> (uint8 spikes × int8 weights, exact) plus <see cref="Bias"/> is multiplied by
/// <see cref="Multiplier"/>, rounded half to even and saturated to int8 (<c>q</c>); <c>q</c> · <see cref="Step"/>
/// approximates the BatchNorm's output. Exactly what ONNX's <c>QLinearConv</c> (x scale 1, weight scale = multiplier,
/// y scale 1) followed by a per-tensor <c>DequantizeLinear</c> computes.
/// </summary>
/// <param name="Multiplier">Requantisation multiplier per output channel: the float value of one accumulator unit after
/// the BatchNorm, in steps; positive (a channel whose BatchNorm scale is negative has its int8 weights negated instead,
/// as runtimes that check scales want them positive); 0 for a channel whose numbers are not finite.</param>
/// <param name="Bias">The BatchNorm shift in accumulator units, rounded (in steps where the BatchNorm scale is 0).</param>
/// <param name="Step">The float value of one output level, the same for every channel of the layer.</param>
/// <param name="Residual">Per channel, the part of the BatchNorm shift the integer bias cannot hold, added in float after
/// the dequantisation; null when no channel loses more than half a step. An accumulator unit coarser than a step
/// (multiplier above 1: a timestep slot whose statistics saw a near-constant input, such as an edge whose node is empty
/// at t0) rounds the shift in units larger than a step, and a shift below half a unit would vanish.</param>
public sealed record SpikeRequantization(float[] Multiplier, int[] Bias, float Step, float[]? Residual = null);

/// <summary>
/// The numbers of the integer (int8) deployed form, shared by the ONNX exporter and the TorchSharp deployed form so both
/// compute the same thing. Spikes are exactly 0 or 1, so quantising them (uint8, scale 1) loses nothing; weights are
/// int8, symmetric per output channel. A convolution's int32 accumulator is requantised to int8 around the range its
/// BatchNorm's statistics give (β ± <see cref="RangeInStd"/>·|γ| — the BatchNorm's output over the training data; no
/// calibration pass); a linear layer's accumulator is scaled to float exactly.
/// </summary>
public static class SpikeQuantization
{
    /// <summary>The requantised range of a BatchNorm's output: |β| + this many |γ| on either side of 0.</summary>
    public const double RangeInStd = 6.0;

    /// <summary>Largest |bias| kept (accumulator plus bias stay exact in float32).</summary>
    private const int MaxBias = 1 << 23;

    /// <summary>int8 weights, symmetric per output channel (first axis): q = round_half_even(w / scale), scale = max|w| / 127 (1 for an all-zero channel).</summary>
    public static (sbyte[] Values, float[] Scales) Weights(float[] values, int outs)
    {
        ArgumentNullException.ThrowIfNull(values);
        int per = values.Length / outs;
        var q = new sbyte[values.Length];
        var scales = new float[outs];
        for (int o = 0; o < outs; o++)
        {
            float max = 0;
            for (int k = 0; k < per; k++)
                if (float.IsFinite(values[o * per + k])) max = Math.Max(max, Math.Abs(values[o * per + k]));
            float scale = max > 0 ? max / 127f : 1f;
            scales[o] = scale;
            for (int k = 0; k < per; k++)
            {
                float v = values[o * per + k];
                q[o * per + k] = float.IsFinite(v) ? (sbyte)Math.Clamp(Math.Round(v / scale, MidpointRounding.ToEven), -127, 127) : (sbyte)0;
            }
        }
        return (q, scales);
    }

    /// <summary>
    /// The int8 weights of a convolution followed by <paramref name="bn"/> (<see cref="Weights"/>), with the channels
    /// whose BatchNorm scale γ is 0 zeroed (their output is the shift alone, <see cref="ConvBn"/>) and those whose γ is
    /// negative negated (exact in int8's symmetric range): every requantisation multiplier is then positive.
    /// </summary>
    public static (sbyte[] Values, float[] Scales) ConvWeights(float[] values, int outs, TimestepBatchNorm bn)
    {
        ArgumentNullException.ThrowIfNull(bn);
        (sbyte[] q, float[] scales) = Weights(values, outs);
        float[] gamma = BatchNormFold.Values(bn.Weight);
        int per = q.Length / outs;
        for (int o = 0; o < outs; o++)
        {
            if (gamma[o] == 0) Array.Clear(q, o * per, per);
            else if (gamma[o] < 0)
                for (int k = o * per; k < (o + 1) * per; k++) q[k] = (sbyte)-q[k];
        }
        return (q, scales);
    }

    /// <summary>
    /// The requantisation of a convolution with int8 weight scales <paramref name="weightScales"/> (from
    /// <see cref="ConvWeights"/>) followed by <paramref name="bn"/> at timestep slot <paramref name="slot"/> (the
    /// BatchNorm as <see cref="BatchNormFold.Affine"/>). One step for the whole layer — the widest channel range over
    /// 127 — keeps the dequantisation one multiplication per value (a per-channel one costs more than the integer
    /// convolution saves); each channel's multiplier carries its own weight scale and BatchNorm scale.
    /// </summary>
    public static SpikeRequantization ConvBn(float[] weightScales, TimestepBatchNorm bn, int slot)
    {
        ArgumentNullException.ThrowIfNull(weightScales);
        ArgumentNullException.ThrowIfNull(bn);
        (float[] scale, float[] shift) = BatchNormFold.Affine(bn, slot);
        float[] gamma = BatchNormFold.Values(bn.Weight), beta = BatchNormFold.Values(bn.Bias);
        int c = weightScales.Length;
        double widest = 0;
        for (int o = 0; o < c; o++)
        {
            double range = Math.Abs(beta[o]) + RangeInStd * Math.Abs(gamma[o]);
            if (double.IsFinite(range)) widest = Math.Max(widest, range);
        }
        float step = (float)(widest > 0 ? widest / 127 : 1.0);
        var r = new SpikeRequantization(new float[c], new int[c], step);
        var residual = new float[c];
        for (int o = 0; o < c; o++)
        {
            // float value of one accumulator unit after the BatchNorm; positive, as ConvWeights negated the weights of γ < 0
            double a = Math.Abs((double)weightScales[o] * scale[o]);
            if (!double.IsFinite(a) || !float.IsFinite(shift[o])) continue; // a diverged channel gives 0
            if (a == 0)
            {
                // γ = 0: the weights are zero (ConvWeights), the output is the shift, held by the bias in steps
                r.Multiplier[o] = 1;
                r.Bias[o] = (int)Math.Clamp(Math.Round(shift[o] / step, MidpointRounding.ToEven), -128, 127);
                continue;
            }
            r.Multiplier[o] = (float)(a / step);
            r.Bias[o] = (int)Math.Clamp(Math.Round(shift[o] / a, MidpointRounding.ToEven), -MaxBias, MaxBias);
            residual[o] = (float)(shift[o] - r.Bias[o] * a);
        }
        return residual.Any(v => Math.Abs(v) > step / 2) ? r with { Residual = residual } : r;
    }

    /// <summary>
    /// Per output channel, the float value of one accumulator unit of a linear layer whose uint8 input holds its float
    /// input times <paramref name="inputLevels"/> (1 for spikes; sap² for spikes averaged over sap×sap).
    /// </summary>
    public static float[] LinearScales(float[] weightScales, int inputLevels)
    {
        ArgumentNullException.ThrowIfNull(weightScales);
        return weightScales.Select(s => (float)((double)s / inputLevels)).ToArray();
    }
}
