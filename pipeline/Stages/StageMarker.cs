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
/// <param name="Note">What a marker of an outcome other than success records of it (why a training diverged); null otherwise.</param>
internal sealed record StageMarker(string Stage, string Identity, string ToolVersion, string CompletedUtc, string? Note = null)
{
    private static JsonSerializerOptions Json => JsonFiles.Options;

    /// <summary>The marker's path for <paramref name="stage"/> in <paramref name="folder"/>.</summary>
    public static string PathIn(string folder, string stage) => Path.Combine(folder, $".stage-{stage}.json");

    /// <summary>Writes the marker of <paramref name="stage"/> with <paramref name="identity"/> into <paramref name="folder"/>.</summary>
    public static void Write(string folder, string stage, string identity, string? note = null)
    {
        var marker = new StageMarker(stage, Portable(folder, identity), ToolInfo.Version, DateTime.UtcNow.ToString("O", System.Globalization.CultureInfo.InvariantCulture), note);
        AtomicFile.WriteAllText(PathIn(folder, stage), JsonSerializer.Serialize(marker, Json) + Environment.NewLine);
    }

    /// <summary>True when <paramref name="folder"/> holds a marker of <paramref name="stage"/> with this identity.</summary>
    public static bool Matches(string folder, string stage, string identity) => Read(folder, stage, identity) is not null;

    /// <summary>The marker of <paramref name="stage"/> in <paramref name="folder"/> when it has this identity; else null.</summary>
    public static StageMarker? Read(string folder, string stage, string identity)
    {
        string path = PathIn(folder, stage);
        if (!File.Exists(path)) return null;
        try
        {
            StageMarker? marker = JsonSerializer.Deserialize<StageMarker>(File.ReadAllText(path), Json);
            return marker?.Identity == Portable(folder, identity) || marker?.Identity == identity ? marker : null; // the second: markers of earlier versions
        }
        catch (JsonException)
        {
            return null; // a marker that does not parse marks nothing complete: the stage runs again
        }
    }

    /// <summary>
    /// <paramref name="identity"/> with the marker folder's absolute path written <c>{here}</c> and its parent's
    /// <c>{up}</c> (whole paths only): a run folder that is moved or copied, or that a cluster's nodes see under another
    /// path, keeps its completed stages (an export's checkpoint in <c>{up}/train/…</c>, an evaluation's
    /// <c>{here}/models</c>). Paths elsewhere (data folders) stay absolute.
    /// </summary>
    internal static string Portable(string folder, string identity)
    {
        string here = Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder));
        string text = WholePath(here).Replace(identity, "{here}");
        string? up = Path.GetDirectoryName(here);
        return up is null || Path.GetDirectoryName(up) is null ? text : WholePath(up).Replace(text, "{up}"); // never the file system's root
    }

    // the path where it is a whole path: at the start of a value (after "key=", a comma or a space) and followed by a
    // separator, the end, or what the identities put after one
    private static System.Text.RegularExpressions.Regex WholePath(string path) =>
        new(@"(?<=^|[\s=,;])" + System.Text.RegularExpressions.Regex.Escape(path) + @"(?=[/\\\s@,;]|$)", System.Text.RegularExpressions.RegexOptions.CultureInvariant);

    /// <summary>Removes the marker (a stage about to rewrite its outputs is no longer complete).</summary>
    public static void Clear(string folder, string stage)
    {
        string path = PathIn(folder, stage);
        if (File.Exists(path)) File.Delete(path);
    }
}
