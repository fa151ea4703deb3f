using SpiKernel.Models.Lif;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SpiKernel.Models.Network;

/// <summary>BatchNorm → LIF: the activation in front of the down-sampling convolution and of the classifier.</summary>
internal sealed class BnLif : nn.Module<Tensor, Tensor>
{
    private readonly TimestepBatchNorm bn;
    private readonly LifNode lif;
    private DeployedBatchNorm? _deployed;

    /// <summary>Creates the block with BN statistics for <paramref name="steps"/> timesteps.</summary>
    public BnLif(string name, long channels, LifOptions lifOptions, int steps = 1) : base(name)
    {
        bn = new TimestepBatchNorm("bn", channels, steps);
        lif = new LifNode("lif", lifOptions);
        RegisterComponents();
    }

    /// <summary>The neuron layer.</summary>
    public LifNode Lif => lif;

    /// <summary>The BatchNorm.</summary>
    public TimestepBatchNorm BatchNorm => bn;

    /// <summary>Eval-mode inference with the BatchNorm as a per-channel Mul then Add (exactly as exported).</summary>
    public void Fuse()
    {
        _deployed?.Dispose();
        _deployed = new DeployedBatchNorm(bn);
    }

    /// <summary>Back to BatchNorm in eval mode.</summary>
    public void Unfuse()
    {
        _deployed?.Dispose();
        _deployed = null;
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        if (!training && _deployed is not null)
        {
            using Tensor shifted = _deployed.Apply(x);
            return lif.forward(shifted);
        }
        using Tensor b = bn.forward(x);
        return lif.forward(b);
    }

    /// <summary>All timesteps at once (training, or eval when not fused): [T·N, C, H, W] in and out.</summary>
    public Tensor MultiStep(Tensor x, int steps)
    {
        using Tensor b = bn.ForwardMultiStep(x, steps);
        return lif.MultiStep(b, steps);
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            bn.Dispose();
            lif.Dispose();
            _deployed?.Dispose();
        }
        base.Dispose(disposing);
    }
}
