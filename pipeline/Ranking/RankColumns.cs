using System.Reflection;
using CsvHelper.Configuration.Attributes;
using SpiKernel.Core;
using SpiKernel.Core.Csv;
using SpiKernel.Evaluators.Results;

namespace SpiKernel.Pipeline.Ranking;

/// <summary>
/// The numeric columns a constraint or objective can name: every numeric column of <c>results.csv</c> by its CSV
/// name (<c>latency_p95_ms</c>, <c>accuracy_top1</c>, <c>parameters</c>, <c>energy_snn_uj</c>, …) plus <c>score</c>,
/// the search score joined from <c>candidates.csv</c>.
/// </summary>
internal static class RankColumns
{
    /// <summary>The search score column.</summary>
    public const string Score = "score";

    private static readonly Dictionary<string, Func<EvaluationRow, double?>> Getters = Build();

    private static readonly HashSet<string> Counts = typeof(EvaluationRow).GetProperties()
        .Where(p => (Nullable.GetUnderlyingType(p.PropertyType) ?? p.PropertyType) is var t && (t == typeof(long) || t == typeof(int)))
        .Select(ColumnName).ToHashSet(StringComparer.Ordinal);

    /// <summary>Whether <paramref name="name"/> counts things (parameters, MACs, bytes): the columns K and M suffixes suit.</summary>
    public static bool IsCount(string name) => Counts.Contains(name);

    /// <summary>Every column name, sorted.</summary>
    public static IReadOnlyList<string> Names { get; } = [.. Getters.Keys.Append(Score).Order(StringComparer.Ordinal)];

    /// <summary>Throws <see cref="SettingsException"/> unless <paramref name="name"/> is a numeric column.</summary>
    public static string Check(string name, string what)
    {
        if (name == Score || Getters.ContainsKey(name)) return name;
        throw new SettingsException($"{what}: '{name}' is not a numeric column of the results; use one of {string.Join(", ", Names)}.");
    }

    /// <summary>The value of <paramref name="name"/> in <paramref name="row"/>; <paramref name="score"/> for <see cref="Score"/>.</summary>
    public static double? Value(string name, EvaluationRow row, double? score) =>
        name == Score ? score : Getters[name](row);

    private static Dictionary<string, Func<EvaluationRow, double?>> Build()
    {
        var map = new Dictionary<string, Func<EvaluationRow, double?>>(StringComparer.Ordinal);
        foreach (PropertyInfo p in typeof(EvaluationRow).GetProperties())
        {
            Type t = Nullable.GetUnderlyingType(p.PropertyType) ?? p.PropertyType;
            if (t != typeof(double) && t != typeof(long) && t != typeof(int)) continue;
            map[ColumnName(p)] = row => p.GetValue(row) is { } v ? Convert.ToDouble(v, System.Globalization.CultureInfo.InvariantCulture) : null;
        }
        return map;
    }

    private static string ColumnName(PropertyInfo p) => p.GetCustomAttribute<NameAttribute>()?.Names[0] ?? CsvFormat.ToSnakeCase(p.Name);
}
