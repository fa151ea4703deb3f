using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace SpiKernel.Evaluators.Inputs;

/// <summary>
/// Reads numpy's <c>.npy</c> arrays (format versions 1–3, C order, any byte order) and <c>.npz</c> archives of them
/// (<c>np.savez</c>, compressed or not). A <c>.npy</c> tensor is named by its file (<c>x.npy</c> → <c>x</c>), an
/// array in a <c>.npz</c> by its key.
/// </summary>
internal static partial class NpyReader
{
    private static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>The array in a <c>.npy</c> file.</summary>
    public static HostTensor ReadNpy(string path)
    {
        using FileStream stream = File.OpenRead(path);
        return Read(stream, Path.GetFileNameWithoutExtension(path), path);
    }

    /// <summary>The arrays in a <c>.npz</c> file, in archive order.</summary>
    public static IReadOnlyList<HostTensor> ReadNpz(string path)
    {
        try
        {
            using ZipArchive zip = ZipFile.OpenRead(path);
            var tensors = new List<HostTensor>();
            foreach (ZipArchiveEntry entry in zip.Entries.Where(e => e.FullName.EndsWith(".npy", StringComparison.Ordinal)))
            {
                using Stream s = entry.Open();
                tensors.Add(Read(s, entry.FullName[..^".npy".Length], $"{path}:{entry.FullName}"));
            }
            if (tensors.Count == 0) throw new InvalidDataException($"{path}: no .npy arrays in the archive");
            return tensors;
        }
        catch (InvalidDataException ex) when (!ex.Message.StartsWith(path, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"{path}: not an .npz archive ({ex.Message.TrimEnd('.')})", ex);
        }
    }

    private static HostTensor Read(Stream stream, string name, string where)
    {
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        ReadOnlySpan<byte> bytes = buffer.GetBuffer().AsSpan(0, (int)buffer.Length);
        if (bytes.Length < 10 || !bytes[..6].SequenceEqual(Magic)) throw Bad(where, "not a .npy array (no \\x93NUMPY magic)");
        int major = bytes[6];
        if (major is < 1 or > 3) throw Bad(where, $"format version {major} (1, 2 and 3 are read)");
        int start = major == 1 ? 10 : 12;
        if (bytes.Length < start) throw Bad(where, "the header is cut short");
        long headerLength = major == 1 ? BinaryPrimitives.ReadUInt16LittleEndian(bytes[8..]) : BinaryPrimitives.ReadUInt32LittleEndian(bytes[8..]);
        if (start + headerLength > bytes.Length) throw Bad(where, "the header is cut short");
        string header = Encoding.UTF8.GetString(bytes.Slice(start, (int)headerLength));

        Match descr = Descr().Match(header), shapeText = ShapeTuple().Match(header);
        if (!descr.Success || !shapeText.Success) throw Bad(where, $"unreadable header '{header.Trim()}'");
        if (FortranOrder().IsMatch(header)) throw Bad(where, "the array is in Fortran order; save it with np.ascontiguousarray");
        char order = descr.Groups[1].Value.Length > 0 ? descr.Groups[1].Value[0] : '|';
        TensorElementType type = TypeOf(descr.Groups[2].Value) ?? throw Bad(where, $"numpy type '{descr.Groups[2].Value}' is not supported (bool, int, uint and float arrays are)");
        long[] shape = shapeText.Groups[1].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(d => long.TryParse(d.TrimEnd('L'), NumberStyles.None, CultureInfo.InvariantCulture, out long v) ? v : throw Bad(where, $"shape ({shapeText.Groups[1].Value}): '{d}' is not a size"))
            .ToArray();

        int size = TensorElements.Size(type);
        long needed;
        try
        {
            needed = checked(HostTensor.Elements(shape) * size);
        }
        catch (OverflowException)
        {
            throw Bad(where, $"shape ({string.Join(", ", shape)}) is too large");
        }
        ReadOnlySpan<byte> body = bytes[(int)(start + headerLength)..];
        if (body.Length < needed) throw Bad(where, $"{body.Length} bytes of data for shape ({string.Join(", ", shape)}), which needs {needed}");
        byte[] data = body[..(int)needed].ToArray();
        if (order == '>' && size > 1)
            for (int i = 0; i < data.Length; i += size) Array.Reverse(data, i, size);
        return new HostTensor(name, type, shape, data);
    }

    private static TensorElementType? TypeOf(string code) => code switch
    {
        "b1" => TensorElementType.Bool,
        "u1" => TensorElementType.UInt8,
        "i1" => TensorElementType.Int8,
        "u2" => TensorElementType.UInt16,
        "i2" => TensorElementType.Int16,
        "f2" => TensorElementType.Float16,
        "u4" => TensorElementType.UInt32,
        "i4" => TensorElementType.Int32,
        "f4" => TensorElementType.Float,
        "u8" => TensorElementType.UInt64,
        "i8" => TensorElementType.Int64,
        "f8" => TensorElementType.Double,
        _ => null,
    };

    private static InvalidDataException Bad(string where, string what) => new($"{where}: {what}");

    [GeneratedRegex(@"'descr'\s*:\s*'([<>|=]?)([a-z]\d+)'")]
    private static partial Regex Descr();

    [GeneratedRegex(@"'shape'\s*:\s*\(([^)]*)\)")]
    private static partial Regex ShapeTuple();

    [GeneratedRegex(@"'fortran_order'\s*:\s*True")]
    private static partial Regex FortranOrder();
}
