using System.Diagnostics;
using Onnx;
using SpiKernel.Models.Network;
using static SpiKernel.Core.OnnxFormat.OnnxHelper;
using DataType = Onnx.TensorProto.Types.DataType;

namespace SpiKernel.Exporters;

// The int8 export: every convolution and linear layer that reads spikes as an integer operation on uint8 spikes and int8
// weights (SpikeQuantization holds the numbers; SpikingNetwork.Fuse(integer: true) computes the same in TorchSharp).
partial class SnnOnnxExporter
{
    private bool Integer => _options.Precision == WeightPrecision.Int8;

    /// <summary>Float spikes → the boolean "fired" tensor they were cast from (uint8 spikes are cast from it directly).</summary>
    private readonly Dictionary<string, string> _firedOf = new(StringComparer.Ordinal);

    /// <summary>Stacked float spikes (batched layout) → the per-timestep boolean "fired" tensors they were stacked from.</summary>
    private readonly Dictionary<string, string[]> _firedSteps = new(StringComparer.Ordinal);

    /// <summary>The uint8 spikes (0/1) of a float spike value, cast once.</summary>
    private string Spikes8(string spikes) => Once($"{spikes}/u8", () =>
        _g.Op("Cast", $"{spikes}/u8", [_firedOf.GetValueOrDefault(spikes, spikes)], Attr("to", (long)DataType.Uint8)));

    /// <summary>
    /// The per-timestep uint8 spikes of a spike sequence: cast from each timestep's "fired" tensor where the batched
    /// layout stacked them (no Split of a stacked copy), else from each step's spikes.
    /// </summary>
    private string[] Spikes8(Seq s) => s.Stacked is not null && _firedSteps.TryGetValue(s.Stacked, out string[]? fired)
        ? fired.Select(f => Once($"{f}/u8", () => _g.Op("Cast", $"{f}/u8", [f], Attr("to", (long)DataType.Uint8)))).ToArray()
        : StepsOf(s).Select(Spikes8).ToArray();

    /// <summary>
    /// Conv → BN on a spike sequence, one integer convolution per timestep (<see cref="IntegerConvBnStep"/>) in both
    /// layouts: ONNX Runtime's grouped <c>QLinearConv</c> (one over the stacked timesteps, as the float export does) ran
    /// 0.85–1.4× its float convolution, one per timestep 1.7–2.7× (docs/measurements/int8-export.md).
    /// </summary>
    private Seq IntegerConvBnSeq(string path, Seq spikes) =>
        new() { Steps = Spikes8(spikes).Select((s, t) => IntegerConvBnStep(path, s, t)).ToArray(), Base = $"{path}.conv" };

    /// <summary>
    /// Conv → BN at timestep <paramref name="t"/> on one step's uint8 spikes: <c>QLinearConv</c> (int8 weights, int8
    /// output requantised around the BN's range with the BN's scale in the per-channel multiplier and its shift in the
    /// int32 bias; uint8 with zero point 128, as ONNX Runtime gives uint8 out for uint8 in) then one per-tensor
    /// <c>DequantizeLinear</c>.
    /// </summary>
    private string IntegerConvBnStep(string path, string spikes8, int t)
    {
        var bn = ModuleAt<TimestepBatchNorm>($"{path}.bn");
        int slot = Math.Min(t, bn.Steps - 1);
        long[] shape = _state[$"{path}.conv.weight"].shape;
        (string w, float[] scales) = Once($"{path}.conv.weight/int8", () =>
        {
            (sbyte[] q, float[] s) = SpikeQuantization.ConvWeights(Data($"{path}.conv.weight"), (int)shape[0], bn);
            return (_g.Initializer(Int8Tensor($"{path}.conv.weight", shape, q)), s);
        });
        (string multiplier, string bias, string step, string? residual) = Once($"{path}.requant/t{slot}", () =>
        {
            SpikeRequantization r = SpikeQuantization.ConvBn(scales, bn, slot);
            string name = bn.Steps == 1 ? $"{path}.requant" : $"{path}.requant.t{slot}";
            return (_g.Initializer(FloatTensor($"{name}.multiplier", [r.Multiplier.Length], r.Multiplier)),
                _g.Initializer(Int32Tensor($"{name}.bias", [r.Bias.Length], r.Bias)),
                _g.Initializer(FloatTensor($"{name}.step", [], [r.Step])),
                r.Residual is { } res ? _g.Initializer(FloatTensor($"{name}.residual", [res.Length, 1, 1], res)) : null);
        });
        string one = _g.Scalar("int8.one", 1f);
        long k = shape[2], pad = k / 2;
        string y = _g.Op("QLinearConv", $"{path}.conv/t{t}", [spikes8, one, XZero, w, multiplier, Int8Zeros(shape[0]), one, YZero, bias],
            Ints("kernel_shape", k, shape[3]), Ints("pads", pad, pad, pad, pad), Ints("strides", 1L, 1L), Ints("dilations", 1L, 1L), Attr("group", 1L));
        string dequantized = _g.Op("DequantizeLinear", $"{path}.conv/dequant/t{t}", [y, step, YZero]);
        // the shift the bias could not hold (SpikeRequantization.Residual): only in slots that need it
        return residual is null ? dequantized : _g.Op("Add", $"{path}.conv/residual/t{t}", [dequantized, residual]);
    }

    /// <summary>The uint8 zero point (scalar) of spikes and levels.</summary>
    private string XZero => Once("int8.x_zero_point", () => _g.Initializer(UInt8Tensor("int8.x_zero_point", [], [0])));

    /// <summary>The zero point of the requantised outputs: int8 levels held as uint8, level + 128.</summary>
    private string YZero => Once("int8.y_zero_point", () => _g.Initializer(UInt8Tensor("int8.y_zero_point", [], [128])));

    /// <summary>n int8 zeros (the weights' zero points).</summary>
    private string Int8Zeros(long n) => Once($"int8.zeros.{n}", () => _g.Initializer(Int8Tensor($"int8.zeros.{n}", [n], new sbyte[n])));

    /// <summary>The int8 weights [out, in] of the linear layer <paramref name="name"/> stored transposed ([in, out], as MatMulInteger takes them), and their scales.</summary>
    private (string Name, float[] Scales) LinearWeights(string name, long[] shape) => Once($"{name}/int8", () =>
    {
        (sbyte[] q, float[] scales) = SpikeQuantization.Weights(Data(name), (int)shape[0]);
        int outs = (int)shape[0], ins = (int)shape[1];
        var t = new sbyte[q.Length];
        for (int o = 0; o < outs; o++)
            for (int i = 0; i < ins; i++) t[i * outs + o] = q[o * ins + i];
        return (_g.Initializer(Int8Tensor(name, [ins, outs], t)), scales);
    });

    /// <summary>
    /// The uint8 input of an integer linear layer: spikes cast, or spikes averaged over <paramref name="levels"/> cells
    /// (multiples of 1/levels) quantised with scale 1/levels, which gives the exact integer counts.
    /// </summary>
    private string Levels8(string x, int levels)
    {
        Debug.Assert(levels <= byte.MaxValue, "ExportOptions.WhyNot refuses a second pooling over more cells than the integer kernels add exactly");
        return levels == 1 ? Spikes8(x) : Once($"{x}/u8", () =>
            _g.Op("QuantizeLinear", $"{x}/u8", [x, _g.Scalar($"int8.per_{levels}", 1f / levels), XZero]));
    }

    /// <summary>
    /// A linear layer on uint8 input rows: <c>MatMulInteger</c> with the int8 weights (stored transposed, [in, out]),
    /// the int32 result cast to float and scaled per output channel, then the bias.
    /// </summary>
    private string IntegerDense(string path, string x8, bool hasBias, int levels)
    {
        long[] shape = _state[$"{path}.weight"].shape;
        (string w, float[] scales) = LinearWeights($"{path}.weight", shape);
        string scale = Once($"{path}.weight/scale", () => _g.Initializer(FloatTensor($"{path}.scale", [shape[0]], SpikeQuantization.LinearScales(scales, levels))));
        string acc = _g.Op("MatMulInteger", $"{path}/int", [x8, w, XZero]);
        string f = _g.Op("Cast", $"{path}/float", [acc], Attr("to", (long)DataType.Float));
        string y = _g.Op("Mul", hasBias ? $"{path}/scale" : path, [f, scale]);
        if (!hasBias) return y;
        string bias = Once($"{path}.bias", () => _g.Initializer(FloatTensor($"{path}.bias", [shape[0]], Data($"{path}.bias"))));
        return _g.Op("Add", path, [y, bias]);
    }
}
