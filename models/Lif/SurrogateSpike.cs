using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace SpiKernel.Models.Lif;

/// <summary>
/// The spike non-linearity as a custom autograd function: forward is the Heaviside step H(x) (H(0) = 1),
/// backward is the surrogate derivative chosen by <see cref="SurrogateKind"/> with sharpness α.
/// </summary>
public sealed class SurrogateSpike : SingleTensorFunction<SurrogateSpike>
{
    /// <inheritdoc />
    public override string Name => nameof(SurrogateSpike);

    /// <summary>H(x) with the surrogate gradient attached when autograd is recording.</summary>
    public static Tensor Apply(Tensor x, SurrogateKind kind, double alpha)
    {
        if (!x.requires_grad || !is_grad_enabled())
            return Step(x);
        if (Environment.GetEnvironmentVariable("SK_ST") == "1")
        {
            using Tensor sg = (1.0 / Math.PI) * (Math.PI / 2.0 * alpha * x).atan() + 0.5;
            using Tensor h = Step(x);
            using Tensor diff = (h - sg).detach();
            return sg + diff;
        }
        return apply(x, (int)kind, alpha);
    }

    /// <summary>The surrogate derivative dH/dx at x.</summary>
    public static Tensor Derivative(Tensor x, SurrogateKind kind, double alpha) => kind switch
    {
        SurrogateKind.ATan => (alpha / 2.0) / (1.0 + (Math.PI / 2.0 * alpha * x).square()),
        SurrogateKind.Sigmoid => Sigmoid(x, alpha),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown surrogate."),
    };

    private static Tensor Sigmoid(Tensor x, double alpha)
    {
        using Tensor s = (alpha * x).sigmoid();
        return alpha * s * (1.0 - s);
    }

    private static Tensor Step(Tensor x) => x.ge(0.0).to_type(x.dtype);

    /// <inheritdoc />
    public override Tensor forward(AutogradContext ctx, params object[] vars)
    {
        var x = (Tensor)vars[0];
        ctx.save_for_backward([x]);
        ctx.save_data("kind", vars[1]);
        ctx.save_data("alpha", vars[2]);
        return Step(x);
    }

    /// <inheritdoc />
    public override List<Tensor> backward(AutogradContext ctx, Tensor grad_output)
    {
        Tensor x = ctx.get_saved_variables()[0];
        var kind = (SurrogateKind)(int)ctx.get_data("kind");
        double alpha = (double)ctx.get_data("alpha");
        using Tensor d = Derivative(x, kind, alpha);
        return [grad_output * d, null!, null!];
    }
}
