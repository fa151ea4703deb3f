namespace SpiKernel.Core;

/// <summary>
/// Which images a classifier got right, one bit per image in their order (image i is bit i % 8 of byte i / 8), as
/// base64: how a checkpoint's validation answers and a results row's test answers are stored, so that two classifiers
/// scored on the same images can be compared image by image (McNemar's test) rather than by their counts alone.
/// </summary>
public static class AnswerBits
{
    /// <summary><paramref name="right"/> packed.</summary>
    public static string Pack(IReadOnlyList<bool> right)
    {
        ArgumentNullException.ThrowIfNull(right);
        var bytes = new byte[(right.Count + 7) / 8];
        for (int i = 0; i < right.Count; i++)
            if (right[i]) bytes[i / 8] |= (byte)(1 << (i % 8));
        return Convert.ToBase64String(bytes);
    }

    /// <summary>The answers of <paramref name="count"/> images in <paramref name="packed"/>; null when absent, damaged or of another count.</summary>
    public static bool[]? Unpack(string? packed, int count)
    {
        if (packed is null || count < 0) return null;
        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(packed);
        }
        catch (FormatException)
        {
            return null; // a damaged record: no paired comparison, nothing else lost
        }
        return bytes.Length == (count + 7) / 8 ? Enumerable.Range(0, count).Select(i => (bytes[i / 8] >> (i % 8) & 1) == 1).ToArray() : null;
    }
}
