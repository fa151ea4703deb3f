using SpiKernel.Core.Csv;
using SpiKernel.Evaluators.Results;

namespace SpiKernel.Pipeline.Ranking;

/// <summary>
/// A results CSV of <c>spikernel evaluate</c> as the stages that rank or learn from measurements read it (rank,
/// predictor train): refused with one line when it is missing or lacks a column they use, its rows each under the
/// profile <see cref="CurrentRows.OnDevice"/> gives it, so two GPUs' rows are two profiles wherever they are read.
/// </summary>
internal static class ResultsFile
{
    /// <summary>What such a file is, for messages.</summary>
    public const string What = "results CSV of spikernel evaluate";

    /// <summary>The columns every reader needs: which measurement a row is, and its status.</summary>
    public static readonly string[] Columns = ["model", "profile", "precision", "batch_size", "status"];

    /// <summary>The rows of <paramref name="path"/>, which must also have the columns <paramref name="alsoNeeded"/>.</summary>
    public static List<EvaluationRow> Read(string path, IEnumerable<string> alsoNeeded)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such results file", path);
        // a last line cut short (an evaluation still appending, or killed mid-row) is a row not yet written whole: left out
        return Checked(path, CsvFile.ReadCompleteRows<EvaluationRow>(path, What, Columns.Concat(alsoNeeded)))!.Select(CurrentRows.OnDevice).ToList();
    }

    /// <summary>
    /// <paramref name="rows"/> (null stays null), refused with one line naming the row and the column when a figure is one
    /// no measurement gives: an accuracy outside 0–1 (a percentage typed in, a spreadsheet's edit), a negative or
    /// non-numeric latency, throughput or parameter count. The ranking would otherwise recommend such a row.
    /// </summary>
    public static List<EvaluationRow>? Checked(string path, List<EvaluationRow>? rows)
    {
        for (int i = 0; i < (rows?.Count ?? 0); i++)
        {
            EvaluationRow r = rows![i];
            string? problem = Fraction("accuracy_top1", r.AccuracyTop1) ?? Fraction("accuracy_top5", r.AccuracyTop5)
                ?? NotNegative("latency_p50_ms", r.LatencyP50Ms) ?? NotNegative("latency_p90_ms", r.LatencyP90Ms)
                ?? NotNegative("latency_p95_ms", r.LatencyP95Ms) ?? NotNegative("latency_p99_ms", r.LatencyP99Ms)
                ?? NotNegative("latency_min_ms", r.LatencyMinMs) ?? NotNegative("latency_max_ms", r.LatencyMaxMs)
                ?? NotNegative("latency_mean_ms", r.LatencyMeanMs) ?? NotNegative("throughput_sps", r.ThroughputSps)
                ?? NotNegative("parameters", r.Parameters);
            if (problem is not null) throw new InvalidDataException($"{path}: row {i + 2}, {problem}"); // row 1 is the header
        }
        return rows;
    }

    private static string? Fraction(string column, double? value) =>
        value is { } v && !(v is >= 0 and <= 1) ? $"{column}: {Text(v)} is not a fraction of the test images (0 to 1)" : null;

    private static string? NotNegative(string column, double? value) =>
        value is { } v && !(v >= 0) ? $"{column}: {Text(v)} is not a measured figure (negative or not a number)" : null;

    private static string Text(double v) => v.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
