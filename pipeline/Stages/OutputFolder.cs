namespace SpiKernel.Pipeline.Stages;

/// <summary>Checks that outputs can be written before any work starts, so a long run never fails at its end.</summary>
internal static class OutputFolder
{
    /// <summary>Creates <paramref name="dir"/> if needed and proves it writable; throws <see cref="IOException"/> naming it.</summary>
    public static void EnsureWritable(string dir)
    {
        ArgumentNullException.ThrowIfNull(dir);
        if (Ancestor(Path.GetFullPath(dir)) is { } file) throw new IOException(file == Path.GetFullPath(dir) ? $"{dir}: is a file, not a folder" : $"{dir}: {file} is a file, not a folder");
        try
        {
            Directory.CreateDirectory(dir);
            string probe = Path.Combine(dir, $".write-test-{Guid.NewGuid():N}");
            File.WriteAllText(probe, "");
            File.Delete(probe);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"{dir}: cannot write the output folder ({ex.Message})", ex);
        }
    }

    /// <summary>
    /// Proves the folder of file <paramref name="path"/> exists (or, with <paramref name="createFolder"/>, creates it)
    /// and is writable, and that the path is not a folder.
    /// </summary>
    public static void EnsureWritableFile(string path, bool createFolder = false)
    {
        ArgumentNullException.ThrowIfNull(path);
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null && Ancestor(dir) is { } file)
            throw new IOException($"{path}: {file} is a file, not a folder");
        if (dir is null || (!createFolder && !Directory.Exists(dir)))
            throw new IOException($"{path}: the folder {dir} does not exist");
        EnsureWritable(dir);
        if (Directory.Exists(path)) throw new IOException($"{path}: is a folder, not a file name");
    }

    // the nearest existing path at or above dir, when it is a file (/etc/passwd of /etc/passwd/x.csv)
    private static string? Ancestor(string dir)
    {
        for (string? d = dir; d is not null; d = Path.GetDirectoryName(d))
            if (Directory.Exists(d)) return null;
            else if (File.Exists(d)) return d;
        return null;
    }
}
