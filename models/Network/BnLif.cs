using SpiKernel.Models.Lif;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SpiKernel.Models.Network;

/// <summary>BatchNorm → LIF: the activation in front of the down-sampling convolution and of the classifier.</summary>
public sealed class BnLif : nn.Module<Tensor, Tensor>
{
    private readonly BatchNorm2d bn;
    private readonly LifNode lif;
    private Tensor? _scale, _shift;

    /// <summary>Creates the block.</summary>
    public BnLif(string name, long channels, LifOptions lifOptions) : base(name)
    {
        bn = nn.BatchNorm2d(channels);
        lif = new LifNode("lif", lifOptions);
        RegisterComponents();
    }

    /// <summary>The neuron layer.</summary>
    public LifNode Lif => lif;

    /// <summary>Eval-mode inference with the BatchNorm as a per-channel Mul then Add (exactly as exported).</summary>
    public void Fuse()
    {
        (float[] scale, float[] shift) = BatchNormFold.Affine(bn);
        _scale = tensor(scale).reshape(1, -1, 1, 1);
        _shift = tensor(shift).reshape(1, -1, 1, 1);
    }

    /// <summary>Back to BatchNorm in eval mode.</summary>
    public void Unfuse() => _scale = _shift = null;

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        if (!training && _scale is not null)
        {
            using Tensor scaled = x * _scale;
            using Tensor shifted = scaled + _shift!;
            return lif.forward(shifted);
        }
        using Tensor b = bn.forward(x);
        return lif.forward(b);
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            bn.Dispose();
            lif.Dispose();
        }
        base.Dispose(disposing);
    }
}
