namespace SpiKernel.Evaluators.Models;

/// <summary>
/// One model and its variants on disk: <c>NAME.onnx</c> (float) and <c>NAME.int8.onnx</c> (int8 weights, from
/// <c>spikernel export --quantize int8</c>). Either may be missing.
/// </summary>
/// <param name="Name">NAME.</param>
/// <param name="FloatPath">The float file, when present.</param>
/// <param name="Int8Path">The int8 file, when present.</param>
public sealed record ModelGroup(string Name, string? FloatPath, string? Int8Path)
{
    /// <summary>Suffix of int8 variants.</summary>
    public const string Int8Suffix = ".int8.onnx";

    /// <summary>
    /// The models at <paramref name="path"/>: one file (with its int8 or float sibling when present), or every
    /// <c>.onnx</c> file of a folder (not recursive), grouped, sorted by name.
    /// </summary>
    public static IReadOnlyList<ModelGroup> Discover(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string[] files;
        if (Directory.Exists(path))
        {
            files = Directory.GetFiles(path, "*.onnx").Order(StringComparer.Ordinal).ToArray();
            if (files.Length == 0) throw new FileNotFoundException($"{path}: no .onnx files in this folder");
        }
        else if (File.Exists(path))
        {
            files = [path];
        }
        else
        {
            throw new FileNotFoundException($"{path}: no such file or folder", path);
        }

        var groups = new SortedDictionary<string, (string? F, string? I)>(StringComparer.Ordinal);
        foreach (string f in files)
        {
            string stem = StemOf(f);
            (string? fp, string? i8) = groups.GetValueOrDefault(stem);
            groups[stem] = IsInt8(f) ? (fp, f) : (f, i8);
        }
        if (files.Length == 1)
        {
            // a single file brings its sibling variant along
            string stem = groups.Keys.Single();
            (string? fp, string? i8) = groups[stem];
            string dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
            string name = Path.GetFileName(stem);
            fp ??= Existing(Path.Combine(dir, name + ".onnx"), path);
            i8 ??= Existing(Path.Combine(dir, name + Int8Suffix), path);
            groups[stem] = (fp, i8);
        }
        return groups.Select(g => new ModelGroup(Path.GetFileName(g.Key), g.Value.F, g.Value.I)).ToArray();
    }

    private static string? Existing(string candidate, string given)
    {
        if (!File.Exists(candidate)) return null;
        // keep the caller's spelling of the folder for readability
        string? dir = Path.GetDirectoryName(given);
        return string.IsNullOrEmpty(dir) ? Path.GetFileName(candidate) : Path.Combine(dir, Path.GetFileName(candidate));
    }

    private static bool IsInt8(string file) => file.EndsWith(Int8Suffix, StringComparison.OrdinalIgnoreCase);

    private static string StemOf(string file) =>
        IsInt8(file) ? file[..^Int8Suffix.Length] : file.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase) ? file[..^".onnx".Length] : file;
}
