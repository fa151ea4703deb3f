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
    private readonly BatchNorm2d bn;
    private Tensor? _foldedWeight, _foldedBias;

    /// <summary>Creates the edge for <paramref name="channels"/> channels and kernel size <paramref name="kernel"/>.</summary>
    public SpikingConv(string name, long channels, int kernel, LifOptions lifOptions) : base(name)
    {
        lif = new LifNode("lif", lifOptions);
        conv = nn.Conv2d(channels, channels, kernel, stride: 1, padding: kernel / 2, bias: false);
        bn = nn.BatchNorm2d(channels);
        Kernel = kernel;
        RegisterComponents();
    }

    /// <summary>The kernel size.</summary>
    public int Kernel { get; }

    /// <summary>The neuron layer in front of the convolution.</summary>
    public LifNode Lif => lif;

    /// <summary>Eval-mode inference with the BatchNorm folded into the convolution (see <see cref="ConvBn.Fuse"/>).</summary>
    public void Fuse()
    {
        (_, float[] shift) = BatchNormFold.Affine(bn);
        _foldedWeight = tensor(BatchNormFold.FoldWeights(conv, bn), conv.weight!.shape);
        _foldedBias = tensor(shift);
    }

    /// <summary>Back to Conv → BN in eval mode.</summary>
    public void Unfuse() => _foldedWeight = _foldedBias = null;

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        using Tensor s = lif.forward(x);
        if (!training && _foldedWeight is not null)
            return nn.functional.conv2d(s, _foldedWeight, _foldedBias, padding: [Kernel / 2, Kernel / 2]);
        using Tensor c = conv.forward(s);
        return bn.forward(c);
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            lif.Dispose();
            conv.Dispose();
            bn.Dispose();
        }
        base.Dispose(disposing);
    }
}
