using System.Buffers.Binary;
using System.IO.Compression;

namespace SpiKernel.Pipeline.Data;

/// <summary>Reads the IDX files of (Fashion-)MNIST, gzip-compressed or raw.</summary>
internal static class IdxReader
{
    /// <summary>Magic of an unsigned-byte, 3-dimensional IDX file (images).</summary>
    public const int ImagesMagic = 0x00000803;

    /// <summary>Magic of an unsigned-byte, 1-dimensional IDX file (labels).</summary>
    public const int LabelsMagic = 0x00000801;

    /// <summary>Reads an image file: returns (count, rows, columns, pixels).</summary>
    public static (int Count, int Rows, int Columns, byte[] Pixels) ReadImages(string path, Stream? stream = null)
    {
        byte[] data = ReadAll(path, stream);
        int[] dims = Header(path, data, ImagesMagic, 3, "images");
        long expected = (long)dims[0] * dims[1] * dims[2];
        CheckLength(path, data, 16, expected, $"{dims[0]} images of {dims[1]}×{dims[2]}");
        if (expected == 0) throw new DataFormatException(path, $"holds no images (its header says {dims[0]} of {dims[1]}×{dims[2]})");
        return (dims[0], dims[1], dims[2], data.AsSpan(16, (int)expected).ToArray());
    }

    /// <summary>Reads a label file.</summary>
    public static byte[] ReadLabels(string path, Stream? stream = null)
    {
        byte[] data = ReadAll(path, stream);
        int[] dims = Header(path, data, LabelsMagic, 1, "labels");
        CheckLength(path, data, 8, dims[0], $"{dims[0]} labels");
        return data.AsSpan(8, dims[0]).ToArray();
    }

    /// <summary>Reads a stream's bytes, un-gzipping when it starts with the gzip magic.</summary>
    public static byte[] ReadAll(string path, Stream? stream = null)
    {
        try
        {
            using Stream s = stream ?? File.OpenRead(path);
            using var buffer = new MemoryStream();
            s.CopyTo(buffer);
            byte[] raw = buffer.ToArray();
            if (raw.Length >= 2 && raw[0] == 0x1f && raw[1] == 0x8b)
            {
                using var gz = new GZipStream(new MemoryStream(raw), CompressionMode.Decompress);
                using var unpacked = new MemoryStream();
                gz.CopyTo(unpacked);
                return unpacked.ToArray();
            }
            return raw;
        }
        catch (FileNotFoundException)
        {
            throw new DataFormatException(path, "file not found");
        }
        catch (DirectoryNotFoundException)
        {
            throw new DataFormatException(path, "folder not found");
        }
        catch (InvalidDataException ex)
        {
            throw new DataFormatException(path, $"corrupt gzip data ({ex.Message})", ex);
        }
        catch (IOException ex) when (ex is not FileNotFoundException)
        {
            throw new DataFormatException(path, $"cannot be read ({ex.Message})", ex);
        }
    }

    private static int[] Header(string path, byte[] data, int magic, int dims, string what)
    {
        int headerBytes = 4 + 4 * dims;
        if (data.Length < headerBytes)
            throw new DataFormatException(path, $"truncated: {data.Length} bytes is shorter than the {headerBytes}-byte IDX {what} header");
        int got = BinaryPrimitives.ReadInt32BigEndian(data);
        if (got != magic)
            throw new DataFormatException(path, $"wrong magic number 0x{got:x8}; IDX {what} files start with 0x{magic:x8}");
        var result = new int[dims];
        for (int d = 0; d < dims; d++)
        {
            result[d] = BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(4 + 4 * d));
            if (result[d] < 0) throw new DataFormatException(path, $"negative dimension {result[d]} in the IDX header");
        }
        return result;
    }

    private static void CheckLength(string path, byte[] data, int header, long expected, string what)
    {
        long actual = data.LongLength - header;
        if (actual < expected)
            throw new DataFormatException(path, $"truncated: the header promises {what} ({expected} bytes) but only {actual} bytes follow");
        if (actual > expected)
            throw new DataFormatException(path, $"{actual - expected} unexpected bytes after {what}");
    }
}
