using SpiKernel.Models.Compute;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace SpiKernel.Models.Network;

/// <summary>
/// Average pooling as the network uses it — the macro network's k×k window with stride k, and the cells' 3×3 window
/// with stride 1 and zero padding 1 (divisor 9 everywhere, count_include_pad) — with the same numbers as
/// <c>avg_pool2d</c> to the last bit, forward and backward, and several times faster on CPU.
/// <para>
/// libtorch's CPU kernel computes every output element with scalar index arithmetic; on the small Fashion-MNIST network
/// the cells' 3×3 pooling was 13 % of a search's time (docs/measurements/train-speed.md). Here the window is k² strided
/// views of the (zero-padded) input summed in the kernel's order — row by row, left to right — in whole-tensor
/// vectorised adds, then divided by k² as the kernel divides (a padded zero adds nothing). Backward adds each output's
/// gradient ÷ k² into its window in the kernel's order (outputs row by row); windows with stride k do not overlap, so
/// there it is one expanded copy (zero for the rows and columns floor mode drops).
/// </para>
/// <para>Tensors: the views are disposed as the sums go; only the shapes are kept for backward.</para>
/// </summary>
internal sealed class WindowAveragePool : SingleTensorFunction<WindowAveragePool>
{
    /// <inheritdoc />
    public override string Name => nameof(WindowAveragePool);

    /// <summary>
    /// Pools the last two dimensions of <paramref name="x"/> ([N, C, H, W]) with a <paramref name="k"/>×k window:
    /// stride k and no padding (<paramref name="stride"/> null), or stride 1 with zero <paramref name="padding"/> ≤ k/2.
    /// </summary>
    public static Tensor Apply(Tensor x, int k, int? stride = null, int padding = 0)
    {
        ArgumentNullException.ThrowIfNull(x);
        int s = stride ?? k;
        if (k < 1) throw new ArgumentOutOfRangeException(nameof(k), k, "The window must be at least 1.");
        if (!(s == k && padding == 0) && !(s == 1 && padding >= 0 && 2 * padding <= k))
            throw new ArgumentException($"Only stride k without padding, or stride 1 with padding ≤ k/2, are pooled here (k {k}, stride {s}, padding {padding}).");
        if (x.dim() != 4 || x.shape[2] + 2 * padding < k || x.shape[3] + 2 * padding < k)
            throw new ArgumentException($"A {k}×{k} pooling needs [N, C, H, W] with H and W at least {k}; got [{string.Join(", ", x.shape)}].", nameof(x));
        // libtorch accumulates half-precision types in float32; those (and integer maps) take its kernel
        if (x.dtype is not (ScalarType.Float32 or ScalarType.Float64))
            return nn.functional.avg_pool2d(x, [k, k], [s, s], [padding, padding]);
        if (!x.requires_grad || !is_grad_enabled()) return Forward(x, k, s, padding);
        return BackwardHandles.Scoped(() => apply(x, k, s, padding));
    }

    /// <inheritdoc />
    public override Tensor forward(AutogradContext ctx, params object[] vars)
    {
        var x = (Tensor)vars[0];
        int k = (int)vars[1], s = (int)vars[2], padding = (int)vars[3];
        ctx.save_data("k", k);
        ctx.save_data("stride", s);
        ctx.save_data("padding", padding);
        ctx.save_data("shape", x.shape);
        ctx.set_materialize_grads(false); // its cached output is gone with the scope: no zeros made from it
        using (no_grad())
            return Forward(x, k, s, padding);
    }

    /// <inheritdoc />
    public override List<Tensor> backward(AutogradContext ctx, Tensor grad_output)
    {
        BackwardHandles.Begin(ctx, Name); // nothing saved: releases the previous backward's gradient, refuses a second pass
        int k = (int)ctx.get_data("k"), s = (int)ctx.get_data("stride"), p = (int)ctx.get_data("padding");
        var shape = (long[])ctx.get_data("shape");
        if (grad_output is null || grad_output.IsInvalid) return BackwardHandles.End(ctx, [], [null!, null!, null!, null!]); // output unused
        // + 0: the kernel adds into a zeroed gradient, so a −0 share becomes +0 there too
        using Tensor share = grad_output.div(Scalars.Of((double)(k * k))).add_(Scalars.Of(0.0), Scalars.One);
        return BackwardHandles.End(ctx, [grad_output], [s == k ? Spread(share, k, shape) : Accumulate(share, k, p, shape), null!, null!, null!]);
    }

    // stride k: every input element has one window; floor mode's dropped rows and columns get zero
    private static Tensor Spread(Tensor share, int k, long[] shape)
    {
        long n = share.shape[0], c = share.shape[1], ho = share.shape[2], wo = share.shape[3];
        using Tensor unit = share.view(n, c, ho, 1, wo, 1);
        using Tensor spread = unit.expand(n, c, ho, k, wo, k);
        Tensor grad = spread.reshape(n, c, ho * k, wo * k);
        if (ho * k == shape[2] && wo * k == shape[3]) return grad;
        using (grad)
            return nn.functional.pad(grad, [0, shape[3] - wo * k, 0, shape[2] - ho * k]);
    }

    // stride 1: input (r, c) receives the outputs (r − a, c − b); the kernel adds them in output order, so a and b descend
    private static Tensor Accumulate(Tensor share, int k, int p, long[] shape)
    {
        long ho = share.shape[2], wo = share.shape[3];
        using Tensor padded = zeros([share.shape[0], share.shape[1], shape[2] + 2 * p, shape[3] + 2 * p], share.dtype, share.device);
        for (int a = k - 1; a >= 0; a--)
            for (int b = k - 1; b >= 0; b--)
                using (Tensor window = padded[TensorIndex.Colon, TensorIndex.Colon, TensorIndex.Slice(a, a + ho), TensorIndex.Slice(b, b + wo)])
                    window.add_(share, Scalars.One);
        using Tensor inner = padded[TensorIndex.Colon, TensorIndex.Colon, TensorIndex.Slice(p, p + shape[2]), TensorIndex.Slice(p, p + shape[3])];
        return inner.clone();
    }

    private static Tensor Forward(Tensor x, int k, int s, int padding)
    {
        if (padding == 0) return Sum(x, k, s);
        using Tensor padded = nn.functional.pad(x, [padding, padding, padding, padding]);
        return Sum(padded, k, s);
    }

    private static Tensor Sum(Tensor x, int k, int s)
    {
        long ho = (x.shape[2] - k) / s + 1, wo = (x.shape[3] - k) / s + 1;
        Tensor? sum = null;
        for (int i = 0; i < k; i++)
        {
            for (int j = 0; j < k; j++)
            {
                using Tensor view = x[TensorIndex.Colon, TensorIndex.Colon,
                    TensorIndex.Slice(i, i + (ho - 1) * s + 1, s), TensorIndex.Slice(j, j + (wo - 1) * s + 1, s)];
                if (sum is null) sum = view.add(Scalars.Of(0.0), Scalars.One); // the kernel's sum starts at +0: a −0 window gives +0
                else sum.add_(view, Scalars.One);
            }
        }
        return sum!.div_(Scalars.Of((long)(k * k)));
    }
}

/// <summary>The cells' pooling edge: 3×3 average, stride 1, zero padding 1, divisor 9 (avg_pool2d's defaults).</summary>
internal sealed class CellAveragePool : nn.Module<Tensor, Tensor>
{
    /// <summary>Creates the edge module.</summary>
    public CellAveragePool(string name) : base(name) { }

    /// <inheritdoc />
    public override Tensor forward(Tensor x) => WindowAveragePool.Apply(x, 3, stride: 1, padding: 1);
}
