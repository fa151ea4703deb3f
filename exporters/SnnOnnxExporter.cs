using SpiKernel.Core.OnnxFormat;
using System.Globalization;
using System.Reflection;
using Onnx;
using SpiKernel.Core;
using SpiKernel.Models.Architecture;
using SpiKernel.Models.Lif;
using SpiKernel.Models.Network;
using static SpiKernel.Core.OnnxFormat.OnnxHelper;
using static TorchSharp.torch;

namespace SpiKernel.Exporters;

/// <summary>
/// Writes a trained <see cref="SpikingNetwork"/> as a standard ONNX graph (IR 8, opset 17) with its T timesteps
/// unrolled: input <c>input</c> [N, C, H, W]; outputs <c>logits</c> [N, classes] and <c>spike_counts</c> [N, L]
/// (int64, total spikes per sample of each LIF layer in <see cref="SpikingNetwork.LifLayers"/> order).
/// <para>
/// Only standard operators appear: LIF as Mul/Add/GreaterOrEqual/Cast/Where (Sub for a soft reset), BatchNorm folded
/// into the preceding convolution (per timestep: the batched layout's one grouped Conv over all timesteps has each
/// timestep's scaled weights in its group) or, with no convolution before it, into a per-channel Mul/Add; dropout
/// gone; zero edges and pruned nodes emit nothing; the stem is computed once; LIF layers on the same input are
/// computed once. The elementwise LIF steps are the same operations, in the same order, as <see cref="LifNode"/>
/// performs in eval mode, so spikes agree exactly wherever the convolutions agree to rounding.
/// </para>
/// </summary>
public sealed class SnnOnnxExporter
{
    private readonly SpikingNetwork _net;
    private readonly SnnArchitecture _arch;
    private readonly ExportOptions _options;
    private readonly Dictionary<string, Tensor> _state;
    private readonly Dictionary<string, TorchSharp.torch.nn.Module> _modules;
    private readonly GraphBuilder _g = new();
    private readonly List<LifTrace> _lifs = [];
    private readonly int _t;
    private string _stemOut = "";

    private SnnOnnxExporter(SpikingNetwork net, ExportOptions options)
    {
        _net = net;
        _arch = net.Architecture;
        _options = options;
        _t = _arch.Macro.Timesteps;
        _state = net.state_dict().ToDictionary(p => p.Key, p => p.Value);
        _modules = net.named_modules().ToDictionary(p => p.name, p => p.module);
    }


    /// <summary>Builds the ONNX model of <paramref name="net"/> (its weights as they are now; eval-mode semantics).</summary>
    public static ModelProto Export(SpikingNetwork net, ExportOptions? options = null, ModelFacts? facts = null)
    {
        ArgumentNullException.ThrowIfNull(net);
        var exporter = new SnnOnnxExporter(net, options ?? new ExportOptions());
        return exporter.Build(facts ?? new ModelFacts());
    }

    /// <summary>Writes <paramref name="model"/> to <paramref name="path"/> atomically (no partial file on failure).</summary>
    public static void Save(ModelProto model, string path) => OnnxHelper.Save(model, path);

    private ModelProto Build(ModelFacts facts)
    {
        MacroConfig m = _arch.Macro;
        string input = "input";

        // stem: once, outside the time loop
        _stemOut = ConvBn("stem", input, stride: m.StemStride);
        var x = Seq.Constant(_stemOut, _t);

        Seq c1 = Cell("cell1", _net.Cell1, x);
        Seq a1 = Lif("down_act.lif", TimeAffine("down_act.bn", c1));
        Seq d1 = ConvBnSeq("down", a1);
        Seq p1 = Map(d1, "pool", s => _g.Op("AveragePool", "pool", [s], Ints("kernel_shape", 2L, 2L), Ints("strides", 2L, 2L)));
        Seq c2 = Cell("cell2", _net.Cell2, p1);
        Seq a2 = Lif("last.lif", TimeAffine("last.bn", c2));
        Seq p2 = m.SecondPool == 1 ? a2 : Map(a2, "sap", s => _g.Op("AveragePool", "sap", [s],
            Ints("kernel_shape", (long)m.SecondPool, m.SecondPool), Ints("strides", (long)m.SecondPool, m.SecondPool)));
        Seq h = Linear("fc1", p2, hasBias: false, flatten: true);
        Seq hs = Lif("fc_lif", h);
        Seq o = Linear("fc2", hs, hasBias: true, flatten: false);
        Logits(o);
        SpikeCounts();

        GraphProto graph = _g.Build("spikernel_snn",
            [Value(input, TensorProto.Types.DataType.Float, "N", m.InChannels, m.Height, m.Width)],
            [Value("logits", TensorProto.Types.DataType.Float, "N", m.Classes),
             Value("spike_counts", TensorProto.Types.DataType.Int64, "N", _net.LifLayers().Count)]);

        string doc = $"Spiking neural network (SNASNet/SpiKernel search space, {(_arch.Cell.IsBackward ? "backward" : "forward")} cell, " +
                     $"kernels {{{_arch.Kernels}}}, T={_t} timesteps unrolled, LIF neurons) classifying {m.InChannels}x{m.Height}x{m.Width} " +
                     $"images into {m.Classes} classes; outputs time-averaged logits and per-layer spike counts.";
        return Model(graph, ToolInfo.Name, ToolInfo.Version, doc, Metadata(facts));
    }

    private IEnumerable<KeyValuePair<string, string>> Metadata(ModelFacts facts)
    {
        static string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);
        LifOptions l = _arch.Lif;
        IReadOnlyList<SpikeLayer> spikeLayers = _arch.SpikeLayers();
        if (!spikeLayers.Select(x => x.Path).SequenceEqual(_net.LifLayers().Select(x => x.Path)))
            throw new InvalidOperationException("The analytic spike layers disagree with the built network's LIF layers.");
        var meta = new Dictionary<string, string>
        {
            [MetadataKeys.Architecture] = _arch.ToString(),
            [MetadataKeys.CandidateId] = _arch.CandidateId,
            [MetadataKeys.Kernels] = _arch.Kernels.ToString(),
            [MetadataKeys.Cell] = _arch.Cell.ToString(),
            [MetadataKeys.CellType] = _arch.Cell.IsBackward ? "backward" : "forward",
            [MetadataKeys.Timesteps] = _t.ToString(CultureInfo.InvariantCulture),
            [MetadataKeys.Parameters] = _arch.ParameterCount().ToString(CultureInfo.InvariantCulture),
            [MetadataKeys.Lif] = $"tau={F(l.Tau)} v_threshold={F(l.VThreshold)} v_reset={F(l.VReset)} reset={l.Reset.ToString().ToLowerInvariant()} surrogate={l.Surrogate.ToString().ToLowerInvariant()} alpha={F(l.Alpha)}",
            [MetadataKeys.Layout] = _options.Layout.ToString().ToLowerInvariant(),
            [MetadataKeys.Precision] = _options.Precision.ToString().ToLowerInvariant(),
            [MetadataKeys.SpikeLayers] = string.Join(',', _net.LifLayers().Select(l => l.Path)),
            [MetadataKeys.SpikeLayerNeurons] = string.Join(',', spikeLayers.Select(l => l.Neurons.ToString(CultureInfo.InvariantCulture))),
            [MetadataKeys.SpikeLayerFanOut] = string.Join(',', spikeLayers.Select(l => F(l.FanOut))),
            [MetadataKeys.FirstLayerMacs] = _arch.StemMacCount().ToString(CultureInfo.InvariantCulture),
            [MetadataKeys.AnnMacs] = _arch.AnnMacCount().ToString(CultureInfo.InvariantCulture),
            [MetadataKeys.ToolVersion] = ToolInfo.Version,
            [MetadataKeys.InputLayout] = "NCHW float32, pixel/255 normalised by (x - mean) / std",
        };
        static string F32(float v) => v.ToString("R", CultureInfo.InvariantCulture);
        if (facts.Mean is { } mean) meta[MetadataKeys.NormalizationMean] = string.Join(',', mean.Select(F32));
        if (facts.Std is { } std) meta[MetadataKeys.NormalizationStd] = string.Join(',', std.Select(F32));
        if (facts.ClassNames is { } names) meta[MetadataKeys.ClassNames] = string.Join('\n', names);
        if (facts.Dataset is { } data) meta[MetadataKeys.Dataset] = data;
        if (facts.TestAccuracy is { } acc && !double.IsNaN(acc)) meta[MetadataKeys.TestAccuracy] = F(acc);
        return meta;
    }

    // ---- sequences over time ------------------------------------------------------------------------------

    /// <summary>
    /// A value over the T timesteps: per-step names ([N, C, H, W] or [N, F] each), a stacked name, or both. Stacked means
    /// the timesteps side by side along axis 1 — [N, T·C, H, W] or [N, T·F], timestep-major within each sample — which is
    /// the same buffer as a batch-axis stack [N·T, C, H, W] in sample-major order: a Reshape turns one into the other,
    /// per-timestep slices are one Split, and a convolution over all timesteps is one grouped Conv (T groups) whose
    /// weights can carry each timestep's BatchNorm.
    /// </summary>
    private sealed class Seq
    {
        public string[]? Steps;
        public string? Stacked;
        public string Base = "";

        public static Seq Constant(string name, int t) => new() { Steps = Enumerable.Repeat(name, t).ToArray(), Base = name };

        /// <summary>The same value at every timestep (the stem output and what is computed from it alone).</summary>
        public bool IsConstant => Stacked is null && Steps is { Length: > 0 } st && st.All(n => n == st[0]);
    }

    private bool Batched => _options.Layout == TimestepLayout.Batched;

    private string[] StepsOf(Seq s)
    {
        if (s.Steps is not null) return s.Steps;
        if (_t == 1) return s.Steps = [s.Stacked!];
        string[] outs = Enumerable.Range(0, _t).Select(t => _g.Unique($"{s.Base}/t{t}")).ToArray();
        _g.OpTo("Split", $"{s.Base}/split", [s.Stacked!], outs, Attr("axis", 1L));
        return s.Steps = outs;
    }

    private string StackedOf(Seq s)
    {
        if (s.Stacked is not null) return s.Stacked;
        if (_t == 1) return s.Stacked = s.Steps![0];
        return s.Stacked = _g.Op("Concat", $"{s.Base}/stack", s.Steps!, Attr("axis", 1L));
    }

    /// <summary>
    /// Applies an op that treats every channel alike and keeps the channel count (pooling, zeros): once over the stacked
    /// timesteps (batched) or once per step.
    /// </summary>
    private Seq Map(Seq s, string baseName, Func<string, string> op)
    {
        if (Batched)
        {
            // time-invariant input: compute once (a stacked copy would repeat the same work T times)
            if (s.IsConstant) return Seq.Constant(op(s.Steps![0]), _t);
            string r = op(StackedOf(s));
            return new Seq { Stacked = r, Base = baseName };
        }
        return new Seq { Steps = StepsOf(s).Select(op).ToArray(), Base = baseName };
    }

    private Seq AddSeq(Seq a, Seq b, string name)
    {
        if (Batched && a.IsConstant && b.IsConstant) return Seq.Constant(_g.Op("Add", name, [a.Steps![0], b.Steps![0]]), _t);
        if (Batched) return new Seq { Stacked = _g.Op("Add", name, [StackedOf(a), StackedOf(b)]), Base = name };
        string[] sa = StepsOf(a), sb = StepsOf(b);
        return new Seq { Steps = sa.Select((x, t) => _g.Op("Add", $"{name}/t{t}", [x, sb[t]])).ToArray(), Base = name };
    }

    // ---- LIF ----------------------------------------------------------------------------------------------

    /// <summary>The graph-side state of one LIF layer: its membrane value name and the spikes it emitted.</summary>
    private sealed class LifTrace(string path, LifOptions options, int rank)
    {
        public string Path { get; } = path;
        public LifOptions Options { get; } = options;
        public int Rank { get; } = rank;
        public string? V { get; set; }
        public int Calls { get; set; }
        public List<string> Spikes { get; } = [];
    }

    private LifTrace Trace(string path, int rank)
    {
        LifTrace? t = _lifs.FirstOrDefault(l => l.Path == path);
        if (t is not null) return t;
        LifOptions options = _net.LifLayers().First(l => l.Path == path).Lif.Options;
        t = new LifTrace(path, options, rank);
        _lifs.Add(t);
        return t;
    }

    /// <summary>The input current gain·x of one LIF step (one Mul).</summary>
    private string Charge(LifTrace trace, string x, string name) =>
        _g.Op("Mul", name, [x, _g.Scalar("lif.gain", (float)trace.Options.InputGain)]);

    /// <summary>
    /// One LIF step on the input current <paramref name="current"/> = gain·x: the same elementwise operations, in the
    /// same order, as <see cref="LifNode.forward"/> in eval mode. Returns the boolean "fired" tensor; the float spike
    /// is made by the caller (per step, or once over the stacked timesteps).
    /// </summary>
    private string LifCore(LifTrace trace, string current)
    {
        LifOptions o = trace.Options;
        string p = $"{trace.Path}/t{trace.Calls}";
        string h = current;
        if (trace.V is null)
        {
            if (o.VReset != 0.0) h = _g.Op("Add", $"{p}/rest", [h, _g.Scalar("lif.v_reset", (float)o.VReset)]);
        }
        else
        {
            string decayed = _g.Op("Mul", $"{p}/decay", [trace.V, _g.Scalar("lif.decay", (float)o.Decay)]);
            h = _g.Op("Add", $"{p}/membrane", [decayed, current]);
            if (o.VReset != 0.0) h = _g.Op("Add", $"{p}/rest", [h, _g.Scalar("lif.v_reset_over_tau", (float)(o.VReset / o.Tau))]);
        }
        string vth = _g.Scalar("lif.v_threshold", (float)o.VThreshold);
        string fired = _g.Op("GreaterOrEqual", $"{p}/fired", [h, vth]);
        if (o.Reset == ResetMode.Hard)
        {
            trace.V = _g.Op("Where", $"{p}/reset", [fired, _g.Scalar("lif.v_reset", (float)o.VReset), h]);
        }
        else
        {
            string spike = CastSpike($"{p}/reset_spike", fired);
            trace.V = _g.Op("Sub", $"{p}/reset", [h, _g.Op("Mul", $"{p}/reset_by", [spike, vth])]);
        }
        trace.Calls++;
        return fired;
    }

    private string CastSpike(string name, string fired) => _g.Op("Cast", name, [fired], Attr("to", (long)TensorProto.Types.DataType.Float));

    // LIF layers on the same input (edges leaving one cell node) fire identically — same input, same state, same
    // operations — so the graph computes each such group once and every layer of the group reports the shared spikes.
    // Keyed by the input (a sequence, or one step's value), the options and the number of steps the layer had taken.
    private readonly Dictionary<(object Input, LifOptions Options, int Calls), (LifTrace Trace, object Spikes)> _sharedLif = [];

    /// <summary>One LIF step on input <paramref name="x"/>, returning float spikes (the step layout and backward cells).</summary>
    private string LifStep(LifTrace trace, string x)
    {
        int calls = trace.Calls;
        if (_sharedLif.TryGetValue((x, trace.Options, calls), out var shared) && shared.Trace != trace)
        {
            // the same input at the same timestep after the same history: this layer's state and spikes are the other's
            trace.V = shared.Trace.V;
            trace.Calls++;
            trace.Spikes.Add((string)shared.Spikes);
            return (string)shared.Spikes;
        }
        string p = $"{trace.Path}/t{trace.Calls}";
        string spike = CastSpike($"{p}/spike", LifCore(trace, Charge(trace, x, $"{p}/charge")));
        trace.Spikes.Add(spike);
        _sharedLif.TryAdd((x, trace.Options, calls), (trace, spike));
        return spike;
    }

    /// <summary>
    /// A LIF layer over a whole sequence. Step layout: one full LIF step per timestep. Batched layout: the input current
    /// gain·x is computed once over the stacked timesteps (once only when the input is time-invariant), the membrane
    /// recurrence runs per timestep, and the boolean spikes are stacked and cast to float once.
    /// </summary>
    private Seq Lif(string path, Seq x, int rank = 0)
    {
        LifTrace trace = Trace(path, rank == 0 ? (path == "fc_lif" ? 2 : 4) : rank);
        if (trace.Calls == 0 && _sharedLif.TryGetValue((x, trace.Options, 0), out var shared) && shared.Trace != trace)
        {
            trace.V = shared.Trace.V;
            trace.Calls = _t;
            trace.Spikes.AddRange(shared.Trace.Spikes);
            return (Seq)shared.Spikes;
        }
        Seq result = LifSequence(trace, path, x);
        _sharedLif.TryAdd((x, trace.Options, 0), (trace, result));
        return result;
    }

    private Seq LifSequence(LifTrace trace, string path, Seq x)
    {
        if (!Batched || _t == 1)
        {
            string[] spikes = StepsOf(x).Select(s => LifStep(trace, s)).ToArray();
            return new Seq { Steps = spikes, Base = path };
        }

        string[] currents = x.IsConstant
            ? Enumerable.Repeat(Charge(trace, x.Steps![0], $"{path}/charge"), _t).ToArray()
            : StepsOf(new Seq { Stacked = Charge(trace, StackedOf(x), $"{path}/charge"), Base = $"{path}/charge" });
        string[] fired = currents.Select(c => LifCore(trace, c)).ToArray();
        string stackedFired = _g.Op("Concat", $"{path}/fired", fired, Attr("axis", 1L));
        string stacked = CastSpike($"{path}/spikes", stackedFired);
        trace.Spikes.Add(stacked);
        return new Seq { Stacked = stacked, Base = path };
    }

    // ---- layers -------------------------------------------------------------------------------------------

    private float[] Data(string name) => _state.TryGetValue(name, out Tensor? t)
        ? t.to_type(ScalarType.Float32).contiguous().data<float>().ToArray()
        : throw new InvalidOperationException($"The network has no tensor '{name}'.");

    private T ModuleAt<T>(string path) where T : class =>
        _modules.TryGetValue(path, out var m) && m is T t ? t : throw new InvalidOperationException($"The network has no {typeof(T).Name} at '{path}'.");

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
    private Seq Linear(string path, Seq x, bool hasBias, bool flatten)
    {
        long[] shape = _state[$"{path}.weight"].shape;
        string Step(string v) => Gemm(path, flatten ? _g.Op("Flatten", $"{path}/flatten", [v], Attr("axis", 1L)) : v, hasBias);
        if (!Batched || _t == 1) return new Seq { Steps = StepsOf(x).Select(Step).ToArray(), Base = path };
        if (x.IsConstant) return Seq.Constant(Step(x.Steps![0]), _t);
        string rows = _g.Op("Reshape", $"{path}/rows", [StackedOf(x), _g.Int64s($"shape.rows_{shape[1]}", -1, shape[1])]);
        string y = Gemm(path, rows, hasBias);
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

    private readonly Dictionary<string, object> _once = new(StringComparer.Ordinal);

    /// <summary>What <paramref name="make"/> adds to the graph, added once per <paramref name="key"/>.</summary>
    private T Once<T>(string key, Func<T> make) where T : notnull
    {
        if (_once.TryGetValue(key, out object? made)) return (T)made;
        T name = make();
        _once[key] = name;
        return name;
    }

    /// <summary>A weight initializer: float32, or int8 per output channel with a DequantizeLinear in front.</summary>
    private string Weight(string name, long[] shape, float[] values) => Once(name, () =>
    {
        if (_options.Precision == WeightPrecision.Float32)
            return _g.Initializer(FloatTensor(name, shape, values));
        int outs = (int)shape[0], per = values.Length / outs;
        var q = new sbyte[values.Length];
        var scales = new float[outs];
        for (int o = 0; o < outs; o++)
        {
            float max = 0;
            for (int k = 0; k < per; k++) max = Math.Max(max, Math.Abs(values[o * per + k]));
            float scale = max > 0 ? max / 127f : 1f;
            scales[o] = scale;
            for (int k = 0; k < per; k++)
                q[o * per + k] = (sbyte)Math.Clamp(Math.Round(values[o * per + k] / scale, MidpointRounding.ToEven), -127, 127);
        }
        string qn = _g.Initializer(Int8Tensor($"{name}_int8", shape, q));
        string sn = _g.Initializer(FloatTensor($"{name}_scale", [outs], scales));
        string zn = _g.Initializer(Int8Tensor($"{name}_zero_point", [outs], new sbyte[outs]));
        return _g.Op("DequantizeLinear", name, [qn, sn, zn], Attr("axis", 0L));
    });

    // ---- cells --------------------------------------------------------------------------------------------

    private Seq Cell(string path, SpikingCell cell, Seq x0)
    {
        CellTopology m = cell.Topology;
        bool feedback = Enumerable.Range(0, 4).Any(i => Enumerable.Range(0, i).Any(j => m[i, j] != 0));
        return feedback ? BackwardCell(path, cell, x0) : ForwardCell(path, cell, x0);
    }

    /// <summary>A cell without feedback: every edge runs over the whole sequence.</summary>
    private Seq ForwardCell(string path, SpikingCell cell, Seq x0)
    {
        var a = new Seq?[4];
        a[0] = x0;
        for (int j = 1; j < 4; j++)
        {
            Seq? xj = null;
            for (int i = 0; i < j; i++)
            {
                Seq? term = EdgeSeq(path, cell, i, j, a[i], x0);
                xj = xj is null ? term : term is null ? xj : AddSeq(xj, term, $"{path}.node{j}");
            }
            a[j] = xj;
        }
        return a[3] ?? Map(x0, $"{path}.zeros", ZerosLike);
    }

    /// <summary>Edge i→j over a whole sequence (forward cells).</summary>
    private Seq? EdgeSeq(string path, SpikingCell cell, int i, int j, Seq? input, Seq like) => Edge(cell, i, j, $"{path}.o{i}{j}", input,
        zeros: edge => Map(like, $"{edge}.zeros", ZerosLike),
        conv: (edge, x) => ConvBnSeq(edge, Lif($"{edge}.lif", x)),
        pool: (edge, x) => Map(x, $"{edge}.pool", s => AvgPool3(edge, s)));

    /// <summary>
    /// What edge i→j of <paramref name="cell"/> makes of <paramref name="input"/> (null: nothing): zero edges give
    /// nothing, skips pass the input on, a spiking convolution (LIF → Conv → BN) runs on the input or on zeros when the
    /// source node is empty, and pooling runs on a present input. The value kind — a sequence or one timestep's name —
    /// is the caller's.
    /// </summary>
    private static T? Edge<T>(SpikingCell cell, int i, int j, string edge, T? input, Func<string, T> zeros, Func<string, T, T> conv, Func<string, T, T> pool)
        where T : class
    {
        if (cell.Topology[i, j] == 0) return null;
        return cell.Operation(i, j) switch
        {
            null => input,
            SpikingConv => conv(edge, input ?? zeros(edge)),
            _ => input is null ? null : pool(edge, input),
        };
    }

    /// <summary>A cell with feedback edges: computed timestep by timestep, exactly as <see cref="SpikingCell.Step"/>.</summary>
    private Seq BackwardCell(string path, SpikingCell cell, Seq x0)
    {
        CellTopology m = cell.Topology;
        string[] inputs = StepsOf(x0);
        var outputs = new string[_t];
        var fb = new string?[3];
        for (int t = 0; t < _t; t++)
        {
            var a = new string?[4];
            a[0] = Add(inputs[t], fb[0], $"{path}.a0/t{t}");
            for (int j = 1; j < 4; j++)
            {
                string? xj = null;
                for (int i = 0; i < j; i++)
                    xj = Add(xj, EdgeStep(path, cell, i, j, a[i], inputs[t], t), $"{path}.node{j}/t{t}");
                a[j] = j < 3 ? Add(xj, fb[j], $"{path}.a{j}/t{t}") : xj;
            }
            if (t < _t - 1)
            {
                var next = new string?[3];
                for (int j = 0; j < 3; j++)
                    for (int i = j + 1; i < 4; i++)
                        next[j] = Add(next[j], EdgeStep(path, cell, i, j, a[i], inputs[t], t), $"{path}.l{j}/t{t}");
                fb = next;
            }
            outputs[t] = a[3] ?? ZerosLike(inputs[t]);
        }
        return new Seq { Steps = outputs, Base = path };
    }

    /// <summary>Edge i→j at timestep <paramref name="t"/> (backward cells).</summary>
    private string? EdgeStep(string path, SpikingCell cell, int i, int j, string? input, string like, int t) => Edge(cell, i, j, $"{path}.o{i}{j}", input,
        zeros: _ => ZerosLike(like),
        conv: (edge, x) => ConvBnStep(edge, LifStep(Trace($"{edge}.lif", 4), x), t),
        pool: AvgPool3);

    private string? Add(string? a, string? b, string name) => a is null ? b : b is null ? a : _g.Op("Add", name, [a, b]);

    private string AvgPool3(string edge, string x) => _g.Op("AveragePool", $"{edge}.pool", [x],
        Ints("kernel_shape", 3L, 3L), Ints("strides", 1L, 1L), Ints("pads", 1L, 1L, 1L, 1L), Attr("count_include_pad", 1L));

    private string ZerosLike(string x)
    {
        string shape = _g.Op("Shape", $"{x}/shape", [x]);
        var zero = new AttributeProto { Name = "value", Type = AttributeProto.Types.AttributeType.Tensor, T = FloatTensor("zero", [1], [0f]) };
        return _g.Op("ConstantOfShape", $"{x}/zeros", [shape], zero);
    }

    // ---- outputs ------------------------------------------------------------------------------------------

    private void Logits(Seq o)
    {
        MacroConfig m = _arch.Macro;
        if (Batched && o.Stacked is not null)
        {
            // [N, T·classes·cluster] → [N, T, classes, cluster]: population vote, then the mean over time
            string r = _g.Op("Reshape", "votes/reshape", [o.Stacked, _g.Int64s("votes.shape", -1, _t, m.Classes, m.Cluster)]);
            string votes = _g.Op("ReduceMean", "votes", [r], Ints("axes", 3L), Attr("keepdims", 0L));
            _g.OpTo("ReduceMean", "time_mean", [votes], ["logits"], Ints("axes", 1L), Attr("keepdims", 0L));
            return;
        }
        string shape = _g.Int64s("votes.step_shape", -1, m.Classes, m.Cluster);
        string[] perStep = StepsOf(o).Select((s, t) =>
            _g.Op("ReduceMean", $"votes/t{t}", [_g.Op("Reshape", $"votes/reshape/t{t}", [s, shape])], Ints("axes", 2L), Attr("keepdims", 0L))).ToArray();
        string sum = perStep.Length == 1 ? perStep[0] : _g.Op("Sum", "time_sum", perStep);
        _g.OpTo("Div", "time_mean", [sum, _g.Scalar("timesteps", _t)], ["logits"]);
    }

    private void SpikeCounts()
    {
        var columns = new List<string>();
        var counted = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach ((string path, LifNode lif) in _net.LifLayers())
        {
            LifTrace? trace = _lifs.FirstOrDefault(l => l.Path == path);
            if (trace is null)
            {
                columns.Add(_g.Op("Reshape", $"{path}/count/column", [NoSpikes(), _g.Int64s("shape.n_1", -1, 1)]));
                continue;
            }

            string signature = string.Join('|', trace.Spikes);
            if (counted.TryGetValue(signature, out string? same))
            {
                columns.Add(same); // a layer sharing another's spikes (see _sharedLif)
                continue;
            }
            // per sample, over every axis but the batch: one sum over the stacked spikes covers all timesteps
            string axes = _g.Int64s($"axes.rank{trace.Rank}", Enumerable.Range(1, trace.Rank - 1).Select(a => (long)a).ToArray());
            string[] counts = trace.Spikes.Select((s, k) =>
                _g.Op("ReduceSum", trace.Spikes.Count == 1 ? $"{trace.Path}/count" : $"{trace.Path}/count/t{k}", [s, axes], Attr("keepdims", 0L))).ToArray();
            string total = counts.Length switch
            {
                0 => NoSpikes(),
                1 => counts[0],
                _ => _g.Op("Sum", $"{trace.Path}/count/total", counts),
            };
            string column = _g.Op("Reshape", $"{trace.Path}/count/column", [total, _g.Int64s("shape.n_1", -1, 1)]);
            counted[signature] = column;
            columns.Add(column);
        }
        string all = columns.Count == 1 ? columns[0] : _g.Op("Concat", "spike_counts/concat", columns, Attr("axis", 1L));
        _g.OpTo("Cast", "spike_counts/cast", [all], ["spike_counts"], Attr("to", (long)TensorProto.Types.DataType.Int64));
    }

    /// <summary>[N] zeros, for a layer that never fires (a feedback edge when T = 1).</summary>
    private string NoSpikes()
    {
        string shape = _g.Op("Shape", "batch/shape", [_stemOut]);
        string n = _g.Op("Slice", "batch/size", [shape, _g.Int64s("axes.0", 0), _g.Int64s("one", 1), _g.Int64s("axes.0", 0)]);
        var zero = new AttributeProto { Name = "value", Type = AttributeProto.Types.AttributeType.Tensor, T = FloatTensor("zero", [1], [0f]) };
        return _g.Op("ConstantOfShape", "batch/zeros", [n], zero);
    }
}
