using SpiKernel.Models.Lif;
using TorchSharp;
using SpiKernel.Models.Network;
using static TorchSharp.torch;
using SpiKernel.Models.Compute;

namespace SpiKernel.Models.Search;

/// <summary>How <see cref="SahdKernel"/> computes the Hamming distances.</summary>
public enum SahdMethod
{
    /// <summary>
    /// One float32 Gram product: spikes are exactly 0 or 1, so d_H(i, j) = r_i + r_j − 2·(x xᵀ)_ij with r the row
    /// sums; x xᵀ holds integers below 2²⁴ and is exact in float32, so K is the reference's to the last bit.
    /// </summary>
    Gram,

    /// <summary>The two float64 products x(1−x)ᵀ + (1−x)xᵀ as SNASNet writes them: the anchor of <c>bench search</c>.</summary>
    Reference,
}

/// <summary>
/// The training-free score of SNASNet: sparsity-aware Hamming distance (method.md). At every LIF call at every
/// timestep, with x = (spikes &gt; 0) flattened to B×N: d_H = x(1−x)ᵀ + (1−x)xᵀ, firing rates s = rowsum(x)/N,
/// E = N·(s(1−s)ᵀ + (1−s)sᵀ), and K += N − ½·d_H/(E + 10⁻³). After the forward pass K is divided by the number of
/// calls and the score is log|det K|. The matrix is accumulated in place in float64. Every call counts: a backward
/// cell's feedback edges run on the last timestep too while scoring (<see cref="SpikingNetwork.FeedbackOnLastStep"/>),
/// as in SNASNet, although training and inference skip them there (their result is never read).
/// </summary>
internal sealed class SahdKernel : IDisposable
{
    // above this many neurons a float32 Gram entry could exceed 2^24 and round: such layers use the reference
    private const long ExactFloat32Neurons = 1 << 24;
    private readonly Tensor _k;
    private readonly SahdMethod _method;

    /// <summary>A zero B×B accumulator.</summary>
    public SahdKernel(int batch, SahdMethod method = SahdMethod.Gram)
    {
        _k = zeros([batch, batch], ScalarType.Float64);
        _method = method;
    }

    /// <summary>LIF calls accumulated so far.</summary>
    public int Calls { get; private set; }

    /// <summary>
    /// Adds one LIF call's spikes [B, …]: the 0/1 values a LIF layer emits. The Gram method reads float32 spikes as
    /// they are (no copy); the reference, and any other dtype, thresholds x = spikes &gt; 0 as SNASNet writes it.
    /// </summary>
    public void Add(Tensor spikes)
    {
        using var scope = NewDisposeScope();
        long n = spikes.numel() / spikes.shape[0];
        bool gram = _method == SahdMethod.Gram && n < ExactFloat32Neurons;
        Tensor x = gram && spikes.dtype == ScalarType.Float32
            ? spikes.reshape(spikes.shape[0], -1)
            : spikes.gt(Scalars.Of(0L)).reshape(spikes.shape[0], -1).to_type(gram ? ScalarType.Float32 : ScalarType.Float64);
        Tensor rows = x.sum(1, type: ScalarType.Float64);
        Tensor hamming;
        if (gram)
            hamming = x.matmul(x.t()).to_type(ScalarType.Float64).mul_(Scalars.Of(-2L)).add_(rows.unsqueeze(1), Scalars.One).add_(rows.unsqueeze(0), Scalars.One);
        else
        {
            Tensor notX = ScalarMinus.Of(1.0, x);
            hamming = x.matmul(notX.t()).add_(notX.matmul(x.t()), Scalars.One);
        }
        Tensor rate = rows.div(Scalars.Of(n));
        Tensor notRate = ScalarMinus.Of(1.0, rate);
        Tensor expected = rate.outer(notRate).add_(notRate.outer(rate), Scalars.One).mul_(Scalars.Of(n));
        _k.add_(hamming.div_(expected.add_(Scalars.Of(1e-3), Scalars.One)).mul_(Scalars.Of(-0.5)).add_(Scalars.Of(n), Scalars.One), Scalars.One);
        Calls++;
    }

    /// <summary>K divided by the number of calls (a copy).</summary>
    public Tensor Matrix() => Calls == 0 ? _k.clone() : _k.div(Scalars.Of((long)Calls));

    /// <summary>log|det(K / calls)|; −∞ when K is singular; NaN before any call.</summary>
    public double Score()
    {
        if (Calls == 0) return double.NaN;
        using Tensor k = Matrix();
        (Tensor sign, Tensor logAbsDet) = linalg.slogdet(k);
        using (sign)
        using (logAbsDet)
            return sign.item<double>() == 0 ? double.NegativeInfinity : logAbsDet.item<double>(); // item: no Scalar made
    }

    /// <inheritdoc />
    public void Dispose() => _k.Dispose();
}

/// <summary>Scores a fresh network on fixed batches (train mode, no gradients), averaging the per-batch scores.</summary>
public static class SahdScore
{
    /// <summary>
    /// log|det K| averaged over <paramref name="batches"/> (each [B, C, H, W]); throws <see cref="ArithmeticException"/>
    /// with a sentence when a batch yields a singular or non-finite K. <paramref name="method"/> changes the speed only.
    /// </summary>
    public static double Score(SpikingNetwork net, IReadOnlyList<Tensor> batches, SahdMethod method = SahdMethod.Gram)
    {
        ArgumentNullException.ThrowIfNull(net);
        if (batches.Count == 0) throw new ArgumentException("The score needs at least one batch.", nameof(batches));
        net.train();
        double sum = 0;
        foreach (Tensor batch in batches)
        {
            double score;
            using (SahdKernel kernel = Accumulate(net, batch, method))
                score = kernel.Score();
            if (double.IsNegativeInfinity(score))
                throw new ArithmeticException("the SAHD matrix K is singular (log|det K| = −∞): the network's spike patterns do not tell the images apart");
            if (!double.IsFinite(score))
                throw new ArithmeticException($"the SAHD score is not finite ({score})");
            sum += score;
        }
        return sum / batches.Count;
    }

    /// <summary>One forward pass of <paramref name="batch"/> with every LIF call added to a new kernel (the caller disposes it).</summary>
    internal static SahdKernel Accumulate(SpikingNetwork net, Tensor batch, SahdMethod method)
    {
        IReadOnlyList<(string Path, LifNode Lif)> layers = net.LifLayers();
        var kernel = new SahdKernel((int)batch.shape[0], method);
        Action<LifNode, Tensor> observe = (_, s) => kernel.Add(s);
        foreach ((_, LifNode lif) in layers) lif.SpikeObserver += observe; // beside any other listener (a spike counter)
        net.FeedbackOnLastStep = true;
        try
        {
            using var ng = no_grad();
            using var scope = NewDisposeScope();
            net.forward(batch);
            return kernel;
        }
        catch
        {
            kernel.Dispose();
            throw;
        }
        finally
        {
            net.FeedbackOnLastStep = false;
            foreach ((_, LifNode lif) in layers) lif.SpikeObserver -= observe;
        }
    }
}
