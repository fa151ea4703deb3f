using SpiKernel.Models.Architecture;

namespace SpiKernel.Models.Search;

/// <summary>Which cells a search samples.</summary>
public enum CellKind
{
    /// <summary>Edges only from lower to higher nodes.</summary>
    Forward,

    /// <summary>For each node pair a fair coin picks the forward or the feedback direction.</summary>
    Backward,
}

/// <summary>
/// Samples cells exactly as SNASNet does (method.md, "sampling"): forward cells draw every upper-triangle entry
/// uniformly from the kernel set's codes; backward cells flip a fair bit per node pair to choose the forward (upper)
/// or backward (lower) entry, then draw its code uniformly. Dead nodes are pruned, and cells are drawn again until
/// m[0][3] ≠ 0. Everything comes from the given <see cref="Random"/>, so a seed fixes the sequence.
/// </summary>
public static class CellSampler
{
    /// <summary>Draws one pruned cell.</summary>
    public static CellTopology Sample(Random rng, KernelSet kernels, CellKind kind)
    {
        ArgumentNullException.ThrowIfNull(rng);
        ArgumentNullException.ThrowIfNull(kernels);
        while (true)
        {
            var m = new int[CellTopology.Nodes, CellTopology.Nodes];
            for (int i = 0; i < CellTopology.Nodes; i++)
            {
                for (int j = i + 1; j < CellTopology.Nodes; j++)
                {
                    bool backward = kind == CellKind.Backward && rng.Next(2) == 1;
                    int code = rng.Next(kernels.OperationCount);
                    if (backward) m[j, i] = code;
                    else m[i, j] = code;
                }
            }
            CellTopology cell = new CellTopology(m).Pruned();
            if (cell[0, CellTopology.Nodes - 1] != 0) return cell;
        }
    }
}
