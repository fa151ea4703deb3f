using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SpiKernel.Models.Network;

/// <summary>Conv(k×k, no bias) → BatchNorm: the stem, and the convolution half of the down-sampling block.</summary>
public sealed class ConvBn : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv;
    private readonly BatchNorm2d bn;

    /// <summary>Creates the block.</summary>
    public ConvBn(string name, long inChannels, long outChannels, int kernel, int stride) : base(name)
    {
        conv = nn.Conv2d(inChannels, outChannels, kernel, stride: stride, padding: kernel / 2, bias: false);
        bn = nn.BatchNorm2d(outChannels);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        using Tensor c = conv.forward(x);
        return bn.forward(c);
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            conv.Dispose();
            bn.Dispose();
        }
        base.Dispose(disposing);
    }
}
