using SpiKernel.Models.Compute;
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

    /// <summary>
    /// Spikes for currents <paramref name="x"/> ([T·N, …]) over <paramref name="steps"/> timesteps. With
    /// <paramref name="kernel"/> (the default) <see cref="LifKernel"/> computes the recurrence where it supports the tensor
    /// and the options, bit-identically to the tensor operations used otherwise.
    /// </summary>
    public static Tensor Run(Tensor x, int steps, LifOptions options, bool kernel = true)
    {
        if (x.shape[0] % steps != 0) throw new ArgumentException($"{x.shape[0]} rows do not split into {steps} timesteps.", nameof(x));
        if (!x.requires_grad || !is_grad_enabled())
            return Loop(x, steps, options, charged: null, kernel);
        return BackwardHandles.Scoped(() => apply(x, steps, options, kernel)); // T membranes per LIF layer otherwise held to the step's end
    }

    /// <inheritdoc />
    public override Tensor forward(AutogradContext ctx, params object[] vars)
    {
        var x = (Tensor)vars[0];
        int steps = (int)vars[1];
        var options = (LifOptions)vars[2];
        bool kernel = (bool)vars[3];
        Tensor charged = empty_like(x);
        ctx.set_materialize_grads(false); // its cached output is gone with the scope: no zeros made from it
        using (no_grad())
        {
            Tensor spikes = Loop(x, steps, options, charged, kernel);
            ctx.save_for_backward([charged]);
            ctx.save_data("steps", steps);
            ctx.save_data("options", options);
            ctx.save_data("kernel", kernel);
            return spikes;
        }
    }

    /// <inheritdoc />
    public override List<Tensor> backward(AutogradContext ctx, Tensor grad_output)
    {
        using Tensor charged = BackwardHandles.Begin(ctx, Name)[0];
        int steps = (int)ctx.get_data("steps");
        var o = (LifOptions)ctx.get_data("options");
        if (grad_output is null || grad_output.IsInvalid) return BackwardHandles.End(ctx, [], [null!, null!, null!, null!]); // spikes unused
        if ((bool)ctx.get_data("kernel") && LifKernel.Supports(charged, o))
            return BackwardHandles.End(ctx, [grad_output], [LifKernel.Backward(charged, grad_output, steps, o), null!, null!, null!]);
        Tensor gradX = empty_like(charged);
        Tensor? gv = null;
        for (int t = steps - 1; t >= 0; t--)
        {
            using var scope = NewDisposeScope();
            Tensor h = Step(charged, steps, t);
            Tensor d = SurrogateSpike.Derivative(h.sub(Scalars.Of(o.VThreshold)), o.Surrogate, o.Alpha);
            Tensor gh = Step(grad_output, steps, t) * d;
            if (gv is not null)
            {
                Tensor through = o.Reset switch
                {
                    ResetMode.Hard when o.DetachReset => gv * ScalarMinus.Of(1.0, h.ge(Scalars.Of(o.VThreshold)).to_type(h.dtype)),
                    ResetMode.Hard => gv * ScalarMinus.Of(1.0, h.ge(Scalars.Of(o.VThreshold)).to_type(h.dtype)).add_(ScalarMinus.Of(o.VReset, h).mul_(d), Scalars.One),
                    _ when o.DetachReset => gv,
                    _ => gv * ScalarMinus.Of(1.0, d.mul(Scalars.Of(o.VThreshold))),
                };
                gh = gh.add(through, Scalars.One);
            }
            using (Tensor slot = Step(gradX, steps, t)) slot.copy_(gh.mul(Scalars.Of(o.InputGain)));
            Tensor next = gh.mul(Scalars.Of(o.Decay)).DetachFromDisposeScope();
            gv?.Dispose();
            gv = next;
        }
        gv?.Dispose();
        return BackwardHandles.End(ctx, [grad_output], [gradX, null!, null!, null!]);
    }

    // the forward recurrence: spikes, and every step's charged membrane into charged when given
    private static Tensor Loop(Tensor x, int steps, LifOptions o, Tensor? charged, bool kernel)
    {
        Tensor spikes = empty_like(x);
        if (kernel && LifKernel.Supports(x, o))
        {
            LifKernel.Forward(x, steps, o, spikes, charged);
            return spikes;
        }
        Tensor? v = null;
        for (int t = 0; t < steps; t++)
        {
            using Tensor xt = Step(x, steps, t);
            Tensor h = Charge(v, xt, o);
            if (charged is not null)
                using (Tensor slot = Step(charged, steps, t)) slot.copy_(h);
            using Tensor fired = h.ge(Scalars.Of(o.VThreshold));
            using (Tensor slot = Step(spikes, steps, t)) slot.copy_(fired);
            if (o.Reset == ResetMode.Hard) h.masked_fill_(fired, Scalars.Of(o.VReset));
            else
                using (Tensor s = fired.to_type(h.dtype))
                using (Tensor by = s.mul(Scalars.Of(o.VThreshold)))
                    h.sub_(by);
            v?.Dispose();
            v = h;
        }
        v?.Dispose();
        return spikes;
    }

    // h = decay·v + gain·x (+ v_reset/τ), rounded as LifNode does (no fused multiply-add); the first step starts from v_reset
    private static Tensor Charge(Tensor? v, Tensor x, LifOptions o)
    {
        if (v is null) return o.VReset == 0.0 ? x.mul(Scalars.Of(o.InputGain)) : x.mul(Scalars.Of(o.InputGain)).add_(Scalars.Of(o.VReset), Scalars.One);
        Tensor h = v.mul(Scalars.Of(o.Decay));
        using (Tensor input = x.mul(Scalars.Of(o.InputGain))) h.add_(input, Scalars.One);
        return o.VReset == 0.0 ? h : h.add_(Scalars.Of(o.VReset / o.Tau), Scalars.One);
    }

    /// <summary>Timestep <paramref name="t"/> of a [T·N, …] tensor (a view).</summary>
    internal static Tensor Step(Tensor x, int steps, int t)
    {
        long n = x.shape[0] / steps;
        return x.narrow(0, t * n, n);
    }
}
