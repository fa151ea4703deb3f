namespace SpiKernel.Core.Csv;

/// <summary>
/// Appends rows of <typeparamref name="T"/> to a CSV file (<see cref="CsvFormat"/>: snake_case header once, one flush
/// per row), so a crash never leaves a half-written row behind the rows already there. Appending to a file whose
/// header is not this type's columns is refused, so rows of different layouts never mix.
/// </summary>
/// <remarks>Owns its stream: dispose it (or use <c>using</c>) to close the file.</remarks>
public sealed class CsvLog<T> : IDisposable
{
    private readonly StreamWriter _writer;
    private readonly CsvHelper.CsvWriter _csv;

    /// <summary>Opens <paramref name="path"/>; <paramref name="append"/> keeps its rows, otherwise it starts empty.</summary>
    public CsvLog(string path, bool append)
    {
        ArgumentNullException.ThrowIfNull(path);
        bool hasHeader = append && File.Exists(path) && new FileInfo(path).Length > 0;
        if (hasHeader)
        {
            CheckHeader(path);
            CsvFile.DropTornRow(path);
            hasHeader = new FileInfo(path).Length > 0; // a header cut short (no line end) went with the torn row: written anew
        }
        _writer = new StreamWriter(path, append) { AutoFlush = false };
        _csv = CsvFormat.Writer<T>(_writer);
        if (!hasHeader)
        {
            _csv.WriteHeader<T>();
            _csv.NextRecord();
            Flush();
        }
    }

    /// <summary>Writes one row and flushes it to disk.</summary>
    public void Append(T row)
    {
        _csv.WriteRecord(row);
        _csv.NextRecord();
        Flush();
    }

    /// <summary>
    /// Forces the rows written so far onto the storage (fsync), for a row that another file's commit will count on: a
    /// power cut after that commit must not lose it.
    /// </summary>
    public void Sync() => ((FileStream)_writer.BaseStream).Flush(flushToDisk: true);

    private void Flush()
    {
        _csv.Flush();
        _writer.Flush();
    }

    private static void CheckHeader(string path)
    {
        string? first;
        using (var reader = new StreamReader(path)) first = reader.ReadLine();
        if (first != CsvFormat.Header<T>())
            throw new InvalidDataException($"{path}: its columns are not those this command writes (first line '{Shorten(first)}'); write to a new file or move this one away");
    }

    private static string Shorten(string? s) => s is null ? "" : s.Length <= 60 ? s : s[..60] + "…";

    /// <inheritdoc />
    public void Dispose()
    {
        _csv.Dispose();
        _writer.Dispose();
    }
}
