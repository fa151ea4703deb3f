using SpiKernel.Models.Network;
using static SpiKernel.Core.OnnxFormat.OnnxHelper;

namespace SpiKernel.Exporters;

// Convolutions with their BatchNorm folded in, BatchNorm alone as a per-channel Mul/Add, and fully connected layers.
partial class SnnOnnxExporter
{
    /// <summary>Conv (no bias) followed by a single-timestep BN, folded into one Conv with bias. <paramref name="path"/> owns .conv and .bn.</summary>
    private string ConvBn(string path, string x, int stride)
    {
        long[] shape = _state[$"{path}.conv.weight"].shape;
        string weight = ConvBnWeights(path, shape, out string bias);
        return ConvNode($"{path}.conv", x, [weight, bias], shape, stride, groups: 1);
    }

    private string ConvNode(string name, string x, string[] parameters, long[] shape, int stride, int groups)
    {
        long k2 = shape[2], pad = k2 / 2;
        return _g.Op("Conv", name, [x, .. parameters],
            Ints("kernel_shape", k2, shape[3]), Ints("pads", pad, pad, pad, pad), Ints("strides", (long)stride, stride), Ints("dilations", 1L, 1L), Attr("group", (long)groups));
    }

    /// <summary>
    /// Conv → BN over a sequence (stride 1), the BN always folded into the convolution. Batched layout: one grouped
    /// Conv (T groups) over the stacked timesteps, whose weights are the convolution's weights scaled by each timestep's
    /// BN (<see cref="FoldedWeightsOverTime"/>) and whose bias is each timestep's BN shift. Step layout (and a
    /// time-invariant input): one Conv per timestep with that timestep's folded BN (<see cref="ConvBnStep"/>).
    /// </summary>
    private Seq ConvBnSeq(string path, Seq x)
    {
        if (Integer) return IntegerConvBnSeq(path, x);
        var bn = ModuleAt<TimestepBatchNorm>($"{path}.bn");
        if (!Batched || _t == 1 || x.IsConstant)
        {
            if (x.IsConstant && bn.Steps == 1) return Seq.Constant(ConvBn(path, x.Steps![0], stride: 1), _t);
            return new Seq { Steps = StepsOf(x).Select((s, t) => ConvBnStep(path, s, t)).ToArray(), Base = $"{path}.conv" };
        }
        long[] shape = _state[$"{path}.conv.weight"].shape;
        (string weights, string bias) = FoldedWeightsOverTime(path, shape);
        string y = ConvNode($"{path}.conv", StackedOf(x), [weights, bias], [_t * shape[0], .. shape[1..]], stride: 1, groups: _t);
        return new Seq { Stacked = y, Base = $"{path}.conv" };
    }

    /// <summary>
    /// Weights [T·out, in, k, k] and bias [T·out] of the grouped convolution over the stacked timesteps: the stored
    /// weights (once, [out, in, k, k]) times each timestep's BN scale (a [T, out, 1, 1, 1] initializer), computed in the
    /// graph from initializers only — runtimes fold it into a constant when the session is created — so the file keeps
    /// one copy of the weights. A BN with one set of statistics (T copies of its folded weights) works the same way.
    /// </summary>
    private (string Weights, string Bias) FoldedWeightsOverTime(string path, long[] shape) => Once($"{path}.conv.weight/over_time", () =>
    {
        var bn = ModuleAt<TimestepBatchNorm>($"{path}.bn");
        long outs = shape[0];
        long[] groupedShape = [_t * outs, .. shape[1..]];
        string shapeName = $"shape.{string.Join('_', groupedShape)}";
        if (bn.Steps == 1)
        {
            string folded = ConvBnWeights(path, shape, out string bias1);
            string tiled = _g.Op("Concat", $"{path}.conv.weight/over_time", Enumerable.Repeat(folded, _t).ToArray(), Attr("axis", 0L));
            string biasT = _g.Op("Concat", $"{path}.conv.bias/over_time", Enumerable.Repeat(bias1, _t).ToArray(), Attr("axis", 0L));
            return (tiled, biasT);
        }
        (float[] scales, float[] shifts) = AffineOverTime(bn);
        string w = Weight($"{path}.conv.weight", shape, Data($"{path}.conv.weight"));
        string scale = _g.Initializer(FloatTensor($"{path}.bn.scale", [_t, outs, 1, 1, 1], scales));
        string shift = _g.Initializer(FloatTensor($"{path}.bn.shift", [_t * outs], shifts));
        string w5 = _g.Op("Reshape", $"{path}.conv.weight/unsqueeze", [w, _g.Int64s($"shape.1_{string.Join('_', shape)}", [1, .. shape])]);
        string scaled = _g.Op("Mul", $"{path}.conv.weight/by_time", [w5, scale]);
        string grouped = _g.Op("Reshape", $"{path}.conv.weight/grouped", [scaled, _g.Int64s(shapeName, groupedShape)]);
        return (grouped, shift);
    });

    /// <summary>Each timestep's BN scale and shift, timestep after timestep ([T·C] each; a BN with one set repeats it).</summary>
    private (float[] Scales, float[] Shifts) AffineOverTime(TimestepBatchNorm bn)
    {
        var scales = new List<float>();
        var shifts = new List<float>();
        for (int t = 0; t < _t; t++)
        {
            (float[] sc, float[] sh) = BatchNormFold.Affine(bn, Math.Min(t, bn.Steps - 1));
            scales.AddRange(sc);
            shifts.AddRange(sh);
        }
        return (scales.ToArray(), shifts.ToArray());
    }

    /// <summary>The stem-style folded weights and bias of a Conv → BN with one set of statistics.</summary>
    private string ConvBnWeights(string path, long[] shape, out string bias)
    {
        var conv = ModuleAt<TorchSharp.Modules.Conv2d>($"{path}.conv");
        var bn = ModuleAt<TimestepBatchNorm>($"{path}.bn");
        (_, float[] shift) = BatchNormFold.Affine(bn, 0);
        string weight = Weight($"{path}.conv.weight", shape, BatchNormFold.FoldWeights(conv, bn));
        bias = Once($"{path}.conv.bias", () => _g.Initializer(FloatTensor($"{path}.conv.bias", [shape[0]], shift)));
        return weight;
    }

    /// <summary>
    /// Conv → BN at timestep <paramref name="t"/> (step layout, backward cells): one Conv whose weights are the stored
    /// weights times timestep <paramref name="t"/>'s BN scale ([out, 1, 1, 1], computed in the graph from initializers)
    /// and whose bias is that timestep's shift.
    /// </summary>
    private string ConvBnStep(string path, string x, int t)
    {
        if (Integer) return IntegerConvBnStep(path, Spikes8(x), t);
        var bn = ModuleAt<TimestepBatchNorm>($"{path}.bn");
        if (bn.Steps == 1) return ConvBn(path, x, stride: 1);
        int slot = Math.Min(t, bn.Steps - 1);
        long[] shape = _state[$"{path}.conv.weight"].shape;
        (string weights, string bias) = Once($"{path}.conv.weight/t{slot}", () =>
        {
            (float[] scale, float[] shift) = BatchNormFold.Affine(bn, slot);
            string w = Weight($"{path}.conv.weight", shape, Data($"{path}.conv.weight"));
            string s = _g.Initializer(FloatTensor($"{path}.bn.scale.t{slot}", [shape[0], 1, 1, 1], scale));
            string b = _g.Initializer(FloatTensor($"{path}.bn.shift.t{slot}", [shape[0]], shift));
            return (_g.Op("Mul", $"{path}.conv.weight/t{slot}", [w, s]), b);
        });
        return ConvNode($"{path}.conv/t{t}", x, [weights, bias], shape, stride: 1, groups: 1);
    }

    /// <summary>
    /// A BatchNorm with no convolution before it, as per-channel Mul then Add with the statistics of each timestep
    /// (<see cref="BatchNormFold.Affine"/>). Batched layout: one Mul and one Add over the stacked [N, T·C, H, W] value
    /// with [1, T·C, 1, 1] constants (timestep t's numbers on channels t·C … t·C + C − 1); per step otherwise.
    /// </summary>
    private Seq TimeAffine(string path, Seq x)
    {
        var bn = ModuleAt<TimestepBatchNorm>(path);
        if (Batched && x.IsConstant && bn.Steps == 1)
            return Seq.Constant(AffineStep(path, x.Steps![0], 0), _t);
        if (!Batched || _t == 1 || x.Stacked is null)
            return new Seq { Steps = StepsOf(x).Select((v, t) => AffineStep(path, v, t)).ToArray(), Base = path };

        long c = bn.Weight.shape[0];
        (float[] scales, float[] shifts) = AffineOverTime(bn);
        string scale = _g.Initializer(FloatTensor($"{path}.scale", [1, _t * c, 1, 1], scales));
        string shift = _g.Initializer(FloatTensor($"{path}.shift", [1, _t * c, 1, 1], shifts));
        string scaled = _g.Op("Mul", $"{path}/scale", [x.Stacked, scale]);
        return new Seq { Stacked = _g.Op("Add", $"{path}/shift", [scaled, shift]), Base = path };
    }

    /// <summary>The per-channel BN of timestep <paramref name="t"/> on one step's value.</summary>
    private string AffineStep(string path, string x, int t)
    {
        string scaled = _g.Op("Mul", $"{path}/scale/t{t}", [x, AffineConstant(path, t, "scale")]);
        return _g.Op("Add", $"{path}/shift/t{t}", [scaled, AffineConstant(path, t, "shift")]);
    }

    /// <summary>Scale or shift [1, C, 1, 1] of the BN at timestep <paramref name="t"/> (named without a suffix when the BN has one set).</summary>
    private string AffineConstant(string path, int t, string which)
    {
        var bn = ModuleAt<TimestepBatchNorm>(path);
        int slot = Math.Min(t, bn.Steps - 1);
        string name = bn.Steps == 1 ? $"{path}.{which}" : $"{path}.{which}.t{slot}";
        return Once(name, () =>
        {
            (float[] scale, float[] shift) = BatchNormFold.Affine(bn, slot);
            float[] v = which == "scale" ? scale : shift;
            return _g.Initializer(FloatTensor(name, [1, v.Length, 1, 1], v));
        });
    }

    /// <summary>
    /// A fully connected layer (fc1 flattens its [N, C, H, W] input first). Batched layout: the stacked [N, T·F] (or
    /// [N, T·C, H, W]) value is viewed as [N·T, F] rows, one Gemm runs over all of them, and the result is viewed back
    /// as [N, T·out]; a time-invariant input runs once.
    /// </summary>
    private Seq Linear(string path, Seq x, bool hasBias, bool flatten, int levels = 1)
    {
        long[] shape = _state[$"{path}.weight"].shape;
        string Input(string v) => Integer ? Levels8(v, levels) : v;
        string Dense(string rows) => Integer ? IntegerDense(path, rows, hasBias, levels) : Gemm(path, rows, hasBias);
        string Step(string v) => Dense(flatten ? _g.Op("Flatten", $"{path}/flatten", [Input(v)], Attr("axis", 1L)) : Input(v));
        if (!Batched || _t == 1) return new Seq { Steps = StepsOf(x).Select(Step).ToArray(), Base = path };
        if (x.IsConstant) return Seq.Constant(Step(x.Steps![0]), _t);
        string rows = _g.Op("Reshape", $"{path}/rows", [Input(StackedOf(x)), _g.Int64s($"shape.rows_{shape[1]}", -1, shape[1])]);
        string y = Dense(rows);
        return new Seq { Stacked = _g.Op("Reshape", $"{path}/stack", [y, _g.Int64s($"shape.n_{_t * shape[0]}", -1, _t * shape[0])]), Base = path };
    }

    private string Gemm(string path, string x, bool hasBias)
    {
        long[] shape = _state[$"{path}.weight"].shape;
        string weight = Weight($"{path}.weight", shape, Data($"{path}.weight"));
        var inputs = new List<string> { x, weight };
        if (hasBias)
            inputs.Add(Once($"{path}.bias", () => _g.Initializer(FloatTensor($"{path}.bias", [shape[0]], Data($"{path}.bias")))));
        return _g.Op("Gemm", path, inputs, Attr("transB", 1L), Attr("alpha", 1f), Attr("beta", 1f));
    }
}
