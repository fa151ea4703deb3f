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
/// <param name="Outputs">
/// The output files the stage left, by path relative to the marker's folder, each as <c>BYTES:SHA256:TICKS</c> (the
/// first 16 hex digits of the hash; the last write time, UTC ticks): the marker stands only while they are unchanged
/// (<see cref="Read"/>), so a file damaged, cut or deleted since makes the stage run again instead of passing as
/// complete. A file of the same length and time is taken as unchanged without being read (large weights are checked
/// on every resume); one copied since (a new time) is hashed. Null in markers of earlier versions and of stages that name none.
/// </param>
internal sealed record StageMarker(string Stage, string Identity, string ToolVersion, string CompletedUtc, string? Note = null,
    IReadOnlyDictionary<string, string>? Outputs = null)
{
    private static JsonSerializerOptions Json => JsonFiles.Options;

    /// <summary>The marker's path for <paramref name="stage"/> in <paramref name="folder"/>.</summary>
    public static string PathIn(string folder, string stage) => Path.Combine(folder, $".stage-{stage}.json");

    /// <summary>
    /// Writes the marker of <paramref name="stage"/> with <paramref name="identity"/> into <paramref name="folder"/>,
    /// recording the <paramref name="outputs"/> (paths; those that do not exist are left out) as they are now.
    /// </summary>
    public static void Write(string folder, string stage, string identity, string? note = null, IEnumerable<string>? outputs = null)
    {
        Dictionary<string, string>? files = outputs?.Where(File.Exists)
            .ToDictionary(f => Path.GetRelativePath(folder, f).Replace('\\', '/'), Fingerprint, StringComparer.Ordinal);
        var marker = new StageMarker(stage, Portable(folder, identity), ToolInfo.Version, DateTime.UtcNow.ToString("O", System.Globalization.CultureInfo.InvariantCulture), note,
            files is { Count: > 0 } ? files : null);
        AtomicFile.WriteAllText(PathIn(folder, stage), JsonSerializer.Serialize(marker, Json) + Environment.NewLine);
    }

    /// <summary>True when <paramref name="folder"/> holds a marker of <paramref name="stage"/> with this identity.</summary>
    public static bool Matches(string folder, string stage, string identity) => Read(folder, stage, identity) is not null;

    /// <summary>The marker of <paramref name="stage"/> in <paramref name="folder"/> when it has this identity and its outputs are unchanged; else null.</summary>
    public static StageMarker? Read(string folder, string stage, string identity) =>
        Of(folder, stage, identity) is { } marker && marker.OutputsUnchanged(folder) ? marker : null;

    /// <summary>
    /// Whether <paramref name="folder"/> holds a marker of <paramref name="stage"/> with this identity whose outputs have
    /// changed since it was written (damaged, cut or deleted): the unit was complete, and what it made is not there whole.
    /// </summary>
    public static bool OutputsChanged(string folder, string stage, string identity) => StateOf(folder, stage, identity) == State.Changed;

    /// <summary>Whether <paramref name="folder"/> holds a marker of this identity, and whether its outputs still stand (one look at them).</summary>
    public static State StateOf(string folder, string stage, string identity) =>
        Of(folder, stage, identity) is not { } marker ? State.Absent : marker.OutputsUnchanged(folder) ? State.Standing : State.Changed;

    /// <summary>What <see cref="StateOf"/> finds.</summary>
    public enum State
    {
        /// <summary>No marker of this identity.</summary>
        Absent,

        /// <summary>The marker, its outputs as it recorded them: the unit is complete.</summary>
        Standing,

        /// <summary>The marker, with outputs changed since (<see cref="OutputsChanged"/>).</summary>
        Changed,
    }

    // the marker when it has this identity, whatever became of its outputs
    private static StageMarker? Of(string folder, string stage, string identity)
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

    /// <summary>Whether every output the marker records is in <paramref name="folder"/> as it was when it was written.</summary>
    private bool OutputsUnchanged(string folder) => Outputs is null || Outputs.All(o =>
    {
        var file = new FileInfo(Path.Combine(folder, o.Key));
        string[] recorded = o.Value.Split(':');
        // the length first: a file cut short or grown differs there without being read
        if (!file.Exists || recorded.Length != 3 || recorded[0] != Text(file.Length)) return false;
        return recorded[2] == Text(file.LastWriteTimeUtc.Ticks) || Hash(file.FullName) == recorded[1];
    });

    private static string Fingerprint(string file) =>
        $"{Text(new FileInfo(file).Length)}:{Hash(file)}:{Text(File.GetLastWriteTimeUtc(file).Ticks)}";

    private static string Hash(string file)
    {
        using FileStream stream = File.OpenRead(file);
        return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(stream))[..16];
    }

    private static string Text(long n) => n.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Removes the marker (a stage about to rewrite its outputs is no longer complete).</summary>
    public static void Clear(string folder, string stage)
    {
        string path = PathIn(folder, stage);
        if (File.Exists(path)) File.Delete(path);
    }
}
