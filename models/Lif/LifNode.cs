using TorchSharp;
using static TorchSharp.torch;
using SpiKernel.Models.Compute;

namespace SpiKernel.Models.Lif;

/// <summary>
/// A layer of leaky integrate-and-fire neurons with a surrogate gradient. The membrane state lives for one input
/// batch: call <see cref="ResetState"/> before a new batch (the networks do this at the start of every forward).
/// <para>
/// One step, exactly as the exporter writes it: <c>h = decay·v + gain·x (+ v_reset/τ)</c>, <c>fired = h ≥ v_th</c>,
/// <c>s = float(fired)</c>; hard reset <c>v = fired ? v_reset : h</c> (the same value as h·(1 − s) + v_reset·s),
/// soft reset <c>v = h − s·v_th</c>. With <see cref="LifOptions.DetachReset"/> the reset passes no gradient through s.
/// Without autograd the state is updated in place, which keeps scoring and evaluation allocation-light.
/// </para>
/// <para>
/// The membrane tensor belongs to this layer: a replaced state, <see cref="ResetState"/> and disposing the layer
/// dispose it (a dispose scope that made it may have disposed it already, which is harmless).
/// </para>
/// </summary>
public sealed class LifNode : nn.Module<Tensor, Tensor>
{
    private readonly LifOptions _options;
    private Tensor? _v;

    /// <summary>Creates the layer; <paramref name="name"/> becomes its module name.</summary>
    internal LifNode(string name, LifOptions options) : base(name)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        RegisterComponents();
    }

    /// <summary>
    /// Whether steps run as single <see cref="LifKernel"/> passes (<see cref="LifStep"/> under autograd; the default)
    /// where the kernel supports the tensors and options. Off, every step is the tensor operations below — the
    /// reference the kernel is tested against, and the anchor of <c>bench train --lif both</c>. Same spikes either way.
    /// </summary>
    public bool UseKernel { get; set; } = true;

    /// <summary>The neuron constants.</summary>
    public LifOptions Options => _options;

    /// <summary>
    /// Called with every spike tensor this layer emits (one call per timestep). Used by the training-free score
    /// and by spike counting, which add (<c>+=</c>) and remove (<c>-=</c>) their own listener so both can listen at
    /// once; null when nobody listens.
    /// </summary>
    public Action<LifNode, Tensor>? SpikeObserver { get; set; }

    /// <summary>Forgets the membrane potential; the next step starts from v_reset.</summary>
    internal void ResetState()
    {
        _v?.Dispose();
        _v = null;
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        LifOptions o = _options;
        Tensor? previous = _v;
        bool recording = is_grad_enabled() && (x.requires_grad || (_v?.requires_grad ?? false));
        if (UseKernel && LifKernel.Supports(x, o) && (_v is null || LifKernel.Supports(_v, o)))
            return Observed(KernelStep(x, recording));
        Tensor h = Charge(x, recording);
        using Tensor fired = h.ge(Scalars.Of(o.VThreshold));
        Tensor spike = SurrogateSpike.Apply(h, fired, o.VThreshold, o.Surrogate, o.Alpha);

        if (o.Reset == ResetMode.Hard && o.VReset == 0.0 && (o.DetachReset || !recording))
        {
            // h·(1 − s): fired means h ≥ v_th > 0, so exactly +0 there and h elsewhere, as masked_fill gives — but in
            // vectorised passes (libtorch's masked_fill branches per element: 8 % of a training step)
            using Tensor detached = spike.detach();
            using Tensor keep = ScalarMinus.Of(1.0, detached);
            _v = recording ? h * keep : h.mul_(keep);
        }
        else if (o.Reset == ResetMode.Hard && (o.DetachReset || !recording))
        {
            _v = recording ? h.masked_fill(fired, Scalars.Of(o.VReset)) : h.masked_fill_(fired, Scalars.Of(o.VReset));
        }
        else if (o.Reset == ResetMode.Hard)
        {
            using Tensor notSpike = ScalarMinus.Of(1.0, spike);
            using Tensor kept = h * notSpike;
            using Tensor reset = spike.mul(Scalars.Of(o.VReset));
            _v = kept.add(reset, Scalars.One);
        }
        else
        {
            using Tensor? detached = o.DetachReset ? spike.detach() : null;
            using Tensor by = (detached ?? spike).mul(Scalars.Of(o.VThreshold));
            _v = recording ? h.sub(by) : h.sub_(by);
        }

        // in place (no autograd) the state stays the same tensor; otherwise the old state and the charged membrane are no
        // longer needed here (autograd keeps what it saved of them)
        if (!ReferenceEquals(previous, _v)) previous?.Dispose();
        if (!ReferenceEquals(h, _v) && !ReferenceEquals(h, previous)) h.Dispose();
        return Observed(spike);
    }

    private Tensor Observed(Tensor spike)
    {
        SpikeObserver?.Invoke(this, spike);
        return spike;
    }

    // one fused pass; without autograd the state is updated in place
    private Tensor KernelStep(Tensor x, bool recording)
    {
        if (!recording)
        {
            Tensor spikes = empty_like(x);
            Tensor? v = _v;
            _v ??= empty_like(x);
            LifKernel.StepForward(x, v, _options, spikes, _v, charged: null);
            return spikes;
        }
        (Tensor s, Tensor next) = LifStep.Run(x, _v, _options);
        _v?.Dispose();
        _v = next;
        return s;
    }

    /// <summary>
    /// All <paramref name="steps"/> timesteps of <paramref name="x"/> ([T·N, …], timestep-major) at once, from
    /// v_reset (<see cref="MultiStepLif"/>); the observer sees each timestep's spikes in order. The per-step state of
    /// this layer is neither read nor changed.
    /// </summary>
    internal Tensor MultiStep(Tensor x, int steps)
    {
        Tensor spikes = MultiStepLif.Run(x, steps, _options, UseKernel);
        if (SpikeObserver is { } observe)
            for (int t = 0; t < steps; t++)
                using (Tensor s = MultiStepLif.Step(spikes, steps, t))
                    observe(this, s);
        return spikes;
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing) ResetState();
        base.Dispose(disposing);
    }

    private Tensor Charge(Tensor x, bool recording)
    {
        LifOptions o = _options;
        if (_v is null)
            return o.VReset == 0.0 ? x.mul(Scalars.Of(o.InputGain)) : x.mul(Scalars.Of(o.InputGain)).add_(Scalars.Of(o.VReset), Scalars.One);
        // decay·v and gain·x are rounded separately (no fused multiply-add), exactly as the exported Mul, Mul, Add
        Tensor h = recording ? _v.mul(Scalars.Of(o.Decay)) : _v.mul_(Scalars.Of(o.Decay));
        using (Tensor input = x.mul(Scalars.Of(o.InputGain)))
            h.add_(input, Scalars.One);
        return o.VReset == 0.0 ? h : h.add_(Scalars.Of(o.VReset / o.Tau), Scalars.One);
    }
}
