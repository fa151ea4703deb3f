using SpiKernel.Models.Architecture;
using SpiKernel.Models.Lif;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using SpiKernel.Models.Compute;

namespace SpiKernel.Models.Network;

// Tensors in models: parameters and buffers live as long as their module (Dispose frees them); LIF membranes and cell
// feedback states belong to their layer and die when replaced, on ResetState or with the module; a forward disposes
// its intermediates (using) and hands the caller a fresh result; helpers (BatchNormFold) dispose their copies at once.
/// <summary>
/// The SNASNet macro network (method.md): the stem is computed once (direct input coding), then for each of T
/// timesteps: cell1 → down (BN → LIF → Conv3×3 → BN) → AvgPool 2 → cell2 → last (BN → LIF) → AvgPool sap →
/// flatten → dropout (one mask per sample for all timesteps) → fc1 (no bias) → LIF → fc2 → mean over each class's
/// cluster; logits are the mean over timesteps. Module names (<c>stem.conv.weight</c>, <c>cell1.o13.conv.weight</c>)
/// are the names the ONNX exporter gives initializers.
/// </summary>
public sealed class SpikingNetwork : nn.Module<Tensor, Tensor>
{
    private readonly ConvBn stem;
    private readonly SpikingCell cell1;
    private readonly BnLif down_act;
    private readonly ConvBn down;
    private readonly SpikingCell cell2;
    private readonly BnLif last;
    private readonly TimestepDropout dropout;
    private readonly Linear fc1;
    private readonly LifNode fc_lif;
    private readonly Linear fc2;

    /// <summary>Builds the network and initialises it as SNASNet does (uses torch's global generator).</summary>
    public SpikingNetwork(SnnArchitecture architecture, bool prune = true) : base("snn")
    {
        ArgumentNullException.ThrowIfNull(architecture);
        Compute.LibTorchBackends.Configure(); // NNPACK off before the first convolution runs
        Architecture = architecture.Validated();
        MacroConfig m = architecture.Macro;
        LifOptions lif = architecture.Lif;

        stem = new ConvBn("stem", m.InChannels, m.Cell1Channels, 3, m.StemStride);
        int steps = m.Timesteps;
        cell1 = new SpikingCell("cell1", architecture.Cell, architecture.Kernels, m.Cell1Channels, lif, prune, steps);
        down_act = new BnLif("down_act", m.Cell1Channels, lif, steps);
        down = new ConvBn("down", m.Cell1Channels, m.Cell2Channels, 3, 1, steps, readsSpikes: true);
        cell2 = new SpikingCell("cell2", architecture.Cell, architecture.Kernels, m.Cell2Channels, lif, prune, steps);
        last = new BnLif("last", m.Cell2Channels, lif, steps);
        dropout = new TimestepDropout("dropout", m.Dropout);
        fc1 = nn.Linear(m.Features, m.Hidden, hasBias: false);
        fc_lif = new LifNode("fc_lif", lif);
        fc2 = nn.Linear(m.Hidden, (long)m.Classes * m.Cluster, hasBias: true);
        RegisterComponents();
        Initialize();
        _timestepNorms = modules().OfType<TimestepBatchNorm>().Where(b => b.Steps > 1).ToArray();
    }

    private readonly TimestepBatchNorm[] _timestepNorms;

    /// <summary>What this network was built from.</summary>
    public SnnArchitecture Architecture { get; }

    /// <summary>Every LIF layer with its module path, in the order the forward pass calls them.</summary>
    public IReadOnlyList<(string Path, LifNode Lif)> LifLayers()
    {
        var list = new List<(string, LifNode)>();
        list.AddRange(cell1.LifLayers().Select(e => ($"cell1.{e.Edge}.lif", e.Lif)));
        list.Add(("down_act.lif", down_act.Lif));
        list.AddRange(cell2.LifLayers().Select(e => ($"cell2.{e.Edge}.lif", e.Lif)));
        list.Add(("last.lif", last.Lif));
        list.Add(("fc_lif", fc_lif));
        return list;
    }

    /// <summary>The first cell.</summary>
    public SpikingCell Cell1 => cell1;

    /// <summary>
    /// Whether training convolves spikes with <see cref="SpikeConvKernel"/> where it applies (the cells' edges and the
    /// down-sampling block; on by default); false: libtorch's convolution everywhere.
    /// </summary>
    public void UseConvolutionKernel(bool use) => SetConvolutionKernel(use ? SpikeConvUse.WhenFast : SpikeConvUse.Off);

    /// <summary>Whether this machine runs <see cref="SpikeConvKernel"/> (AVX-512); without it training keeps libtorch's convolution.</summary>
    public static bool ConvolutionKernelRuns => SpikeConvKernel.Fast;

    /// <summary>When training uses <see cref="SpikeConvKernel"/>; <see cref="SpikeConvUse.Always"/> for tests.</summary>
    internal void SetConvolutionKernel(SpikeConvUse use)
    {
        down.ConvolutionKernel = use;
        foreach (SpikingConv edge in modules().OfType<SpikingConv>()) edge.ConvolutionKernel = use;
    }

    /// <summary>The classifier's dropout (one mask per batch for all timesteps).</summary>
    internal TimestepDropout Dropout => dropout;

    /// <summary>The second cell.</summary>
    public SpikingCell Cell2 => cell2;

    /// <summary>
    /// Run the layers outside a recurrence once over all timesteps (SpikingJelly's multi-step mode): the convolutions,
    /// BatchNorms, pooling and linear layers see [T·N, …], each LIF layer is one <see cref="MultiStepLif"/> call, and
    /// only backward cells step through time. Equal to the step-by-step path within rounding (MultiStepTests, with libtorch's
    /// convolution in both; with the spike convolution kernel in both a rounding can flip a spike some steps later); off by
    /// default until it pays (docs/train.md#multi-step-path). The deployed (fused) form always runs step by step, as
    /// the exporter writes it.
    /// </summary>
    public bool MultiStep { get; set; }

    private bool _fused;

    /// <inheritdoc />
    public override Tensor forward(Tensor input) =>
        MultiStep && (training || !_fused) ? ForwardMultiStep(input) : ForwardStepByStep(input);

    private Tensor ForwardMultiStep(Tensor input)
    {
        MacroConfig m = Architecture.Macro;
        int steps = m.Timesteps;
        ResetState();
        long n = input.shape[0];
        using Tensor s0 = stem.forward(input);
        dropout.Resample(n, m.Features, input.device);
        using Tensor x = s0.unsqueeze(0).expand(steps, -1, -1, -1, -1).reshape(steps * n, s0.shape[1], s0.shape[2], s0.shape[3]);
        using Tensor c1 = cell1.MultiStep(x, steps);
        using Tensor a1 = down_act.MultiStep(c1, steps);
        using Tensor d1 = down.MultiStep(a1, steps);
        using Tensor p1 = WindowAveragePool.Apply(d1, 2);
        using Tensor c2 = cell2.MultiStep(p1, steps);
        using Tensor a2 = last.MultiStep(c2, steps);
        using Tensor p2 = WindowAveragePool.Apply(a2, m.SecondPool);
        using Tensor flat = p2.flatten(1);
        using Tensor dropped = dropout.MultiStep(flat, steps);
        using Tensor h = fc1.forward(dropped);
        using Tensor hs = fc_lif.MultiStep(h, steps);
        using Tensor o = fc2.forward(hs);
        using Tensor votes = o.view(steps, n, m.Classes, m.Cluster).mean([3L]);
        // summed timestep by timestep, as the step-by-step path adds them
        Tensor sum = votes[0];
        for (int t = 1; t < steps; t++)
        {
            using Tensor vt = votes[t];
            Tensor next = sum.add(vt, Scalars.One);
            sum.Dispose();
            sum = next;
        }
        using (sum)
            return sum.div(Scalars.Of((double)steps));
    }

    private Tensor ForwardStepByStep(Tensor input)
    {
        MacroConfig m = Architecture.Macro;
        ResetState();
        long n = input.shape[0];
        using Tensor s0 = stem.forward(input);
        dropout.Resample(n, m.Features, input.device);

        Tensor? sum = null;
        for (int t = 0; t < m.Timesteps; t++)
        {
            foreach (TimestepBatchNorm bn in _timestepNorms) bn.Timestep = t;
            bool more = t < m.Timesteps - 1;
            using Tensor c1 = cell1.Step(s0, computeFeedback: more);
            using Tensor a1 = down_act.forward(c1);
            using Tensor d1 = down.forward(a1);
            using Tensor p1 = WindowAveragePool.Apply(d1, 2);
            using Tensor c2 = cell2.Step(p1, computeFeedback: more);
            using Tensor a2 = last.forward(c2);
            using Tensor p2 = WindowAveragePool.Apply(a2, m.SecondPool);
            using Tensor flat = p2.flatten(1);
            using Tensor dropped = dropout.call(flat);
            using Tensor h = !training && _integerFc1 is not null ? _integerFc1.Forward(dropped) : fc1.forward(dropped);
            using Tensor hs = fc_lif.forward(h);
            using Tensor o = !training && _integerFc2 is not null ? _integerFc2.Forward(hs) : fc2.forward(hs);
            using Tensor votes = o.view(n, m.Classes, m.Cluster).mean([2L]);
            Tensor next = sum is null ? votes.alias() : sum.add(votes, Scalars.One);
            sum?.Dispose();
            sum = next;
        }
        using (sum)
            return sum!.div(Scalars.Of((double)m.Timesteps));
    }

    /// <summary>
    /// Eval-mode inference in the deployed form: every BatchNorm folded into the convolution before it, or applied as
    /// a per-channel Mul then Add — the same numbers and operations the ONNX exporter writes. A snapshot of the current
    /// weights; training mode is unaffected; <see cref="Unfuse"/> returns to Conv → BN. <paramref name="integer"/>: the
    /// int8 export's form — every convolution and linear layer that reads spikes computed as the integer operations of
    /// <see cref="SpikeQuantization"/> (the stem, which reads the image, stays float).
    /// </summary>
    public void Fuse(bool integer = false) => SetFused(true, integer);

    /// <summary>Undoes <see cref="Fuse"/>.</summary>
    public void Unfuse() => SetFused(false, false);

    private void SetFused(bool fused, bool integer)
    {
        _fused = fused;
        if (fused) stem.Fuse();
        else stem.Unfuse();
        if (fused) down.Fuse(integer);
        else down.Unfuse();
        foreach (BnLif block in new[] { down_act, last })
        {
            if (fused) block.Fuse();
            else block.Unfuse();
        }
        cell1.SetFused(fused, integer);
        cell2.SetFused(fused, integer);
        _integerFc1?.Dispose();
        _integerFc2?.Dispose();
        _integerFc1 = fused && integer ? new QuantizedLinear(fc1, Architecture.Macro.SecondPool * Architecture.Macro.SecondPool) : null;
        _integerFc2 = fused && integer ? new QuantizedLinear(fc2, 1) : null;
    }

    private QuantizedLinear? _integerFc1, _integerFc2;

    /// <summary>Both cells' <see cref="SpikingCell.FeedbackOnLastStep"/>.</summary>
    internal bool FeedbackOnLastStep
    {
        get => cell1.FeedbackOnLastStep;
        set => cell1.FeedbackOnLastStep = cell2.FeedbackOnLastStep = value;
    }

    /// <summary>Forgets every membrane potential and feedback state.</summary>
    internal void ResetState()
    {
        cell1.ResetState();
        cell2.ResetState();
        down_act.Lif.ResetState();
        last.Lif.ResetState();
        fc_lif.ResetState();
    }

    /// <summary>SNASNet's initialisation: conv kaiming_uniform(a=2); Linear N(0, 0.01), bias 0; BN weight 1, bias 0.</summary>
    private void Initialize()
    {
        using var noGrad = no_grad();
        foreach ((string name, nn.Module module) in named_modules())
        {
            switch (module)
            {
                case Conv2d conv:
                    nn.init.kaiming_uniform_(conv.weight!, a: 2);
                    break;
                case Linear linear:
                    nn.init.normal_(linear.weight!, 0.0, 0.01);
                    if (linear.bias is not null) nn.init.zeros_(linear.bias);
                    break;
                case TimestepBatchNorm bn:
                    nn.init.ones_(bn.Weight);
                    nn.init.zeros_(bn.Bias);
                    break;
            }
        }
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            stem.Dispose();
            cell1.Dispose();
            down_act.Dispose();
            down.Dispose();
            cell2.Dispose();
            last.Dispose();
            dropout.Dispose();
            fc1.Dispose();
            fc_lif.Dispose();
            fc2.Dispose();
            _integerFc1?.Dispose();
            _integerFc2?.Dispose();
        }
        base.Dispose(disposing);
    }
}
