using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace SpiKernel.Models.Lif;

/// <summary>
/// A LIF layer over all T timesteps in one call (SpikingJelly's multi-step mode): input currents [T·N, …] in
/// timestep-major order, spikes [T·N, …] out. With autograd the whole recurrence is one node whose backward is a
/// hand-written loop over T (BPTT through the membrane), instead of several graph nodes per timestep; the arithmetic
/// of every step is the one <see cref="LifNode"/> does, in the same order, so forward values are identical and
/// gradients agree to rounding.
/// <para>
/// Backward, from t = T−1 down to 0, with h_t the charged membrane, s_t = H(h_t − v_th), σ' the surrogate derivative
/// at h_t − v_th and g_v the gradient reaching v_t from step t+1 (zero at T−1):
/// g_h = g_s·σ' + g_v·∂v/∂h, where ∂v/∂h is (1 − s) for a detached hard reset, (1 − s) + (v_reset − h)·σ' attached,
/// 1 for a detached soft reset and 1 − v_th·σ' attached; then g_x = g_h·(1/τ) and g_v(t−1) = g_h·(1 − 1/τ).
/// </para>
/// <para>Tensors: the charged membranes of all steps are saved for backward (one tensor the size of the input); the
/// per-step membrane and the step temporaries are disposed as the loop goes.</para>
/// </summary>
internal sealed class MultiStepLif : SingleTensorFunction<MultiStepLif>
{
    /// <inheritdoc />
    public override string Name => nameof(MultiStepLif);

    /// <summary>Spikes for currents <paramref name="x"/> ([T·N, …]) over <paramref name="steps"/> timesteps.</summary>
    public static Tensor Run(Tensor x, int steps, LifOptions options)
    {
        if (x.shape[0] % steps != 0) throw new ArgumentException($"{x.shape[0]} rows do not split into {steps} timesteps.", nameof(x));
        if (!x.requires_grad || !is_grad_enabled())
        {
            using Tensor _ = Loop(x, steps, options, charged: null, out Tensor spikes);
            return spikes;
        }
        return apply(x, steps, options);
    }

    /// <inheritdoc />
    public override Tensor forward(AutogradContext ctx, params object[] vars)
    {
        var x = (Tensor)vars[0];
        int steps = (int)vars[1];
        var options = (LifOptions)vars[2];
        Tensor charged = empty_like(x);
        using (no_grad())
        using (Loop(x, steps, options, charged, out Tensor spikes))
        {
            ctx.save_for_backward([charged]);
            ctx.save_data("steps", steps);
            ctx.save_data("options", options);
            return spikes;
        }
    }

    /// <inheritdoc />
    public override List<Tensor> backward(AutogradContext ctx, Tensor grad_output)
    {
        Tensor charged = ctx.get_saved_variables()[0];
        int steps = (int)ctx.get_data("steps");
        var o = (LifOptions)ctx.get_data("options");
        Tensor gradX = empty_like(charged);
        Tensor? gv = null;
        for (int t = steps - 1; t >= 0; t--)
        {
            using var scope = NewDisposeScope();
            Tensor h = Step(charged, steps, t);
            Tensor d = SurrogateSpike.Derivative(h - o.VThreshold, o.Surrogate, o.Alpha);
            Tensor gh = Step(grad_output, steps, t) * d;
            if (gv is not null)
            {
                Tensor through = o.Reset switch
                {
                    ResetMode.Hard when o.DetachReset => gv * ScalarMinus.Of(1.0, h.ge(o.VThreshold).to_type(h.dtype)),
                    ResetMode.Hard => gv * ScalarMinus.Of(1.0, h.ge(o.VThreshold).to_type(h.dtype)).add_(ScalarMinus.Of(o.VReset, h).mul_(d)),
                    _ when o.DetachReset => gv,
                    _ => gv * ScalarMinus.Of(1.0, d * o.VThreshold),
                };
                gh = gh + through;
            }
            using (Tensor slot = Step(gradX, steps, t)) slot.copy_(gh * o.InputGain);
            Tensor next = (gh * o.Decay).DetachFromDisposeScope();
            gv?.Dispose();
            gv = next;
        }
        gv?.Dispose();
        return [gradX, null!, null!];
    }

    // the forward recurrence; returns the final membrane (the caller disposes it), spikes through the out parameter
    private static Tensor Loop(Tensor x, int steps, LifOptions o, Tensor? charged, out Tensor spikes)
    {
        spikes = empty_like(x);
        Tensor? v = null;
        for (int t = 0; t < steps; t++)
        {
            using Tensor xt = Step(x, steps, t);
            Tensor h = Charge(v, xt, o);
            if (charged is not null)
                using (Tensor slot = Step(charged, steps, t)) slot.copy_(h);
            using Tensor fired = h.ge(o.VThreshold);
            using (Tensor slot = Step(spikes, steps, t)) slot.copy_(fired);
            if (o.Reset == ResetMode.Hard) h.masked_fill_(fired, o.VReset);
            else
                using (Tensor s = fired.to_type(h.dtype)) h.sub_(s * o.VThreshold);
            v?.Dispose();
            v = h;
        }
        return v!;
    }

    // h = decay·v + gain·x (+ v_reset/τ), rounded as LifNode does (no fused multiply-add); the first step starts from v_reset
    private static Tensor Charge(Tensor? v, Tensor x, LifOptions o)
    {
        if (v is null) return o.VReset == 0.0 ? x * o.InputGain : (x * o.InputGain).add_(o.VReset);
        Tensor h = v * o.Decay;
        using (Tensor input = x * o.InputGain) h.add_(input);
        return o.VReset == 0.0 ? h : h.add_(o.VReset / o.Tau);
    }

    /// <summary>Timestep <paramref name="t"/> of a [T·N, …] tensor (a view).</summary>
    internal static Tensor Step(Tensor x, int steps, int t)
    {
        long n = x.shape[0] / steps;
        return x.narrow(0, t * n, n);
    }
}
