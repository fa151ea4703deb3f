using SpiKernel.Pipeline;
using System.CommandLine;
using System.Globalization;
using SpiKernel.Core;
using SpiKernel.Evaluators.Inputs;
using SpiKernel.Models.Architecture;
using SpiKernel.Models.Search;
using SpiKernel.Pipeline.Data;

namespace SpiKernel.Cli;

/// <summary>Option values shared by several commands, parsed with the invariant culture; bad text is a <see cref="SettingsException"/>.</summary>
internal static class Parse
{
    /// <summary>
    /// Refuses <paramref name="option"/> given on the command line where nothing reads it (<paramref name="applies"/>
    /// false), rather than ignoring it without a word; <paramref name="when"/> says where it is read ("with --verify").
    /// </summary>
    public static void OnlyWhere(ParseResult r, Option option, bool applies, string when)
    {
        if (!applies && r.GetResult(option) is { Implicit: false })
            throw new SettingsException($"{option.Name} is read only {when}; here it would be ignored.");
    }

    /// <summary>A comma-separated list of whole numbers.</summary>
    public static int[] Ints(string option, string text)
    {
        string[] parts = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 0) throw new SettingsException($"{option} names no value.");
        return parts.Select(p => int.TryParse(p, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v)
            ? v
            : throw new SettingsException(long.TryParse(p, NumberStyles.Integer, CultureInfo.InvariantCulture, out _)
                ? $"{option}: {p} is out of range ({int.MinValue} to {int.MaxValue})."
                : $"{option}: '{p}' is not a whole number.")).ToArray();
    }

    /// <summary>--input-shape values: "3,32,32" (every input) or "NAME=3,32,32" (the last '=' ends the name).</summary>
    public static InputShape[] InputShapes(IEnumerable<string> values) => values.Select(v =>
    {
        int eq = v.LastIndexOf('=');
        if (eq == 0) throw new SettingsException($"--input-shape '{v}' has an empty input name.");
        return new InputShape(eq > 0 ? v[..eq] : null, Ints("--input-shape", v[(eq + 1)..]).Select(d => (long)d).ToArray());
    }).ToArray();

    /// <summary>"10M", "500K", "1.5M" or a plain integer.</summary>
    public static long Count(string option, string text)
    {
        string t = text.Trim();
        double scale = 1;
        if (t.EndsWith('M') || t.EndsWith('m')) { scale = 1e6; t = t[..^1]; }
        else if (t.EndsWith('K') || t.EndsWith('k')) { scale = 1e3; t = t[..^1]; }
        // a count beyond 2^53 is no parameter budget (it was clamped to long.MaxValue without a word)
        if (!double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !(v > 0) || !(v * scale < 1L << 53))
            throw new SettingsException($"{option} must be a positive count such as 10M, 500K or 1200000 (got '{text}').");
        return (long)Math.Round(v * scale);
    }

    /// <summary>--kernels values: a set (1,3,5), a shipped name (snasnet, k357, …) or @FILE (proposed-sets.txt of explore-kernels).</summary>
    public static List<(string Name, KernelSet Set)> KernelSets(IEnumerable<string> values)
    {
        var sets = new List<(string Name, KernelSet Set)>();
        foreach (string k in values)
        {
            if (k.StartsWith('@')) sets.AddRange(KernelStudy.ParseFile(k[1..]));
            else sets.Add((Models.Search.KernelSets.Named.FirstOrDefault(n => n.Name.Equals(k, StringComparison.OrdinalIgnoreCase)).Name ?? k, Models.Search.KernelSets.Resolve(k)));
        }
        return sets;
    }

    /// <summary>The --dataset word.</summary>
    public static DatasetKind? Dataset(string? text) => text is null
        ? null
        : SettingWords.Parse<DatasetKind?>("--dataset", text, [("fashion-mnist", DatasetKind.FashionMnist), ("fmnist", DatasetKind.FashionMnist),
            ("cifar10", DatasetKind.Cifar10), ("cifar100", DatasetKind.Cifar100), ("cifar100-coarse", DatasetKind.Cifar100Coarse),
            ("tinyimagenet", DatasetKind.TinyImageNet)]);
}
