using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SpiKernel.Models.Network;

/// <summary>Conv(k×k, no bias) → BatchNorm: the stem, and the convolution half of the down-sampling block.</summary>
internal sealed class ConvBn : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv;
    private readonly TimestepBatchNorm bn;
    private readonly int _stride, _padding;
    private readonly bool _readsSpikes;
    private IDeployedConv? _deployed;

    /// <summary>
    /// Creates the block; <paramref name="steps"/> timesteps keep their own BN statistics (1 for the stem, run once);
    /// <paramref name="readsSpikes"/>: its input is always spikes (the down-sampling block), so training may use <see cref="SpikeConvKernel"/>.
    /// </summary>
    public ConvBn(string name, long inChannels, long outChannels, int kernel, int stride, int steps = 1, bool readsSpikes = false) : base(name)
    {
        _readsSpikes = readsSpikes && stride == 1;
        conv = nn.Conv2d(inChannels, outChannels, kernel, stride: stride, padding: kernel / 2, bias: false);
        bn = new TimestepBatchNorm("bn", outChannels, steps);
        _stride = stride;
        _padding = kernel / 2;
        RegisterComponents();
    }

    /// <summary>When training convolves spikes with <see cref="SpikeConvKernel"/> (a block that reads spikes only).</summary>
    public SpikeConvUse ConvolutionKernel { get; set; } = SpikeConvUse.WhenFast;

    // the stem reads images: never the spike kernel
    private SpikeConvUse SpikeConvolution => _readsSpikes ? ConvolutionKernel : SpikeConvUse.Off;

    /// <summary>The BatchNorm.</summary>
    public TimestepBatchNorm BatchNorm => bn;

    /// <summary>
    /// Switches eval-mode inference to the deployed form (<see cref="DeployedConvBn"/>, exactly as the ONNX exporter
    /// writes it), from the current weights; training mode always uses Conv → BN. <paramref name="integer"/>: the
    /// integer form of a block that reads spikes (<see cref="QuantizedConvBn"/>, stride 1), as the int8 export writes it.
    /// </summary>
    public void Fuse(bool integer = false)
    {
        _deployed?.Dispose();
        _deployed = integer ? new QuantizedConvBn(conv, bn, _padding) : new DeployedConvBn(conv, bn, _stride, _padding);
    }

    /// <summary>Back to Conv → BN in eval mode.</summary>
    public void Unfuse()
    {
        _deployed?.Dispose();
        _deployed = null;
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        if (!training && _deployed is not null) return _deployed.Forward(x);
        using Tensor c = SpikeConvStep.Convolve(conv, x, SpikeConvolution);
        return bn.forward(c);
    }

    /// <summary>All timesteps at once (training, or eval when not fused): one convolution over [T·N, C, H, W].</summary>
    public Tensor MultiStep(Tensor x, int steps)
    {
        using Tensor c = SpikeConvStep.Convolve(conv, x, SpikeConvolution);
        return bn.ForwardMultiStep(c, steps);
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            conv.Dispose();
            bn.Dispose();
            _deployed?.Dispose();
        }
        base.Dispose(disposing);
    }
}
