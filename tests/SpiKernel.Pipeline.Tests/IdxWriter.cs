using System.Buffers.Binary;
using System.IO.Compression;

namespace SpiKernel.Pipeline.Tests;

/// <summary>Writes IDX files in the exact (Fashion-)MNIST format for reader tests.</summary>
public static class IdxWriter
{
    public static byte[] Images(int count, int rows, int cols, Func<int, int, byte> pixel, int magic = 0x803)
    {
        var data = new byte[16 + count * rows * cols];
        BinaryPrimitives.WriteInt32BigEndian(data, magic);
        BinaryPrimitives.WriteInt32BigEndian(data.AsSpan(4), count);
        BinaryPrimitives.WriteInt32BigEndian(data.AsSpan(8), rows);
        BinaryPrimitives.WriteInt32BigEndian(data.AsSpan(12), cols);
        for (int i = 0; i < count; i++)
            for (int p = 0; p < rows * cols; p++)
                data[16 + i * rows * cols + p] = pixel(i, p);
        return data;
    }

    public static byte[] Labels(byte[] labels, int magic = 0x801)
    {
        var data = new byte[8 + labels.Length];
        BinaryPrimitives.WriteInt32BigEndian(data, magic);
        BinaryPrimitives.WriteInt32BigEndian(data.AsSpan(4), labels.Length);
        labels.CopyTo(data, 8);
        return data;
    }

    public static void Write(string path, byte[] data, bool gzip)
    {
        if (!gzip)
        {
            File.WriteAllBytes(path, data);
            return;
        }
        using var f = File.Create(path);
        using var gz = new GZipStream(f, CompressionLevel.Fastest);
        gz.Write(data);
    }

    /// <summary>A Fashion-MNIST-shaped folder with <paramref name="train"/> and <paramref name="test"/> images of 28×28.</summary>
    public static void FashionMnistFolder(string dir, int train, int test, bool gzip)
    {
        string ext = gzip ? ".gz" : "";
        foreach ((string prefix, int n) in new[] { ("train", train), ("t10k", test) })
        {
            Write(Path.Combine(dir, $"{prefix}-images-idx3-ubyte{ext}"), Images(n, 28, 28, (i, p) => (byte)((i * 7 + p) % 256)), gzip);
            Write(Path.Combine(dir, $"{prefix}-labels-idx1-ubyte{ext}"), Labels(Enumerable.Range(0, n).Select(i => (byte)(i % 10)).ToArray()), gzip);
        }
    }
}
