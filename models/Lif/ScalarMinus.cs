using static TorchSharp.torch;
using SpiKernel.Models.Compute;

namespace SpiKernel.Models.Lif;

/// <summary>
/// c − t for a number c and a tensor t, as a new tensor. TorchSharp's <c>c - t</c> (and <c>c / t</c>) operators
/// leave an intermediate to the dispose scope and ran 70–100× slower than the same arithmetic written as (−t) + c on
/// these cores (docs/measurements/train-speed.md#the-surrogates-temporaries-and-masked_fill); (−t) + c rounds exactly
/// as c − t does. Every c − t on a tensor in the models goes through here.
/// </summary>
internal static class ScalarMinus
{
    /// <summary>c − <paramref name="t"/>: one allocation, one in-place pass.</summary>
    public static Tensor Of(double c, Tensor t) => t.neg().add_(Scalars.Of(c), Scalars.One);
}
