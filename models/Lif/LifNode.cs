using TorchSharp;
using static TorchSharp.torch;

namespace SpiKernel.Models.Lif;

/// <summary>
/// A layer of leaky integrate-and-fire neurons with a surrogate gradient. The membrane state lives for one input
/// batch: call <see cref="ResetState"/> before a new batch (the networks do this at the start of every forward).
/// <para>
/// One step: <c>h = decay·v + gain·x (+ v_reset/τ)</c>, <c>s = H(h − v_th)</c>, then hard reset
/// <c>v = h·(1 − s)</c> (+ <c>v_reset·s</c>) or soft reset <c>v = h − s·v_th</c>, with s detached from the gradient
/// of the reset when <see cref="LifOptions.DetachReset"/> is set. The exporter mirrors these operations exactly.
/// </para>
/// </summary>
public sealed class LifNode : nn.Module<Tensor, Tensor>
{
    private readonly LifOptions _options;
    private Tensor? _v;

    /// <summary>Creates the layer; <paramref name="name"/> becomes its module name.</summary>
    public LifNode(string name, LifOptions options) : base(name)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        RegisterComponents();
    }

    /// <summary>The neuron constants.</summary>
    public LifOptions Options => _options;

    /// <summary>
    /// Called with every spike tensor this layer emits (one call per timestep). Used by the training-free score
    /// and by spike counting; null when nobody listens.
    /// </summary>
    public Action<LifNode, Tensor>? SpikeObserver { get; set; }

    /// <summary>Forgets the membrane potential; the next step starts from v_reset.</summary>
    public void ResetState() => _v = null;

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        LifOptions o = _options;
        Tensor h = _v is null
            ? (o.VReset == 0.0 ? x * o.InputGain : x * o.InputGain + o.VReset)
            : (o.VReset == 0.0 ? _v * o.Decay + x * o.InputGain : _v * o.Decay + x * o.InputGain + o.VReset / o.Tau);

        Tensor spike = SurrogateSpike.Apply(h - o.VThreshold, o.Surrogate, o.Alpha);
        Tensor resetBy = o.DetachReset ? spike.detach() : spike;
        _v = o.Reset == ResetMode.Hard
            ? (o.VReset == 0.0 ? h * (1.0 - resetBy) : h * (1.0 - resetBy) + o.VReset * resetBy)
            : h - resetBy * o.VThreshold;

        SpikeObserver?.Invoke(this, spike);
        return spike;
    }
}
