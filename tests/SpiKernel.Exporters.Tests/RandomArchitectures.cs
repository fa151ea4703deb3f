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
        // ratio, stem stride and pooling vary apart from the cell kind (a stride-2 stem makes the maps odd: 5×5, pooled to 2×2)
        var macro = new MacroConfig(InChannels: 2, Height: 10, Width: 10, BaseChannels: 3, ChannelRatio: 1 + (index / 3) % 2,
            StemStride: 1 + (index / 4) % 2, Hidden: 12, Classes: 3, Cluster: 2, SecondPool: 1 + (index / 5) % 2, Timesteps: t, Dropout: 0.25);
        // each neuron variant the exporter writes differently, with both cell kinds: h·(1 − spike) (hard to 0), h − spike·v_th (soft), Where with
        // a resting term (hard to v_reset ≠ 0), and other constants
        LifOptions lif = (index / 2 % 5) switch
        {
            1 => LifOptions.Default with { Reset = ResetMode.Soft },
            2 => LifOptions.Default with { VReset = -0.25 },
            3 => LifOptions.Default with { Tau = 2.0, VThreshold = 0.75 },
            4 => LifOptions.Default with { Reset = ResetMode.Soft, VReset = 0.1 }, // the resting term, then the soft reset
            _ => LifOptions.Default,
        };
        return new SnnArchitecture(Cell(rng, kernels, backward), kernels, macro, lif).Validated();
    }
}
