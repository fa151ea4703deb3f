using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace SpiKernel.Evaluators.Tests;

/// <summary>Writes numpy's .npy format (version 1.0) and .npz archives, as np.save and np.savez do.</summary>
internal static class NpyFiles
{
    public static byte[] Npy(string descr, long[] shape, byte[] data)
    {
        string dims = shape.Length == 1 ? $"({shape[0]},)" : $"({string.Join(", ", shape.Select(d => d.ToString(CultureInfo.InvariantCulture)))})";
        string header = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': {dims}, }}";
        int total = 10 + header.Length + 1;
        header = header.PadRight(header.Length + (64 - total % 64) % 64) + "\n";
        using var s = new MemoryStream();
        s.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0]);
        var len = new byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(len, (ushort)header.Length);
        s.Write(len);
        s.Write(Encoding.ASCII.GetBytes(header));
        s.Write(data);
        return s.ToArray();
    }

    public static void Npz(string path, params (string Name, byte[] Npy)[] arrays)
    {
        using ZipArchive zip = ZipFile.Open(path, ZipArchiveMode.Create);
        foreach ((string name, byte[] npy) in arrays)
        {
            using Stream e = zip.CreateEntry(name + ".npy", CompressionLevel.Optimal).Open();
            e.Write(npy);
        }
    }

    /// <summary>float32 values as float64 little-endian bytes (numpy's default dtype).</summary>
    public static byte[] AsFloat64(ReadOnlySpan<byte> float32)
    {
        var data = new byte[float32.Length * 2];
        for (int i = 0; i < float32.Length / 4; i++)
            BinaryPrimitives.WriteDoubleLittleEndian(data.AsSpan(i * 8), BinaryPrimitives.ReadSingleLittleEndian(float32[(i * 4)..]));
        return data;
    }
}
