using SpiKernel.Models.Compute;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace SpiKernel.Models.Network;

/// <summary>
/// Training-mode BatchNorm as one graph node computed by <see cref="BatchNormKernel"/>: y = (x − μ)/√(σ² + ε)·γ + β
/// with the batch's per-channel μ and biased σ², the running statistics updated in place as libtorch does
/// (momentum m: r ← (1 − m)·r + m·μ, and the unbiased σ² for the variance). Saves x; backward is libtorch's formula:
/// dx = (dy − Σdy/M − (x − μ)·Σdy(x − μ)/(M(σ² + ε)))·γ/√(σ² + ε), dγ = Σdy(x − μ)/√(σ² + ε), dβ = Σdy.
/// </summary>
internal sealed class BatchNormStep : MultiTensorFunction<BatchNormStep>
{
    /// <inheritdoc />
    public override string Name => nameof(BatchNormStep);

    /// <summary>
    /// Normalises <paramref name="x"/> ([N, C, …], <see cref="BatchNormKernel.Supports"/>) with its batch statistics,
    /// updating <paramref name="runningMean"/> and <paramref name="runningVar"/> (contiguous [C], in place).
    /// </summary>
    public static Tensor Run(Tensor x, Tensor weight, Tensor bias, Tensor runningMean, Tensor runningVar, double momentum, double eps)
    {
        var state = new RunningStatistics(runningMean, runningVar, momentum, eps);
        if (!is_grad_enabled()) return Normalise(x, Values(weight), Values(bias), state, out _, out _);
        return BackwardHandles.Scoped(() => apply(x, weight, bias, state)[0]);
    }

    /// <inheritdoc />
    public override List<Tensor> forward(AutogradContext ctx, params object[] vars)
    {
        var x = (Tensor)vars[0];
        float[] weight = Values((Tensor)vars[1]);
        Tensor y = Normalise(x, weight, Values((Tensor)vars[2]), (RunningStatistics)vars[3], out float[] mean, out float[] invStd);
        // an unused output's gradient stays undefined: no zeros to allocate. Required, not only thrifty: Run's scope
        // disposes TorchSharp's per-node output cache, which materialising zeros would read
        ctx.set_materialize_grads(false);
        ctx.save_for_backward([x]);
        ctx.save_data("mean", mean);
        ctx.save_data("invstd", invStd);
        ctx.save_data("weight", weight);
        return [y];
    }

    /// <inheritdoc />
    public override List<Tensor> backward(AutogradContext ctx, List<Tensor> grad_outputs)
    {
        using Tensor x = BackwardHandles.Begin(ctx, Name)[0];
        Tensor? received = grad_outputs[0];
        if (received is null || received.IsInvalid) return BackwardHandles.End(ctx, grad_outputs, [null!, null!, null!, null!]); // output unused
        var mean = (float[])ctx.get_data("mean");
        var invStd = (float[])ctx.get_data("invstd");
        var weight = (float[])ctx.get_data("weight");
        using Tensor dy = received.is_contiguous() ? received.alias() : received.contiguous();
        int c = mean.Length;
        double count = x.numel() / (double)c;
        var sumGrad = new double[c];
        var sumCentred = new double[c];
        BatchNormKernel.GradientSums(x, dy, mean, sumGrad, sumCentred);
        float[] gradMean = new float[c], k = new float[c], a = new float[c], gradWeight = new float[c], gradBias = new float[c];
        for (int ch = 0; ch < c; ch++)
        {
            double s = invStd[ch];
            gradMean[ch] = (float)(sumGrad[ch] / count);
            k[ch] = (float)(sumCentred[ch] * s * s / count);
            a[ch] = (float)(s * weight[ch]);
            gradWeight[ch] = (float)(sumCentred[ch] * s);
            gradBias[ch] = (float)sumGrad[ch];
        }
        Tensor dx = empty_like(x);
        BatchNormKernel.InputGradient(x, dy, mean, gradMean, k, a, dx);
        return BackwardHandles.End(ctx, grad_outputs, [dx, tensor(gradWeight), tensor(gradBias), null!]);
    }

    private static Tensor Normalise(Tensor x, float[] w, float[] b, RunningStatistics r, out float[] mean, out float[] invStd)
    {
        int c = (int)x.shape[1];
        double count = x.numel() / (double)c;
        var m = new double[c];
        var v = new double[c];
        BatchNormKernel.Statistics(x, m, v);
        mean = new float[c];
        invStd = new float[c];
        float[] scale = new float[c], shift = new float[c];
        for (int ch = 0; ch < c; ch++)
        {
            mean[ch] = (float)m[ch];
            invStd[ch] = (float)(1.0 / Math.Sqrt(v[ch] + r.Eps));
            scale[ch] = invStd[ch] * w[ch];
            shift[ch] = b[ch] - mean[ch] * scale[ch];
        }
        r.Update(m, v, count);
        Tensor y = empty_like(x);
        BatchNormKernel.Affine(x, scale, shift, y);
        return y;
    }

    // γ or β as floats (C values: a copy costs nothing beside the pass over x)
    private static float[] Values(Tensor t)
    {
        using TorchSharp.Utils.TensorAccessor<float> values = t.data<float>();
        return values.ToArray();
    }

    /// <summary>The running statistics a training call updates, and the layer's ε.</summary>
    private sealed class RunningStatistics(Tensor mean, Tensor variance, double momentum, double eps)
    {
        public double Eps => eps;

        public void Update(ReadOnlySpan<double> batchMean, ReadOnlySpan<double> batchVariance, double count)
        {
            using var _ = no_grad();
            using Tensor m = tensor(batchMean.ToArray(), ScalarType.Float32);
            using Tensor v = tensor(batchVariance.ToArray(), ScalarType.Float32);
            mean.mul_(Scalars.Of(1 - momentum)).add_(m, Scalars.Of(momentum));
            variance.mul_(Scalars.Of(1 - momentum)).add_(v, Scalars.Of(momentum * count / Math.Max(1.0, count - 1)));
        }
    }
}
