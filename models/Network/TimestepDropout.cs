using TorchSharp;
using static TorchSharp.torch;
using SpiKernel.Models.Compute;

namespace SpiKernel.Models.Network;

/// <summary>
/// Dropout whose mask is drawn once per input batch (<see cref="Resample"/>) and applied unchanged at every timestep,
/// so a dropped feature stays dropped for the whole presentation. Inactive outside training or with p = 0.
/// </summary>
internal sealed class TimestepDropout : nn.Module<Tensor, Tensor>
{
    private Tensor? _mask;

    /// <summary>Creates the layer with drop probability <paramref name="p"/>.</summary>
    internal TimestepDropout(string name, double p) : base(name)
    {
        if (!(p >= 0 && p < 1)) throw new ArgumentOutOfRangeException(nameof(p), p, "Dropout must be in [0, 1).");
        P = p;
        RegisterComponents();
    }

    /// <summary>Drop probability.</summary>
    internal double P { get; }

    /// <summary>Draws the mask for the next batch of <paramref name="n"/> samples × <paramref name="features"/>.</summary>
    internal void Resample(long n, long features, Device device)
    {
        _mask?.Dispose(); // the last batch's (usually its step's dispose scope freed it already: disposing twice is a no-op)
        _mask = null;
        if (!training || P == 0) return;
        using Tensor keep = full([n, features], Scalars.Of(1.0 - P), device: device);
        using Tensor bits = bernoulli(keep);
        _mask = bits.div(Scalars.Of(1.0 - P));
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x) => _mask is null ? x.alias() : x * _mask;

    /// <summary>The same mask on every timestep of <paramref name="x"/> ([T·N, features], timestep-major).</summary>
    internal Tensor MultiStep(Tensor x, int steps)
    {
        if (_mask is null) return x.alias();
        using Tensor byStep = x.view(steps, -1, x.shape[1]);
        using Tensor masked = byStep * _mask;
        return masked.view(x.shape[0], x.shape[1]);
    }
}
