using System.Globalization;
using CsvHelper;
using CsvHelper.Configuration;

namespace SpiKernel.Pipeline.Training;

/// <summary>
/// Appends records of <typeparamref name="T"/> to a CSV file (invariant culture, header once, one flush per row),
/// so a crash never leaves a half-written row behind the rows already there.
/// </summary>
public sealed class CsvLog<T> : IDisposable
{
    private readonly StreamWriter _writer;
    private readonly CsvWriter _csv;

    /// <summary>Opens <paramref name="path"/>; <paramref name="append"/> keeps its rows, otherwise it starts empty.</summary>
    public CsvLog(string path, bool append)
    {
        bool hasHeader = append && File.Exists(path) && new FileInfo(path).Length > 0;
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
