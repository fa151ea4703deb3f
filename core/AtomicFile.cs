using System.Runtime.InteropServices;

namespace SpiKernel.Core;

/// <summary>
/// Writes a file so that it is either complete or absent: the content goes to a temporary file in the same folder,
/// is flushed to disk, and is then renamed over the target, and the folder is flushed so that the rename survives a
/// power cut too. A crash leaves at most a stray <c>*.tmp-*</c> file.
/// </summary>
public static class AtomicFile
{
    /// <summary>Writes <paramref name="path"/> with what <paramref name="write"/> puts in the stream.</summary>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(write);
        string full = Path.GetFullPath(path);
        string tmp = $"{full}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
        try
        {
            using (var stream = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
            SyncFolder(Path.GetDirectoryName(full)!);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }

    /// <summary>
    /// Flushes folder <paramref name="dir"/> itself to disk (Linux: fsync of the folder), so that renames and new files in
    /// it are durable, not only their contents; where that cannot be done it does nothing, as before it existed.
    /// </summary>
    public static void SyncFolder(string dir)
    {
        ArgumentNullException.ThrowIfNull(dir);
        if (!OperatingSystem.IsLinux()) return;
        try
        {
            int fd = Open(dir, 0); // O_RDONLY opens a folder on Linux, whatever O_DIRECTORY's value on this architecture
            if (fd < 0) return;
            try
            {
                _ = Fsync(fd);
            }
            finally
            {
                _ = Close(fd);
            }
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // not glibc: the content is on disk, the rename as durable as the file system makes it
        }
    }

    [DllImport("libc", EntryPoint = "open", ExactSpelling = true)]
    private static extern int Open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc", EntryPoint = "fsync", ExactSpelling = true)]
    private static extern int Fsync(int fd);

    [DllImport("libc", EntryPoint = "close", ExactSpelling = true)]
    private static extern int Close(int fd);

    /// <summary>Writes <paramref name="text"/> (UTF-8) to <paramref name="path"/> atomically.</summary>
    public static void WriteAllText(string path, string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        Write(path, s =>
        {
            using var w = new StreamWriter(s, leaveOpen: true);
            w.Write(text);
        });
    }

    /// <summary>Writes <paramref name="bytes"/> to <paramref name="path"/> atomically.</summary>
    public static void WriteAllBytes(string path, byte[] bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        Write(path, s => s.Write(bytes));
    }
}
