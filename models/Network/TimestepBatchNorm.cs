using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SpiKernel.Models.Network;

/// <summary>
/// BatchNorm over channels whose affine weights are shared by all timesteps but whose running statistics are kept per
/// timestep (<c>running_mean</c>, <c>running_var</c>: [steps, C]). Training normalises every call with its own batch
/// statistics, as a shared BatchNorm does, and updates the statistics of the current timestep; eval mode normalises
/// timestep t with the statistics of t. A shared BatchNorm would instead apply one average to every timestep, which
/// fits none of them when they differ systematically — in backward (feedback) cells the first timestep has no feedback
/// yet, and a network that reached 89 % training accuracy scored 47 % in eval mode (README, "BatchNorm statistics per timestep").
/// Parameters are the same as BatchNorm2d's, so parameter counts are unchanged. The owner sets <see cref="Timestep"/>.
/// </summary>
public sealed class TimestepBatchNorm : nn.Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly Parameter bias;
    private readonly Tensor running_mean;
    private readonly Tensor running_var;

    /// <summary>Creates the layer for <paramref name="channels"/> channels and <paramref name="steps"/> timesteps.</summary>
    internal TimestepBatchNorm(string name, long channels, int steps, double eps = 1e-5, double momentum = 0.1) : base(name)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        Steps = steps;
        Eps = eps;
        Momentum = momentum;
        weight = new Parameter(ones(channels));
        bias = new Parameter(zeros(channels));
        running_mean = zeros(steps, channels);
        running_var = ones(steps, channels);
        RegisterComponents();
    }

    /// <summary>Timesteps with their own statistics; later timesteps use the last set.</summary>
    public int Steps { get; }

    /// <summary>ε added to the variance.</summary>
    internal double Eps { get; }

    /// <summary>Running-statistics momentum.</summary>
    internal double Momentum { get; }

    /// <summary>The timestep of the next call (set by the network before each timestep).</summary>
    internal int Timestep { get; set; }

    /// <summary>The statistics slot of the current timestep.</summary>
    internal int Slot => Math.Min(Timestep, Steps - 1);

    /// <summary>
    /// Training-mode calls with autograd on contiguous float32 CPU tensors go through <see cref="BatchNormKernel"/>
    /// (default), everything else through libtorch's batch_norm: eval mode, and the training-mode forward passes
    /// without gradients of the search's score, whose spikes — and so the scores and the ranking of candidates — stay
    /// those of libtorch's arithmetic, to the bit.
    /// </summary>
    public bool UseKernel { get; set; } = true;

    /// <summary>γ.</summary>
    public Parameter Weight => weight;

    /// <summary>β.</summary>
    internal Parameter Bias => bias;

    /// <summary>Running mean of timestep slot <paramref name="t"/> (a view).</summary>
    internal Tensor RunningMean(int t) => running_mean[t];

    /// <summary>Running variance of timestep slot <paramref name="t"/> (a view).</summary>
    internal Tensor RunningVar(int t) => running_var[t];

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        // views: batch_norm updates the current timestep's statistics in place in training mode
        using Tensor mean = running_mean[Slot];
        using Tensor var = running_var[Slot];
        return Normalise(x, mean, var);
    }

    private Tensor Normalise(Tensor x, Tensor mean, Tensor var) =>
        training && UseKernel && is_grad_enabled() && BatchNormKernel.Supports(x)
            ? BatchNormStep.Run(x, weight, bias, mean, var, Momentum, Eps)
            : nn.functional.batch_norm(x, mean, var, weight, bias, training, Momentum, Eps);

    /// <summary>
    /// Every timestep at once: <paramref name="x"/> is [T·N, C, H, W] (timestep-major); timestep t is normalised with
    /// its own batch statistics (training) or its own running statistics (eval), as T calls of <see cref="forward"/>
    /// with <see cref="Timestep"/> = t would — they are those calls, on the T contiguous slices of <paramref name="x"/>
    /// (views), joined by one copy. (Regrouping the timesteps as T·C channels of one BatchNorm took a transposed copy
    /// in, one out, the same two in backward, and kept the first for backward.)
    /// </summary>
    internal Tensor ForwardMultiStep(Tensor x, int steps)
    {
        if (steps != Steps) throw new InvalidOperationException($"{GetName()}: {steps} timesteps at once need statistics for {steps}, not {Steps}.");
        if (x.shape[0] % steps != 0) throw new ArgumentException($"{x.shape[0]} rows do not split into {steps} timesteps.", nameof(x));
        using var scope = NewDisposeScope();
        Tensor[] slices = x.chunk(steps);
        var normalised = new Tensor[steps];
        for (int t = 0; t < steps; t++)
        {
            using Tensor mean = running_mean[t]; // views: training updates timestep t's statistics in place
            using Tensor var = running_var[t];
            normalised[t] = Normalise(slices[t], mean, var);
        }
        return cat(normalised, 0).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            weight.Dispose();
            bias.Dispose();
            running_mean.Dispose();
            running_var.Dispose();
        }
        base.Dispose(disposing);
    }
}
