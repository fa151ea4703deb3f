using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SpiKernel.Models.Network;

/// <summary>Conv(k×k, no bias) → BatchNorm: the stem, and the convolution half of the down-sampling block.</summary>
public sealed class ConvBn : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv;
    private readonly BatchNorm2d bn;
    private readonly int _stride, _padding;
    private Tensor? _foldedWeight, _foldedBias;

    /// <summary>Creates the block.</summary>
    public ConvBn(string name, long inChannels, long outChannels, int kernel, int stride) : base(name)
    {
        conv = nn.Conv2d(inChannels, outChannels, kernel, stride: stride, padding: kernel / 2, bias: false);
        bn = nn.BatchNorm2d(outChannels);
        _stride = stride;
        _padding = kernel / 2;
        RegisterComponents();
    }

    /// <summary>
    /// Switches eval-mode inference to one convolution with the BatchNorm folded in (the deployed form, exactly as
    /// the ONNX exporter writes it), from the current weights; training mode always uses Conv → BN.
    /// </summary>
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
        if (!training && _foldedWeight is not null)
            return nn.functional.conv2d(x, _foldedWeight, _foldedBias, strides: [_stride, _stride], padding: [_padding, _padding]);
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
