using System.Security.Cryptography;
using System.Text;

namespace SpiKernel.Core;

/// <summary>
/// The short, stable id of an architecture: the first 12 hex digits of the SHA-256 of its canonical text
/// (<c>SnnArchitecture.ToString()</c>, UTF-8). The same id joins <c>candidates.csv</c>, <c>metrics.csv</c>,
/// <c>results.csv</c>, the per-layer CSV and the ONNX metadata (<see cref="MetadataKeys.CandidateId"/>).
/// </summary>
public static class CandidateId
{
    /// <summary>Hex digits kept: 48 bits, no collision among millions of candidates in practice.</summary>
    public const int Length = 12;

    /// <summary>The id of <paramref name="canonicalText"/>.</summary>
    public static string Of(string canonicalText)
    {
        ArgumentNullException.ThrowIfNull(canonicalText);
        byte[] hash = SHA256.HashData(Encoding.UTF8.GetBytes(canonicalText));
        return Convert.ToHexStringLower(hash)[..Length];
    }
}
