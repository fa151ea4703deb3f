using Onnx;
using SpiKernel.Core.OnnxFormat;
using SpiKernel.Core;
using SpiKernel.Models.Architecture;
using SpiKernel.Models.Lif;
using SpiKernel.Models.Network;
using static SpiKernel.Core.OnnxFormat.OnnxHelper;
using static TorchSharp.torch;

namespace SpiKernel.Exporters;

// Tensors in exporters: the exporter only reads the network's own tensors (state_dict holds the module's tensors, not
// copies); each read becomes a float[] at once and its converted copies are disposed there; the verifier runs every
// batch in its own dispose scope. The ONNX graph and ONNX Runtime's values hold no TorchSharp tensors.
/// <summary>
/// Writes a trained <see cref="SpikingNetwork"/> as a standard ONNX graph (IR 8, opset 17) with its T timesteps
/// unrolled: input <c>input</c> [N, C, H, W]; outputs <c>logits</c> [N, classes] and <c>spike_counts</c> [N, L]
/// (int64, total spikes per sample of each LIF layer in <see cref="SpikingNetwork.LifLayers"/> order).
/// <para>
/// Only standard operators appear: LIF as Mul/Add/GreaterOrEqual/Cast and Where or Sub/Mul (Sub for a soft reset), BatchNorm folded
/// into the preceding convolution (per timestep: the batched layout's one grouped Conv over all timesteps has each
/// timestep's scaled weights in its group) or, with no convolution before it, into a per-channel Mul/Add; dropout
/// gone; zero edges and pruned nodes emit nothing; the stem is computed once; LIF layers on the same input are
/// computed once. The elementwise LIF steps are the same operations, in the same order, as <see cref="LifNode"/>
/// performs in eval mode, so spikes agree exactly wherever the convolutions agree to rounding.
/// </para>
/// </summary>
public sealed partial class SnnOnnxExporter
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

    /// <summary>
    /// The format of the files this exporter writes, raised whenever the graph or its numbers change (a fix included):
    /// in the metadata (<c>spikernel.export_format</c>) and in what makes an export of a run current, so a run resumed
    /// after an upgrade exports again rather than keep a file of the older exporter.
    /// </summary>
    public const int FormatVersion = 1;

    /// <summary>Builds the ONNX model of <paramref name="net"/> (its weights as they are now; eval-mode semantics).</summary>
    public static ModelProto Export(SpikingNetwork net, ExportOptions? options = null, ModelFacts? facts = null)
    {
        ArgumentNullException.ThrowIfNull(net);
        options ??= new ExportOptions();
        if (options.WhyNot(net.Architecture.Macro) is { } why) throw new SettingsException(why);
        var exporter = new SnnOnnxExporter(net, options);
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
        Seq h = Linear("fc1", p2, hasBias: false, flatten: true, levels: m.SecondPool * m.SecondPool);
        Seq hs = Lif("fc_lif", h);
        Seq o = Linear("fc2", hs, hasBias: true, flatten: false);
        Logits(o);
        SpikeCounts();

        GraphProto graph = _g.Build("spikernel_snn",
            [Value(input, TensorProto.Types.DataType.Float, "N", m.InChannels, m.Height, m.Width)],
            [Value("logits", TensorProto.Types.DataType.Float, "N", m.Classes),
             Value("spike_counts", TensorProto.Types.DataType.Int64, "N", _net.LifLayers().Count)]);

        string doc = $"Spiking neural network (SNASNet/SpiKernel search space, {(_arch.EffectiveCell.IsBackward ? "backward" : "forward")} cell, " +
                     $"kernels {{{_arch.Kernels}}}, T={_t} timesteps unrolled, LIF neurons) classifying {m.InChannels}x{m.Height}x{m.Width} " +
                     $"images into {m.Classes} classes; outputs time-averaged logits and per-layer spike counts.";
        return Model(graph, ToolInfo.Name, ToolInfo.Version, doc, Metadata(facts));
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
}
