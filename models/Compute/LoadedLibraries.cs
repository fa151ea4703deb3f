namespace SpiKernel.Models.Compute;

/// <summary>The shared libraries this process has loaded (Linux: /proc/self/maps); empty elsewhere.</summary>
internal static class LoadedLibraries
{
    /// <summary>Every mapped file's path, in map order (repeated once per mapping).</summary>
    public static IReadOnlyList<string> Paths()
    {
        const string maps = "/proc/self/maps";
        if (!File.Exists(maps)) return [];
        var files = new List<string>();
        foreach (string line in File.ReadLines(maps))
        {
            int at = line.IndexOf('/');
            if (at >= 0) files.Add(line[at..]);
        }
        return files;
    }

    /// <summary>The path of the loaded library named <paramref name="fileName"/>, or null.</summary>
    public static string? Find(string fileName) => Find(Paths(), fileName);

    /// <summary>The path among <paramref name="paths"/> of the library named <paramref name="fileName"/>, or null.</summary>
    public static string? Find(IReadOnlyList<string> paths, string fileName) => paths.FirstOrDefault(f => Path.GetFileName(f) == fileName);
}
