using SpiKernel.Core;
using SpiKernel.Models.Architecture;

namespace SpiKernel.Models.Search;

/// <summary>
/// Named kernel-size sets shipped as defaults (the SpiKernel paper defines six sets up to 7×7 without publishing
/// them; these six cover the same range). Rationales are in the README.
/// </summary>
public static class KernelSets
{
    /// <summary>Name → (set, one-line rationale), in a fixed order.</summary>
    public static IReadOnlyList<(string Name, KernelSet Set, string Why)> Named { get; } =
    [
        ("snasnet", KernelSet.Parse("1,3"), "SNASNet's own operations: the baseline every other set is compared with"),
        ("k3", KernelSet.Parse("3"), "3×3 only: the cheapest set with spatial context, a lower bound on search cost"),
        ("k135", KernelSet.Parse("1,3,5"), "adds 5×5 receptive fields to SNASNet's set at 2.8× the parameters of a 3×3 edge"),
        ("k35", KernelSet.Parse("3,5"), "spatial kernels only: drops the 1×1 channel mixer to test whether it earns its place"),
        ("k357", KernelSet.Parse("3,5,7"), "large receptive fields for small inputs, where a few layers must see the whole image"),
        ("k1357", KernelSet.Parse("1,3,5,7"), "every odd size up to 7×7, the paper's widest range: the largest space, the slowest search"),
    ];

    /// <summary>A named set, or a literal list such as "1,3,5".</summary>
    public static KernelSet Resolve(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        foreach ((string name, KernelSet set, _) in Named)
            if (string.Equals(name, text, StringComparison.OrdinalIgnoreCase)) return set;
        if (text.Length > 0 && (char.IsDigit(text[0]) || text[0] == '-'))
            return KernelSet.Parse(text);
        throw new SettingsException($"Unknown kernel set '{text}': use a list of odd sizes such as 1,3,5 or one of {string.Join(", ", Named.Select(n => n.Name))}.");
    }
}
