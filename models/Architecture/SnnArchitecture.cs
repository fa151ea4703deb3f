using SpiKernel.Core;
using System.Globalization;
using System.Text;
using SpiKernel.Models.Lif;

namespace SpiKernel.Models.Architecture;

/// <summary>
/// Everything needed to build a network: cell topology, kernel set, macro knobs and neuron constants.
/// Text form (one line, keys in this order, <see cref="Parse"/> accepts any order and fills missing keys with
/// defaults):
/// <code>cell="0303 0030 2002 0200" kernels=1,3 input=1x28x28 channels=32 ratio=1 stem-stride=1 hidden=256
/// classes=10 cluster=10 sap=2 timesteps=5 dropout=0.5 tau=1.3333333333333333 v-threshold=1 v-reset=0 reset=hard
/// detach-reset=true surrogate=atan alpha=2</code>
/// </summary>
public sealed record SnnArchitecture(CellTopology Cell, KernelSet Kernels, MacroConfig Macro, LifOptions Lif)
{
    /// <summary>The quick default network of <c>spikernel train</c>: a forward cell with 3×3 and 1×1 convolutions.</summary>
    public static SnnArchitecture Default { get; } =
        new(CellTopology.Parse("0332 0003 0003 0000"), KernelSet.Snasnet, new MacroConfig(), LifOptions.Default);

    /// <summary>SNASNet's CIFAR-10 network (19,520,356 parameters).</summary>
    public static SnnArchitecture SnasnetCifar10 { get; } = new(
        CellTopology.SnasnetCifar10, KernelSet.Snasnet,
        new MacroConfig(InChannels: 3, Height: 32, Width: 32, BaseChannels: 128, ChannelRatio: 2, StemStride: 1, Hidden: 1024,
            Classes: 10, Cluster: 10, SecondPool: 4, Timesteps: 5, Dropout: 0.5),
        LifOptions.Default);

    /// <summary>The small Fashion-MNIST network of method.md (1,002,372 parameters).</summary>
    public static SnnArchitecture FashionMnistSmall { get; } = new(
        CellTopology.SnasnetCifar10, KernelSet.Snasnet,
        new MacroConfig(InChannels: 1, Height: 28, Width: 28, BaseChannels: 32, ChannelRatio: 1, StemStride: 1, Hidden: 256,
            Classes: 10, Cluster: 10, SecondPool: 2, Timesteps: 5, Dropout: 0.5),
        LifOptions.Default);

    /// <summary>
    /// The full-data Fashion-MNIST network (997,060 parameters): the top-scored candidate (f7ff91f0bacf) of
    /// <c>spikernel search --cell forward --candidates 60 --budget-params 1M --stem-stride 2 --sap 1 --kernels snasnet
    /// --kernels k135</c> on the full training set (seed 1), in the small network's macro with a stride-2 stem
    /// (docs/train.md#full-fashion-mnist).
    /// </summary>
    public static SnnArchitecture FashionMnistFound { get; } = new(
        CellTopology.Parse("0241 0022 0002 0000"), new KernelSet([1, 3, 5]),
        new MacroConfig(InChannels: 1, Height: 28, Width: 28, BaseChannels: 32, ChannelRatio: 1, StemStride: 2, Hidden: 256,
            Classes: 10, Cluster: 10, SecondPool: 1, Timesteps: 5, Dropout: 0.5),
        LifOptions.Default);

    /// <summary>The cell as the network builds it: dead nodes pruned.</summary>
    public CellTopology EffectiveCell => Cell.Pruned();

    /// <summary>
    /// What network this is, however its codes and kernel set spell it: each edge of <see cref="EffectiveCell"/> as its
    /// operation, then the rest of the text. <c>0003</c> in {1,3} and <c>0002</c> in {3} are one network (the same
    /// modules), and so are cells that differ in dead edges, and cells whose nodes 1 and 2 trade places where no edge joins
    /// them (<c>0303 0003 0000 0000</c> and <c>0033 0000 0003 0000</c>); their candidate ids differ (the id hashes the
    /// text), this does not.
    /// </summary>
    public string NetworkKey()
    {
        CellTopology cell = EffectiveCell;
        string Ops(int[] node)
        {
            var ops = new List<string>(CellTopology.Nodes * CellTopology.Nodes);
            for (int i = 0; i < CellTopology.Nodes; i++)
                for (int j = 0; j < CellTopology.Nodes; j++)
                    ops.Add(Kernels.Operation(cell[node[i], node[j]]).ToString());
            return string.Join(' ', ops);
        }
        string key = Ops([0, 1, 2, 3]);
        if (cell[1, 2] == 0 && cell[2, 1] == 0 && Ops([0, 2, 1, 3]) is var swapped && string.CompareOrdinal(swapped, key) < 0) key = swapped;
        string text = ToString();
        return key + text[text.IndexOf(" input=", StringComparison.Ordinal)..];
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first problem found.</summary>
    public SnnArchitecture Validated()
    {
        Macro.Validate();
        Lif.Validate();
        if (Cell.MaxCode >= Kernels.OperationCount)
            throw new SettingsException(
                $"Cell {Cell} uses operation code {Cell.MaxCode}, but kernel set {{{Kernels}}} only has codes 0..{Kernels.OperationCount - 1}.");
        if (!Cell.OutputReachable)
            throw new SettingsException($"Cell {Cell} never connects node 0 to node 3: its output would not depend on the input.");
        return this;
    }

    /// <summary>Trainable parameters of the built network, computed without building it.</summary>
    public long ParameterCount()
    {
        MacroConfig m = Macro;
        long c1 = m.Cell1Channels, c2 = m.Cell2Channels;
        long stem = m.InChannels * c1 * 9 + 2 * c1;
        long down = 2 * c1 + c1 * c2 * 9 + 2 * c2;
        long head = 2 * c2;
        long fc1 = m.Features * m.Hidden;
        long outputs = (long)m.Classes * m.Cluster;
        long fc2 = m.Hidden * outputs + outputs;
        return stem + CellParameters(c1) + down + CellParameters(c2) + head + fc1 + fc2;
    }

    /// <summary>
    /// Multiply-accumulates of one image's inference over all T timesteps (convolutions and linear layers; the stem
    /// once; a backward cell's feedback convolutions T − 1 times, as the network runs them).
    /// </summary>
    public long MacCount() => Macs(Macro.Timesteps, Macro.Timesteps - 1);

    // the stem once, every other layer `steps` times, a backward cell's feedback edges `feedbackSteps` times
    private long Macs(int steps, int feedbackSteps)
    {
        MacroConfig m = Macro;
        long c1 = m.Cell1Channels, c2 = m.Cell2Channels;
        (int h1, int w1) = m.StemSize;
        (int h2, int w2) = m.Cell2Size;
        long layers = c1 * c2 * 9L * h1 * w1 + m.Features * m.Hidden + (long)m.Hidden * m.Classes * m.Cluster;
        return StemMacCount() + steps * layers + CellMacs(c1, (long)h1 * w1, steps, feedbackSteps) + CellMacs(c2, (long)h2 * w2, steps, feedbackSteps);
    }

    /// <summary>Multiply-accumulates of the stem convolution (real-valued input, computed once per image).</summary>
    public long StemMacCount()
    {
        MacroConfig m = Macro;
        (int h1, int w1) = m.StemSize;
        return m.InChannels * (long)m.Cell1Channels * 9L * h1 * w1;
    }

    /// <summary>
    /// Multiply-accumulates of one image through the equivalent non-spiking network: the same layers run once
    /// (no timesteps), the baseline of SNN energy comparisons.
    /// </summary>
    public long AnnMacCount() => Macs(1, 1);

    /// <summary>
    /// Every LIF layer, in the order of the network's forward pass (and of the exported <c>spike_counts</c>), with its
    /// neurons per timestep and its fan-out: the synaptic operations one spike triggers downstream (the consuming
    /// layer's MACs divided by the number of neurons feeding it), and the timesteps it runs. Σ neurons × fan-out × steps
    /// + stem MACs = <see cref="MacCount"/>.
    /// </summary>
    public IReadOnlyList<SpikeLayer> SpikeLayers()
    {
        MacroConfig m = Macro;
        (int h1, int w1) = m.StemSize;
        (int h2, int w2) = m.Cell2Size;
        int t = m.Timesteps;
        var layers = new List<SpikeLayer>();
        CellLayers("cell1", m.Cell1Channels, (long)h1 * w1, layers);
        layers.Add(new SpikeLayer("down_act.lif", (long)m.Cell1Channels * h1 * w1, m.Cell2Channels * 9.0, t));
        CellLayers("cell2", m.Cell2Channels, (long)h2 * w2, layers);
        long lastNeurons = (long)m.Cell2Channels * h2 * w2;
        layers.Add(new SpikeLayer("last.lif", lastNeurons, (double)m.Features * m.Hidden / lastNeurons, t));
        layers.Add(new SpikeLayer("fc_lif", m.Hidden, (double)m.Classes * m.Cluster, t));
        return layers;
    }

    private void CellLayers(string cellName, long channels, long pixels, List<SpikeLayer> layers)
    {
        CellTopology cell = EffectiveCell;
        for (int i = 0; i < CellTopology.Nodes; i++)
            for (int j = 0; j < CellTopology.Nodes; j++)
                if (Kernels.Operation(cell[i, j]) is { Kind: CellOpKind.Conv } op)
                    layers.Add(new SpikeLayer($"{cellName}.o{i}{j}.lif", channels * pixels, (double)channels * op.Kernel * op.Kernel,
                        i > j ? Macro.Timesteps - 1 : Macro.Timesteps));
    }

    // edge i → j is a feedback edge when i > j
    private long CellMacs(long channels, long pixels, int steps, int feedbackSteps)
    {
        CellTopology cell = EffectiveCell;
        long total = 0;
        for (int i = 0; i < CellTopology.Nodes; i++)
            for (int j = 0; j < CellTopology.Nodes; j++)
                if (Kernels.Operation(cell[i, j]) is { Kind: CellOpKind.Conv } op)
                    total += channels * channels * op.Kernel * op.Kernel * pixels * (i > j ? feedbackSteps : steps);
        return total;
    }

    private long CellParameters(long channels)
    {
        CellTopology cell = EffectiveCell;
        long total = 0;
        for (int i = 0; i < CellTopology.Nodes; i++)
        {
            for (int j = 0; j < CellTopology.Nodes; j++)
            {
                CellOp op = Kernels.Operation(cell[i, j]);
                if (op.Kind == CellOpKind.Conv)
                    total += channels * channels * op.Kernel * op.Kernel + 2 * channels;
            }
        }
        return total;
    }

    /// <summary>The short stable id of this architecture (<see cref="SpiKernel.Core.CandidateId"/> of <see cref="ToString"/>).</summary>
    public string CandidateId => SpiKernel.Core.CandidateId.Of(ToString());

    /// <inheritdoc />
    public override string ToString()
    {
        MacroConfig m = Macro;
        var sb = new StringBuilder();
        sb.Append("cell=\"").Append(Cell).Append('"');
        Add(sb, "kernels", Kernels.ToString());
        Add(sb, "input", $"{m.InChannels}x{m.Height}x{m.Width}");
        Add(sb, "channels", m.BaseChannels);
        Add(sb, "ratio", m.ChannelRatio);
        Add(sb, "stem-stride", m.StemStride);
        Add(sb, "hidden", m.Hidden);
        Add(sb, "classes", m.Classes);
        Add(sb, "cluster", m.Cluster);
        Add(sb, "sap", m.SecondPool);
        Add(sb, "timesteps", m.Timesteps);
        Add(sb, "dropout", Num(m.Dropout));
        Add(sb, "tau", Num(Lif.Tau));
        Add(sb, "v-threshold", Num(Lif.VThreshold));
        Add(sb, "v-reset", Num(Lif.VReset));
        Add(sb, "reset", Lif.Reset.ToString().ToLowerInvariant());
        Add(sb, "detach-reset", Lif.DetachReset ? "true" : "false");
        Add(sb, "surrogate", Lif.Surrogate.ToString().ToLowerInvariant());
        Add(sb, "alpha", Num(Lif.Alpha));
        return sb.ToString();
    }

    private static void Add(StringBuilder sb, string key, object value) =>
        sb.Append(' ').Append(key).Append('=').Append(Convert.ToString(value, CultureInfo.InvariantCulture));

    private static string Num(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>
    /// Parses the text form (see the type's summary). Missing keys take <paramref name="defaults"/>' values
    /// (<see cref="Default"/> when null). Throws <see cref="SpiKernel.Core.SettingsException"/> with one sentence naming the problem.
    /// </summary>
    public static SnnArchitecture Parse(string text, SnnArchitecture? defaults = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        SnnArchitecture d = defaults ?? Default;
        CellTopology cell = d.Cell;
        KernelSet kernels = d.Kernels;
        MacroConfig m = d.Macro;
        LifOptions lif = d.Lif;
        var seen = new HashSet<string>(StringComparer.Ordinal);

        foreach ((string key, string value) in Tokenize(text))
        {
            if (!seen.Add(key)) throw new SettingsException($"Architecture key '{key}' is given twice.");
            try
            {
                switch (key)
                {
                    case "cell": cell = CellTopology.Parse(value); break;
                    case "kernels": kernels = KernelSet.Parse(value); break;
                    case "input":
                        int[] dims = value.Split('x').Select(p => Int(key, p)).ToArray();
                        if (dims.Length != 3) throw new SettingsException($"input must be CxHxW, e.g. 1x28x28 (got '{value}').");
                        m = m with { InChannels = dims[0], Height = dims[1], Width = dims[2] };
                        break;
                    case "channels": m = m with { BaseChannels = Int(key, value) }; break;
                    case "ratio": m = m with { ChannelRatio = Int(key, value) }; break;
                    case "stem-stride": m = m with { StemStride = Int(key, value) }; break;
                    case "hidden": m = m with { Hidden = Int(key, value) }; break;
                    case "classes": m = m with { Classes = Int(key, value) }; break;
                    case "cluster": m = m with { Cluster = Int(key, value) }; break;
                    case "sap": m = m with { SecondPool = Int(key, value) }; break;
                    case "timesteps": m = m with { Timesteps = Int(key, value) }; break;
                    case "dropout": m = m with { Dropout = Dbl(key, value) }; break;
                    case "tau": lif = lif with { Tau = Dbl(key, value) }; break;
                    case "v-threshold": lif = lif with { VThreshold = Dbl(key, value) }; break;
                    case "v-reset": lif = lif with { VReset = Dbl(key, value) }; break;
                    case "reset": lif = lif with { Reset = Enum<ResetMode>(key, value) }; break;
                    case "detach-reset": lif = lif with { DetachReset = Bool(key, value) }; break;
                    case "surrogate": lif = lif with { Surrogate = Enum<SurrogateKind>(key, value) }; break;
                    case "alpha": lif = lif with { Alpha = Dbl(key, value) }; break;
                    default:
                        throw new SettingsException($"Unknown architecture key '{key}'; known keys: cell, kernels, input, channels, ratio, stem-stride, hidden, classes, cluster, sap, timesteps, dropout, tau, v-threshold, v-reset, reset, detach-reset, surrogate, alpha.");
                }
            }
            catch (ArgumentException ex)
            {
                throw new SettingsException(ex.Message, ex);
            }
        }

        try
        {
            return new SnnArchitecture(cell, kernels, m, lif).Validated();
        }
        catch (ArgumentException ex)
        {
            throw new SettingsException(ex.Message, ex);
        }
    }

    private static IEnumerable<(string Key, string Value)> Tokenize(string text)
    {
        int i = 0;
        while (i < text.Length)
        {
            while (i < text.Length && char.IsWhiteSpace(text[i])) i++;
            if (i >= text.Length) yield break;
            int eq = text.IndexOf('=', i);
            int space = IndexOfWhiteSpace(text, i);
            if (eq < 0 || (space >= 0 && space < eq))
                throw new SettingsException($"Architecture text has '{text[i..(space < 0 ? text.Length : space)]}' where key=value was expected.");
            string key = text[i..eq].Trim().ToLowerInvariant();
            i = eq + 1;
            string value;
            if (i < text.Length && text[i] == '"')
            {
                int close = text.IndexOf('"', i + 1);
                if (close < 0) throw new SettingsException($"Architecture key '{key}' has an unclosed quote.");
                value = text[(i + 1)..close];
                i = close + 1;
            }
            else
            {
                int end = IndexOfWhiteSpace(text, i);
                if (end < 0) end = text.Length;
                value = text[i..end];
                i = end;
            }
            yield return (key, value);
        }
    }

    private static int IndexOfWhiteSpace(string s, int from)
    {
        for (int k = from; k < s.Length; k++)
            if (char.IsWhiteSpace(s[k])) return k;
        return -1;
    }

    private static int Int(string key, string v) =>
        int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out int r) ? r
            : throw new SettingsException($"Architecture key '{key}' needs an integer (got '{v}').");

    private static double Dbl(string key, string v)
    {
        int slash = v.IndexOf('/');
        if (slash > 0) return Dbl(key, v[..slash]) / Dbl(key, v[(slash + 1)..]);
        return double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double r) && double.IsFinite(r) ? r
            : throw new SettingsException($"Architecture key '{key}' needs a number (got '{v}').");
    }

    private static bool Bool(string key, string v) => v.ToLowerInvariant() switch
    {
        "true" or "yes" or "1" => true,
        "false" or "no" or "0" => false,
        _ => throw new SettingsException($"Architecture key '{key}' needs true or false (got '{v}')."),
    };

    private static T Enum<T>(string key, string v) where T : struct, Enum =>
        System.Enum.TryParse(v, ignoreCase: true, out T r) && System.Enum.IsDefined(r) && !int.TryParse(v, out _) ? r
            : throw new SettingsException($"Architecture key '{key}' must be one of {string.Join(", ", System.Enum.GetNames<T>().Select(n => n.ToLowerInvariant()))} (got '{v}').");
}
