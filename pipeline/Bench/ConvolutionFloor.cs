using System.Diagnostics;
using SpiKernel.Models.Architecture;
using SpiKernel.Models.Network;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SpiKernel.Pipeline.Bench;

/// <summary>What the convolutions of one step-by-step training step cost by themselves.</summary>
/// <param name="Calls">Convolution calls per training step (each one forward and one backward).</param>
/// <param name="MsPerStep">Their summed time per step, forward and backward, each call its fastest of several.</param>
/// <param name="ImagesPerSecondCeiling">Batch / that time: the images/s if everything else took no time.</param>
internal sealed record ConvolutionFloorResult(int Calls, double MsPerStep, double ImagesPerSecondCeiling);

/// <summary>
/// The convolutions of a training step on their own: every Conv2d of the network, called as often per step as the
/// step-by-step path calls it (the stem once; a cell's forward edges and the down-sampling convolution once per
/// timestep; feedback edges once per timestep but the last), forward and backward (input and weight gradients) on
/// spike inputs of the shape it sees, timed with libtorch's own kernels. The rest of a step's time is everything
/// else: BatchNorm, LIF, pooling, the linear layers and the optimizer.
/// </summary>
internal static class ConvolutionFloor
{
    /// <summary>Times the convolutions of <paramref name="net"/> for a batch of <paramref name="batch"/>: each the fastest of <paramref name="rounds"/> calls.</summary>
    public static ConvolutionFloorResult Measure(SpikingNetwork net, int batch, int rounds = 5)
    {
        MacroConfig m = net.Architecture.Macro;
        (int h, int w) = m.StemSize;
        var calls = new List<(Conv2d Conv, long[] Input, int PerStep, bool Stem)>();
        foreach ((string name, nn.Module module) in net.named_modules())
        {
            if (module is not Conv2d conv) continue;
            (long ch, long cw, int perStep) = name.Split('.')[0] switch
            {
                "stem" => (m.Height, m.Width, 1),
                "cell1" => (h, w, EdgeCalls(name, m.Timesteps)),
                "down" => (h, w, m.Timesteps),
                "cell2" => (h / 2, w / 2, EdgeCalls(name, m.Timesteps)),
                _ => throw new InvalidOperationException($"convolution '{name}': no known input size"),
            };
            calls.Add((conv, [batch, conv.in_channels, ch, cw], perStep, name.StartsWith("stem.", StringComparison.Ordinal)));
        }

        double ms = calls.Sum(c => TimeCall(c.Conv, c.Input, inputGradient: !c.Stem, rounds) * c.PerStep);
        return new ConvolutionFloorResult(calls.Sum(c => c.PerStep), ms, batch * 1000.0 / ms);
    }

    // "cell1.o20.conv": edge 2 → 0 is feedback (computed at every timestep but the last); i < j runs every timestep
    private static int EdgeCalls(string name, int timesteps)
    {
        string edge = name.Split('.')[1];
        return edge[1] > edge[2] ? timesteps - 1 : timesteps;
    }

    // the fastest of rounds forward-and-backward calls on the same tensors, after two unmeasured ones (oneDNN picks and
    // caches its kernels, the heap has the result sizes): a floor, as the machine's other load only adds; the stem
    // reads images, which need no gradient
    private static double TimeCall(Conv2d conv, long[] input, bool inputGradient, int rounds)
    {
        using var scope = NewDisposeScope();
        using Scalar rate = 0.2.ToScalar(); // held through the call (docs/train.md#fixed-a-scalar-freed-under-libtorch-torchsharp-0107)
        Tensor x = rand(input).lt(rate).to_type(ScalarType.Float32).requires_grad_(inputGradient);
        Tensor weight = conv.weight!.detach().clone().requires_grad_(true);
        Tensor gradOut = randn(conv.forward(x.detach()).shape);
        var times = new List<double>();
        for (int r = -2; r < rounds; r++)
        {
            using var call = NewDisposeScope();
            var sw = Stopwatch.StartNew();
            Tensor y = nn.functional.conv2d(x, weight, strides: conv.stride, padding: conv.padding, dilation: conv.dilation, groups: conv.groups);
            y.backward([gradOut]);
            if (r >= 0) times.Add(sw.Elapsed.TotalMilliseconds);
            x.grad?.Dispose();
            x.grad = null;
            weight.grad!.Dispose();
            weight.grad = null;
        }
        return times.Min();
    }
}
