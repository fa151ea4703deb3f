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
        return CsvFile.ReadCompleteRows<EvaluationRow>(path, What, Columns.Concat(alsoNeeded)).Select(CurrentRows.OnDevice).ToList();
    }
}
