using Microsoft.ML.OnnxRuntime.Tensors;
using SpiKernel.Evaluators.Models;

namespace SpiKernel.Evaluators.Inputs;

/// <summary>
/// Pseudo-random inputs, the same for the same seed and shapes: floats from N(0, 1) (dense operators take the same
/// time on any values), integers uniform in [0, limit) where limit is the size of the dimension they index when the
/// graph tells (<see cref="TensorSpec.IndexLimit"/>) and <see cref="DefaultIntegerLimit"/> otherwise, bools fair coin flips.
/// </summary>
internal static class SeededInputs
{
    /// <summary>Exclusive upper bound of integer values whose use the graph does not reveal.</summary>
    public const long DefaultIntegerLimit = 10;

    /// <summary>One tensor per spec, shaped by <paramref name="shapes"/>; one generator for all, in input order.</summary>
    public static HostTensor[] Create(IReadOnlyList<TensorSpec> specs, IReadOnlyList<long[]> shapes, int seed)
    {
        var rng = new Random(seed);
        var tensors = new HostTensor[specs.Count];
        for (int k = 0; k < specs.Count; k++)
        {
            TensorSpec spec = specs[k];
            HostTensor t = HostTensor.Zeros(spec.Name, spec.ElementType, shapes[k]);
            long limit = Math.Max(1, spec.IndexLimit ?? DefaultIntegerLimit);
            for (long i = 0; i < t.Count; i++)
            {
                double v = TensorElements.IsFloating(spec.ElementType) ? Normal(rng)
                    : spec.ElementType == TensorElementType.Bool ? rng.Next(2)
                    : rng.NextInt64(limit);
                TensorElements.Set(t.Data, spec.ElementType, i, v);
            }
            tensors[k] = t;
        }
        return tensors;
    }

    private static double Normal(Random rng) =>
        Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
}
