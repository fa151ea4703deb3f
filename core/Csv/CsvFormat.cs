using System.Globalization;
using System.Text;
using CsvHelper;
using CsvHelper.Configuration;
using CsvHelper.TypeConversion;

namespace SpiKernel.Core.Csv;

/// <summary>
/// The one CSV convention of the tool: invariant culture, snake_case headers in property order (an explicit
/// <c>[Name]</c> is kept, it is snake_case already), enums as lower-case words (<c>over_budget</c>), booleans
/// <c>true</c>/<c>false</c>, lines ending in LF. Reading matches
/// headers without regard to case or underscores, so the tool still reads its own older PascalCase files; columns
/// missing from an older file read as empty.
/// </summary>
public static class CsvFormat
{
    /// <summary>Writer/reader settings.</summary>
    public static CsvConfiguration Configuration { get; } = new(CultureInfo.InvariantCulture)
    {
        PrepareHeaderForMatch = args => Normalize(args.Header),
        MissingFieldFound = null,
        HeaderValidated = null,
    };

    // lines end in LF, as awk, cut and pandas write them; reading takes any line ending (CsvHelper detects it only
    // when NewLine is not set), so CRLF files of earlier versions still read
    private static readonly CsvConfiguration Writing = Configuration with { NewLine = "\n" };

    /// <summary>"ResidentMib" → "resident_mib", "LatencyP50Ms" → "latency_p50_ms"; idempotent on snake_case.</summary>
    public static string ToSnakeCase(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var sb = new StringBuilder(name.Length + 8);
        for (int i = 0; i < name.Length; i++)
        {
            char c = name[i];
            if (char.IsUpper(c) && i > 0 && (char.IsLower(name[i - 1]) || char.IsDigit(name[i - 1])))
                sb.Append('_');
            sb.Append(char.ToLowerInvariant(c));
        }
        return sb.ToString();
    }

    /// <summary>The word a CSV writes for <paramref name="value"/> (<c>over_latency</c>): for logs, tables and reports too.</summary>
    public static string Word<TEnum>(TEnum value) where TEnum : struct, Enum => ToSnakeCase(value.ToString());

    /// <summary>The header line <typeparamref name="T"/> is written with (no line break).</summary>
    public static string Header<T>()
    {
        using var text = new StringWriter(CultureInfo.InvariantCulture);
        using (CsvWriter csv = Writer<T>(text)) csv.WriteHeader<T>();
        return text.ToString();
    }

    /// <summary>A writer of <typeparamref name="T"/> rows on <paramref name="text"/> (which the caller owns).</summary>
    internal static CsvWriter Writer<T>(TextWriter text)
    {
        var csv = new CsvWriter(text, Writing, leaveOpen: true);
        csv.Context.RegisterClassMap(Map<T>(csv.Context));
        return csv;
    }

    /// <summary>A reader of <typeparamref name="T"/> rows on <paramref name="text"/>.</summary>
    internal static CsvReader Reader<T>(TextReader text)
    {
        var csv = new CsvReader(text, Configuration, leaveOpen: true);
        csv.Context.RegisterClassMap(Map<T>(csv.Context));
        return csv;
    }

    internal static string Normalize(string header) => header.Replace("_", "", StringComparison.Ordinal).ToLowerInvariant();

    private static ClassMap Map<T>(CsvContext context)
    {
        ClassMap map = context.AutoMap<T>();
        foreach (MemberMap m in map.MemberMaps)
        {
            string name = m.Data.Names.Count > 0 ? m.Data.Names[0] : m.Data.Member!.Name;
            m.Data.Names.Clear();
            m.Data.Names.Add(ToSnakeCase(name));
            Type type = Underlying(m.Data.Type);
            if (type.IsEnum) m.Data.TypeConverter = new WordEnumConverter(type);
            else if (type == typeof(bool)) m.Data.TypeConverter = new LowerCaseBooleanConverter();
            else if (IsFractional(type)) m.Data.TypeConverterOptions.NumberStyles = Fractional;
        }
        // a positional record is read through its constructor's parameters: their enums are words too, and a parameter
        // with a default is a column that files of earlier versions lack (CsvHelper would pass no argument for it)
        foreach (ParameterMap p in map.ParameterMaps)
        {
            Type type = Underlying(p.Data.Parameter.ParameterType);
            if (type.IsEnum) p.Data.TypeConverter = new WordEnumConverter(type);
            else if (IsFractional(type)) p.Data.TypeConverterOptions.NumberStyles = Fractional;
            if (p.Data.Parameter.HasDefaultValue)
            {
                p.Data.IsOptional = true;
                p.Data.Default = p.Data.Parameter.DefaultValue;
                p.Data.IsDefaultSet = true;
            }
        }
        return map;
    }

    private static Type Underlying(Type type) => Nullable.GetUnderlyingType(type) ?? type;

    // a decimal point and an exponent, no thousands separators: CsvHelper's default (Float | AllowThousands) read "0,841",
    // what a spreadsheet in a comma-decimal locale writes, as 841
    private const NumberStyles Fractional = NumberStyles.Float;

    /// <summary>A number read with a decimal point (double, float, decimal).</summary>
    internal static bool IsFractional(Type type) => type == typeof(double) || type == typeof(float) || type == typeof(decimal);

    /// <summary>Booleans as <c>true</c>/<c>false</c> (JSON's and most tools' words); reads any case (<c>True</c> of earlier versions).</summary>
    private sealed class LowerCaseBooleanConverter : BooleanConverter
    {
        public override string? ConvertToString(object? value, IWriterRow row, MemberMapData memberMapData) =>
            value is bool b ? (b ? "true" : "false") : "";

        public override object? ConvertFromString(string? text, IReaderRow row, MemberMapData memberMapData) =>
            string.IsNullOrEmpty(text) && Nullable.GetUnderlyingType(memberMapData.Type) is not null ? null : base.ConvertFromString(text, row, memberMapData);
    }

    /// <summary>Enums as lower-case snake_case words; reads any case, with or without underscores or hyphens.</summary>
    private sealed class WordEnumConverter(Type type) : DefaultTypeConverter
    {
        public override string? ConvertToString(object? value, IWriterRow row, MemberMapData memberMapData) =>
            value is null ? "" : ToSnakeCase(Enum.GetName(type, value) ?? value.ToString()!);

        public override object? ConvertFromString(string? text, IReaderRow row, MemberMapData memberMapData)
        {
            if (string.IsNullOrEmpty(text) && Nullable.GetUnderlyingType(memberMapData.Type) is not null) return null;
            string wanted = (text ?? "").Replace("-", "", StringComparison.Ordinal).Replace("_", "", StringComparison.Ordinal);
            foreach (string n in Enum.GetNames(type))
                if (string.Equals(n, wanted, StringComparison.OrdinalIgnoreCase)) return Enum.Parse(type, n);
            throw new TypeConverterException(this, memberMapData, text, row.Context,
                $"{(string.IsNullOrEmpty(text) ? "an empty field" : $"'{text}'")} is not one of {string.Join(", ", Enum.GetNames(type).Select(ToSnakeCase))}");
        }
    }
}
