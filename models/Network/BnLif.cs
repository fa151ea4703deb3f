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

    /// <summary>Creates the block.</summary>
    public BnLif(string name, long channels, LifOptions lifOptions) : base(name)
    {
        bn = nn.BatchNorm2d(channels);
        lif = new LifNode("lif", lifOptions);
        RegisterComponents();
    }

    /// <summary>The neuron layer.</summary>
    public LifNode Lif => lif;

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
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
