using SpiKernel.Models.Architecture;
using SpiKernel.Models.Lif;

namespace SpiKernel.Exporters.Tests;

/// <summary>Seeded random architectures of the search space, small enough to export and run by the dozen.</summary>
public static class RandomArchitectures
{
    public static readonly KernelSet[] Sets = [KernelSet.Parse("1,3"), KernelSet.Parse("3,5,7"), KernelSet.Parse("1,3,5,7")];
    public static readonly int[] Timesteps = [1, 3, 5];

    /// <summary>A cell sampled as method.md describes (forward: upper triangle; backward: a fair bit per node pair), pruned, with m[0][3] ≠ 0.</summary>
    public static CellTopology Cell(Random rng, KernelSet kernels, bool backward)
    {
        while (true)
        {
            var m = new int[4, 4];
            for (int i = 0; i < 4; i++)
            {
                for (int j = i + 1; j < 4; j++)
                {
                    int code = rng.Next(kernels.OperationCount);
                    if (backward && rng.Next(2) == 1) m[j, i] = code;
                    else m[i, j] = code;
                }
            }
            CellTopology cell = new CellTopology(m).Pruned();
            if (cell[0, 3] != 0) return cell;
        }
    }

    public static SnnArchitecture Sample(int index)
    {
        var rng = new Random(1000 + index);
        KernelSet kernels = Sets[index % Sets.Length];
        bool backward = index % 2 == 1;
        int t = Timesteps[(index / 2) % Timesteps.Length];
        var macro = new MacroConfig(InChannels: 2, Height: 10, Width: 10, BaseChannels: 3, ChannelRatio: 1 + index % 2,
            StemStride: 1, Hidden: 12, Classes: 3, Cluster: 2, SecondPool: 1 + index % 2, Timesteps: t, Dropout: 0.25);
        LifOptions lif = index % 7 == 3 ? LifOptions.Default with { Reset = ResetMode.Soft } : LifOptions.Default;
        return new SnnArchitecture(Cell(rng, kernels, backward), kernels, macro, lif).Validated();
    }
}
