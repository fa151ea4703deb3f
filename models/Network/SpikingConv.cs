using SpiKernel.Models.Lif;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SpiKernel.Models.Network;

/// <summary>A cell's convolution edge, pre-activation style: LIF → Conv(k×k, pad k/2, C→C, no bias) → BN.</summary>
public sealed class SpikingConv : nn.Module<Tensor, Tensor>
{
    private readonly LifNode lif;
    private readonly Conv2d conv;
    private readonly TimestepBatchNorm bn;
    private IDeployedConv? _deployed;

    /// <summary>Creates the edge for <paramref name="channels"/> channels, kernel size <paramref name="kernel"/> and BN statistics for <paramref name="steps"/> timesteps.</summary>
    internal SpikingConv(string name, long channels, int kernel, LifOptions lifOptions, int steps = 1) : base(name)
    {
        lif = new LifNode("lif", lifOptions);
        conv = nn.Conv2d(channels, channels, kernel, stride: 1, padding: kernel / 2, bias: false);
        bn = new TimestepBatchNorm("bn", channels, steps);
        Kernel = kernel;
        RegisterComponents();
    }

    /// <summary>The kernel size.</summary>
    internal int Kernel { get; }

    /// <summary>When training convolves the spikes with <see cref="SpikeConvKernel"/>.</summary>
    internal SpikeConvUse ConvolutionKernel { get; set; } = SpikeConvUse.WhenFast;

    /// <summary>The neuron layer in front of the convolution.</summary>
    internal LifNode Lif => lif;

    /// <summary>The BatchNorm.</summary>
    internal TimestepBatchNorm BatchNorm => bn;

    /// <summary>Eval-mode inference in the deployed form, float or integer (see <see cref="ConvBn.Fuse"/>).</summary>
    internal void Fuse(bool integer)
    {
        _deployed?.Dispose();
        _deployed = integer ? new QuantizedConvBn(conv, bn, Kernel / 2) : new DeployedConvBn(conv, bn, 1, Kernel / 2);
    }

    /// <summary>Back to Conv → BN in eval mode.</summary>
    internal void Unfuse()
    {
        _deployed?.Dispose();
        _deployed = null;
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        using Tensor s = lif.forward(x);
        if (!training && _deployed is not null) return _deployed.Forward(s);
        using Tensor c = SpikeConvStep.Convolve(conv, s, ConvolutionKernel);
        return bn.forward(c);
    }

    /// <summary>All timesteps at once (training, or eval when not fused): [T·N, C, H, W] in and out.</summary>
    internal Tensor MultiStep(Tensor x, int steps)
    {
        using Tensor s = lif.MultiStep(x, steps);
        using Tensor c = SpikeConvStep.Convolve(conv, s, ConvolutionKernel);
        return bn.ForwardMultiStep(c, steps);
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            lif.Dispose();
            conv.Dispose();
            bn.Dispose();
            _deployed?.Dispose();
        }
        base.Dispose(disposing);
    }
}
