namespace SpiKernel.Core.Csv;

/// <summary>Whole-file CSV reads and atomic writes in the tool's convention (<see cref="CsvFormat"/>).</summary>
public static class CsvFile
{
    /// <summary>Every row of <paramref name="path"/> (the tool's own files, old PascalCase ones included).</summary>
    public static List<T> ReadAll<T>(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var reader = new StreamReader(path);
        return Parse<T>(reader, path);
    }

    /// <summary>
    /// Refuses <paramref name="path"/> unless its header has every column of <paramref name="required"/> (snake_case; old
    /// PascalCase headers count): "PATH: not a WHAT (missing columns …)".
    /// </summary>
    public static void RequireColumns(string path, string what, IEnumerable<string> required)
    {
        ArgumentNullException.ThrowIfNull(required);
        string[] header = (File.ReadLines(path).FirstOrDefault() ?? "").Split(',').Select(h => CsvFormat.ToSnakeCase(h.Trim().Trim('"'))).ToArray();
        string[] missing = required.Where(r => !header.Contains(r)).Distinct().ToArray();
        if (missing.Length > 0)
            throw new InvalidDataException($"{path}: not a {what} (missing column{(missing.Length > 1 ? "s" : "")} {string.Join(", ", missing)})");
    }

    private static List<T> Parse<T>(TextReader reader, string path)
    {
        using CsvHelper.CsvReader csv = CsvFormat.Reader<T>(reader);
        try
        {
            return csv.GetRecords<T>().ToList();
        }
        catch (CsvHelper.CsvHelperException ex)
        {
            int? row = csv.Context.Parser?.Row;
            string why = ex.Message.StartsWith("No members are mapped", StringComparison.Ordinal)
                ? $"none of its columns is one of {Kind<T>()} CSV's ({string.Join(", ", CsvFormat.Header<T>().Split(',').Take(4))}, …)"
                : row is { } r && IsLastAndCutShort(path, r)
                    ? $"row {r} is cut short, as an interrupted write leaves it: delete that line"
                    : $"row {row}: {Problem(ex)}";
            throw new InvalidDataException($"{path}: not {Kind<T>()} CSV the tool can read ({why})", ex);
        }
    }

    // "an evaluation" for EvaluationRow, "a candidate" for CandidateRow
    private static string Kind<T>()
    {
        string name = typeof(T).Name;
        string words = CsvFormat.ToSnakeCase(name.EndsWith("Row", StringComparison.Ordinal) && name.Length > 3 ? name[..^3] : name).Replace('_', ' ');
        return ("aeiou".Contains(words[0], StringComparison.Ordinal) ? "an " : "a ") + words;
    }

    // the failing row is the file's last line and has no line break after it
    private static bool IsLastAndCutShort(string path, int row)
    {
        if (!File.Exists(path)) return false;
        string text = File.ReadAllText(path);
        return text.Length > 0 && text[^1] != '\n' && text.Split('\n').Length == row;
    }

    /// <summary>Writes <paramref name="rows"/> to <paramref name="path"/> atomically: a reader sees the old file or the new one.</summary>
    public static void WriteAll<T>(string path, IEnumerable<T> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        AtomicFile.Write(path, stream =>
        {
            using var writer = new StreamWriter(stream, leaveOpen: true);
            using CsvHelper.CsvWriter csv = CsvFormat.Writer<T>(writer);
            csv.WriteHeader<T>();
            csv.NextRecord();
            foreach (T row in rows)
            {
                csv.WriteRecord(row);
                csv.NextRecord();
            }
        });
    }

    /// <summary>
    /// The rows of a CSV the tool appends to (<see cref="CsvLog{T}"/>), after a torn last row from an interrupted
    /// append is cut (<see cref="DropTornRow"/>); no rows when the file does not exist yet.
    /// </summary>
    public static List<T> ReadLog<T>(string path)
    {
        if (!File.Exists(path)) return [];
        DropTornRow(path);
        return ReadAll<T>(path);
    }

    /// <summary>
    /// The complete rows of a log another process may still be appending to: a last line without its newline is left
    /// out unless it has as many fields as the header (a file another tool wrote, or edited by hand, may end without a
    /// newline; a row cut short by a kill or still being written has fewer), and the file is not modified
    /// (<see cref="ReadLog{T}"/> repairs files this process owns).
    /// </summary>
    public static List<T> ReadCompleteRows<T>(string path)
    {
        if (!File.Exists(path)) return [];
        byte[] bytes;
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
        {
            bytes = new byte[stream.Length];
            stream.ReadExactly(bytes);
        }
        int end = Array.LastIndexOf(bytes, (byte)'\n') + 1;
        if (end > 0 && end < bytes.Length && Fields(bytes, 0, end) == Fields(bytes, end, bytes.Length - end)) end = bytes.Length;
        using var reader = new StreamReader(new MemoryStream(bytes, 0, end));
        return Parse<T>(reader, path);
    }

    /// <summary>
    /// The complete rows (<see cref="ReadCompleteRows{T}(string)"/>) of <paramref name="path"/>, refused with one line
    /// unless it has every column of <paramref name="required"/> (<see cref="RequireColumns"/>).
    /// </summary>
    public static List<T> ReadCompleteRows<T>(string path, string what, IEnumerable<string> required)
    {
        RequireColumns(path, what, required);
        return ReadCompleteRows<T>(path);
    }

    // the fields of the first record in bytes[start..start + length)
    private static int Fields(byte[] bytes, int start, int length)
    {
        using var reader = new StreamReader(new MemoryStream(bytes, start, length));
        using var parser = new CsvHelper.CsvParser(reader, System.Globalization.CultureInfo.InvariantCulture);
        return parser.Read() ? parser.Count : -1;
    }

    /// <summary>
    /// Cuts a last line that lacks its newline: what a process killed in the middle of appending a row leaves. That
    /// row never counted (its writer had not finished it), so it goes and the rows before it stay.
    /// </summary>
    public static void DropTornRow(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        long end = stream.Length;
        while (end > 0)
        {
            stream.Position = end - 1;
            if (stream.ReadByte() == '\n') break;
            end--;
        }
        if (end < stream.Length) stream.SetLength(end);
    }

    private static string FirstLine(string s) => s.Split('\n')[0].Trim();

    // what is wrong with the row, in the file's words: the column and the value, not CsvHelper's advice to programmers
    private static string Problem(CsvHelper.CsvHelperException ex) => ex switch
    {
        // (a positional record's constructor parameter may come without its type, and with its C# name)
        CsvHelper.TypeConversion.TypeConverterException { MemberMapData: { } member } t when member.Names.FirstOrDefault() is { } column =>
            $"{CsvFormat.ToSnakeCase(column)}: " + (member.Type is null ? typeof(object) : Nullable.GetUnderlyingType(member.Type) ?? member.Type) switch
            {
                var type when type.IsEnum => FirstLine(ex.Message), // the converter names the words it takes
                var type when CsvFormat.IsFractional(type) =>
                    $"'{t.Text}' is not a number (a '.' decimal point, no thousands separators)",
                var type when type == typeof(int) || type == typeof(long) => $"'{t.Text}' is not a whole number",
                var type when type == typeof(bool) => $"'{t.Text}' is not true or false",
                _ => $"'{t.Text}' cannot be read",
            },
        CsvHelper.BadDataException bad => $"a stray quote: inside a field that does not start with one, or after the closing one ({bad.Field.Trim()})",
        _ => FirstLine(ex.Message),
    };
}
