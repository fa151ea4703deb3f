using System.Text.Json;
using System.Text.Json.Serialization;
using SpiKernel.Core;

namespace SpiKernel.Pipeline.Stages;

/// <summary>
/// The record a finished stage leaves in its output folder (<c>.stage-NAME.json</c>): the stage, the identity of the
/// options it ran with (a canonical text of every setting that changes its outputs), the tool version and when. Written
/// atomically after every output, so its presence means the outputs are complete.
/// </summary>
/// <param name="Stage">Stage name.</param>
/// <param name="Identity">Canonical text of the options that shape the outputs.</param>
/// <param name="ToolVersion">SpiKernel.Onnx version.</param>
/// <param name="CompletedUtc">ISO 8601 UTC.</param>
public sealed record StageMarker(string Stage, string Identity, string ToolVersion, string CompletedUtc)
{
    private static JsonSerializerOptions Json => JsonFiles.Options;

    /// <summary>The marker's path for <paramref name="stage"/> in <paramref name="folder"/>.</summary>
    public static string PathIn(string folder, string stage) => Path.Combine(folder, $".stage-{stage}.json");

    /// <summary>Writes the marker of <paramref name="stage"/> with <paramref name="identity"/> into <paramref name="folder"/>.</summary>
    public static void Write(string folder, string stage, string identity)
    {
        var marker = new StageMarker(stage, identity, ToolInfo.Version, DateTime.UtcNow.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
        AtomicFile.WriteAllText(PathIn(folder, stage), JsonSerializer.Serialize(marker, Json) + Environment.NewLine);
    }

    /// <summary>True when <paramref name="folder"/> holds a marker of <paramref name="stage"/> with this identity.</summary>
    public static bool Matches(string folder, string stage, string identity)
    {
        string path = PathIn(folder, stage);
        if (!File.Exists(path)) return false;
        try
        {
            return JsonSerializer.Deserialize<StageMarker>(File.ReadAllText(path), Json)?.Identity == identity;
        }
        catch (JsonException)
        {
            return false; // a marker that does not parse marks nothing complete: the stage runs again
        }
    }

    /// <summary>Removes the marker (a stage about to rewrite its outputs is no longer complete).</summary>
    public static void Clear(string folder, string stage)
    {
        string path = PathIn(folder, stage);
        if (File.Exists(path)) File.Delete(path);
    }
}
