using SpiKernel.Models.Compute;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace SpiKernel.Models.Lif;

/// <summary>
/// The spike non-linearity as a custom autograd function: forward is the Heaviside step s = H(v − v_th)
/// (H(0) = 1, i.e. v ≥ v_th fires), backward is the surrogate derivative chosen by <see cref="SurrogateKind"/> with
/// sharpness α, evaluated at v − v_th.
/// </summary>
internal sealed class SurrogateSpike : SingleTensorFunction<SurrogateSpike>
{
    /// <inheritdoc />
    public override string Name => nameof(SurrogateSpike);

    /// <summary>
    /// Spikes (as <paramref name="membrane"/>'s dtype) from the precomputed comparison <paramref name="fired"/> =
    /// membrane ≥ threshold, with the surrogate gradient attached when autograd is recording.
    /// </summary>
    public static Tensor Apply(Tensor membrane, Tensor fired, double threshold, SurrogateKind kind, double alpha)
    {
        if (!membrane.requires_grad || !is_grad_enabled())
            return fired.to_type(membrane.dtype);
        return BackwardHandles.Scoped(() => apply(membrane, fired, threshold, (int)kind, alpha));
    }

    /// <summary>
    /// The surrogate derivative dH/dx at x, as a new tensor: ATan (α/2)/(1 + (π/2·α·x)²), sigmoid α·σ(αx)·(1 − σ(αx)).
    /// One allocation, then in-place passes; the same roundings in the same order as the plain expressions
    /// (SurrogateSpikeTests pins them) — TorchSharp's scalar-on-the-left operators (<c>c / t</c>, <c>c − t</c>) leave an
    /// intermediate to the dispose scope and ran ~70× slower than the explicit ops on these cores.
    /// </summary>
    public static Tensor Derivative(Tensor x, SurrogateKind kind, double alpha)
    {
        switch (kind)
        {
            case SurrogateKind.ATan:
                Tensor t = x.mul(Scalars.Of(Math.PI / 2.0 * alpha));
                t.mul_(t).add_(Scalars.Of(1.0), Scalars.One).reciprocal_(); // t·t: what square() computes
                return alpha / 2.0 == 1.0 ? t : t.mul_(Scalars.Of(alpha / 2.0)); // c / t is 1/t then ×c
            case SurrogateKind.Sigmoid:
                using (Tensor s = x.mul(Scalars.Of(alpha)).sigmoid_())
                using (Tensor notS = ScalarMinus.Of(1.0, s))
                    return s.mul(Scalars.Of(alpha)).mul_(notS);
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown surrogate.");
        }
    }

    /// <inheritdoc />
    public override Tensor forward(AutogradContext ctx, params object[] vars)
    {
        var membrane = (Tensor)vars[0];
        var fired = (Tensor)vars[1];
        ctx.save_for_backward([membrane]);
        ctx.set_materialize_grads(false); // its cached output is gone with the scope: no zeros made from it
        ctx.save_data("threshold", vars[2]);
        ctx.save_data("kind", vars[3]);
        ctx.save_data("alpha", vars[4]);
        return fired.to_type(membrane.dtype);
    }

    /// <inheritdoc />
    public override List<Tensor> backward(AutogradContext ctx, Tensor grad_output)
    {
        using Tensor membrane = BackwardHandles.Begin(ctx, Name)[0];
        double threshold = (double)ctx.get_data("threshold");
        var kind = (SurrogateKind)(int)ctx.get_data("kind");
        double alpha = (double)ctx.get_data("alpha");
        if (grad_output is null || grad_output.IsInvalid) return BackwardHandles.End(ctx, [], [null!, null!, null!, null!, null!]); // spikes unused
        using Tensor x = membrane.sub(Scalars.Of(threshold));
        Tensor d = Derivative(x, kind, alpha);
        d.mul_(grad_output);
        return BackwardHandles.End(ctx, [grad_output], [d, null!, null!, null!, null!]);
    }
}
