namespace SpiKernel.Evaluators.Models;

/// <summary>
/// One model and its variants on disk: <c>NAME.onnx</c> (float) and <c>NAME.int8.onnx</c> (int8 weights, from
/// <c>spikernel export --quantize int8</c>). Either may be missing. A test folder — <c>model.onnx</c> beside
/// <c>test_data_set_*</c> folders, the layout of the ONNX backend tests — is one model named by its folder.
/// </summary>
/// <param name="Name">NAME.</param>
/// <param name="FloatPath">The float file, when present.</param>
/// <param name="Int8Path">The int8 file, when present.</param>
public sealed record ModelGroup(string Name, string? FloatPath, string? Int8Path)
{
    /// <summary>Suffix of int8 variants.</summary>
    public const string Int8Suffix = ".int8.onnx";

    /// <summary>The test folder the model came from (its test data sets are fed and checked); null for plain files.</summary>
    public string? TestFolder { get; init; }

    /// <summary>
    /// The int8 file was named itself (<c>evaluate NAME.int8.onnx</c>): <c>--precision auto</c> measures it on every
    /// profile, not its float sibling, which comes along for <c>fp32</c> and <c>all</c>.
    /// </summary>
    public bool Int8Named { get; init; }

    /// <summary>
    /// The models at <paramref name="path"/>: one file (with its int8 or float sibling when present), one test folder,
    /// or a folder's <c>.onnx</c> files and test folders (not deeper), grouped, sorted by name.
    /// </summary>
    public static IReadOnlyList<ModelGroup> Discover(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string[] files;
        if (Directory.Exists(path))
        {
            if (TestFolderGroup(path) is { } single) return [single];
            files = Directory.GetFiles(path, "*.onnx").Order(StringComparer.Ordinal).ToArray();
            ModelGroup[] tests = Directory.GetDirectories(path).Select(TestFolderGroup).OfType<ModelGroup>().ToArray();
            if (files.Length == 0 && tests.Length == 0)
                throw new FileNotFoundException($"{path}: no .onnx files in this folder, nor test folders (model.onnx beside test_data_set_*)");
            if (files.Length == 0) return tests.OrderBy(g => g.Name, StringComparer.Ordinal).ToArray();
            return Group(path, files).Concat(tests).OrderBy(g => g.Name, StringComparer.Ordinal).ToArray();
        }
        if (File.Exists(path)) return Group(path, [path]);
        throw new FileNotFoundException($"{path}: no such file or folder", path);
    }

    /// <summary>The model of a test folder (<c>model.onnx</c> and its int8 sibling, named by the folder), or null when it is not one.</summary>
    private static ModelGroup? TestFolderGroup(string folder)
    {
        string model = Path.Combine(folder, "model.onnx");
        if (!File.Exists(model) || Directory.GetDirectories(folder, "test_data_set_*").Length == 0) return null;
        string int8 = Path.Combine(folder, "model" + Int8Suffix);
        return new ModelGroup(Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder))), model, File.Exists(int8) ? int8 : null)
        {
            TestFolder = folder,
        };
    }

    private static IReadOnlyList<ModelGroup> Group(string path, string[] files)
    {
        var groups = new SortedDictionary<string, (string? F, string? I)>(StringComparer.Ordinal);
        foreach (string f in files)
        {
            string stem = StemOf(f);
            (string? fp, string? i8) = groups.GetValueOrDefault(stem);
            groups[stem] = IsInt8(f) ? (fp, f) : (f, i8);
        }
        if (files.Length == 1 && File.Exists(path))
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
        bool int8Named = files.Length == 1 && File.Exists(path) && IsInt8(path);
        return groups.Select(g => new ModelGroup(Path.GetFileName(g.Key), g.Value.F, g.Value.I) { Int8Named = int8Named }).ToArray();
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
