using System.Buffers.Binary;
using System.Text.Json;
using SpiKernel.Core;

namespace SpiKernel.Evaluators.Measurement;

/// <summary>
/// Test images on disk where no dataset reader is at hand (the evaluator bundle): a folder with <c>images.idx</c>
/// (IDX, unsigned bytes, dimensions N×C×H×W), <c>labels.idx</c> (IDX, N labels, 32-bit big-endian) and
/// <c>name.json</c>. IDX is the format of the MNIST files, readable by numpy in a few lines.
/// </summary>
public static class LabelledImagesFile
{
    private const int UnsignedByte = 0x08, Int32 = 0x0C;

    /// <summary>Writes <paramref name="images"/> into <paramref name="folder"/> (created), each file atomically.</summary>
    public static void Save(LabelledImages images, string folder)
    {
        ArgumentNullException.ThrowIfNull(images);
        Directory.CreateDirectory(folder);
        AtomicFile.Write(Path.Combine(folder, "images.idx"), s => WriteIdx(s, UnsignedByte, [images.Count, images.Channels, images.Height, images.Width], images.Pixels));
        var labels = new byte[images.Count * 4];
        for (int i = 0; i < images.Count; i++) BinaryPrimitives.WriteInt32BigEndian(labels.AsSpan(i * 4), images.Labels[i]);
        AtomicFile.Write(Path.Combine(folder, "labels.idx"), s => WriteIdx(s, Int32, [images.Count], labels));
        AtomicFile.WriteAllText(Path.Combine(folder, "name.json"), JsonSerializer.Serialize(new { name = images.Name }) + Environment.NewLine);
    }

    /// <summary>Reads a folder written by <see cref="Save"/>; a damaged file is an <see cref="InvalidDataException"/> naming it.</summary>
    public static LabelledImages Load(string folder)
    {
        string imagesPath = Path.Combine(folder, "images.idx"), labelsPath = Path.Combine(folder, "labels.idx");
        (int[] dims, byte[] pixels) = ReadIdx(imagesPath, UnsignedByte);
        (int[] count, byte[] raw) = ReadIdx(labelsPath, Int32);
        if (dims.Length != 4) throw new InvalidDataException($"{imagesPath}: expected N×C×H×W images, found {dims.Length} dimensions");
        if (count.Length != 1 || count[0] != dims[0]) throw new InvalidDataException($"{labelsPath}: {string.Join('×', count)} labels for {dims[0]} images");
        int[] labels = new int[dims[0]];
        for (int i = 0; i < labels.Length; i++) labels[i] = BinaryPrimitives.ReadInt32BigEndian(raw.AsSpan(i * 4));
        if (Array.FindIndex(labels, l => l < 0) is var bad and >= 0) throw new InvalidDataException($"{labelsPath}: label {labels[bad]} of image {bad} is negative");
        string name = folder;
        string namePath = Path.Combine(folder, "name.json");
        if (File.Exists(namePath))
        {
            try
            {
                name = JsonDocument.Parse(File.ReadAllText(namePath)).RootElement.GetProperty("name").GetString() ?? folder;
            }
            catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
            {
                throw new InvalidDataException($"{namePath}: not a name file ({ex.Message})");
            }
        }
        return new LabelledImages(name, pixels, labels, dims[1], dims[2], dims[3]);
    }

    private static void WriteIdx(Stream stream, int type, int[] dims, byte[] data)
    {
        var header = new byte[4 + 4 * dims.Length];
        header[2] = (byte)type;
        header[3] = (byte)dims.Length;
        for (int d = 0; d < dims.Length; d++) BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4 + 4 * d), dims[d]);
        stream.Write(header);
        stream.Write(data);
    }

    private static (int[] Dims, byte[] Data) ReadIdx(string path, int type)
    {
        byte[] bytes = File.Exists(path) ? File.ReadAllBytes(path) : throw new FileNotFoundException($"{path}: missing", path);
        if (bytes.Length < 4 || bytes[0] != 0 || bytes[1] != 0 || bytes[2] != type || bytes[3] is 0 or > 8)
            throw new InvalidDataException($"{path}: not an IDX file of {(type == UnsignedByte ? "unsigned bytes" : "32-bit integers")}");
        int rank = bytes[3], offset = 4 + 4 * rank;
        if (bytes.Length < offset) throw new InvalidDataException($"{path}: truncated header");
        int[] dims = Enumerable.Range(0, rank).Select(d => BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(4 + 4 * d))).ToArray();
        long expected = dims.Aggregate(1L, (a, b) => a * b) * (type == UnsignedByte ? 1 : 4);
        if (dims.Any(d => d < 0) || bytes.Length - offset != expected)
            throw new InvalidDataException($"{path}: {bytes.Length - offset} data bytes for dimensions {string.Join('×', dims)}");
        return (dims, bytes[offset..]);
    }
}
