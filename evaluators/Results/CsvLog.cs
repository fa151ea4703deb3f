using System.Globalization;
using CsvHelper;
using CsvHelper.Configuration;

namespace SpiKernel.Evaluators.Results;

/// <summary>
/// Appends records of <typeparamref name="T"/> to a CSV file (invariant culture, header once, one flush per row),
/// so a crash never leaves a half-written row behind the rows already there. Appending to a file whose header is
/// not this type's columns is refused, so rows of different layouts never mix.
/// </summary>
public sealed class CsvLog<T> : IDisposable
{
    private readonly StreamWriter _writer;
    private readonly CsvWriter _csv;

    /// <summary>Opens <paramref name="path"/>; <paramref name="append"/> keeps its rows, otherwise it starts empty.</summary>
    public CsvLog(string path, bool append)
    {
        bool hasHeader = append && File.Exists(path) && new FileInfo(path).Length > 0;
        if (hasHeader) CheckHeader(path);
        _writer = new StreamWriter(path, append) { AutoFlush = false };
        _csv = new CsvWriter(_writer, new CsvConfiguration(CultureInfo.InvariantCulture));
        if (!hasHeader)
        {
            _csv.WriteHeader<T>();
            _csv.NextRecord();
            _csv.Flush();
            _writer.Flush();
        }
    }

    /// <summary>Writes one row and flushes it to disk.</summary>
    public void Append(T row)
    {
        _csv.WriteRecord(row);
        _csv.NextRecord();
        _csv.Flush();
        _writer.Flush();
    }

    /// <summary>This type's header line, as written.</summary>
    public static string Header()
    {
        using var text = new StringWriter(CultureInfo.InvariantCulture);
        using (var csv = new CsvWriter(text, new CsvConfiguration(CultureInfo.InvariantCulture)))
            csv.WriteHeader<T>();
        return text.ToString();
    }

    private static void CheckHeader(string path)
    {
        string? first;
        using (var reader = new StreamReader(path)) first = reader.ReadLine();
        string expected = Header();
        if (first != expected)
            throw new InvalidDataException($"{path}: its columns are not those this command writes (first line '{Shorten(first)}'); write to a new file or move this one away");
    }

    private static string Shorten(string? s) => s is null ? "" : s.Length <= 60 ? s : s[..60] + "…";

    /// <summary>Reads every row of a file written by this class.</summary>
    public static List<T> ReadAll(string path)
    {
        using var reader = new StreamReader(path);
        using var csv = new CsvReader(reader, new CsvConfiguration(CultureInfo.InvariantCulture));
        return csv.GetRecords<T>().ToList();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _csv.Dispose();
        _writer.Dispose();
    }
}
