using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using SpiKernel.Core;

namespace SpiKernel.Pipeline.Run;

/// <summary>
/// Reads and writes <see cref="RunConfig"/> as JSON: snake_case keys, strict (an unknown key or a value of the wrong
/// type is one line naming the key), a file may hold only the keys it changes (the rest come from its preset).
/// run.json, the effective configuration, also records the tool version.
/// </summary>
public static class RunConfigFile
{
    private const string ToolKey = "spikernel_version";

    /// <summary>
    /// Keys added after run folders were first written, each with the value that keeps such a folder's behaviour: a
    /// run.json written without one reads it as that value (not the preset's), and the fingerprint leaves it out at that
    /// value, so an older run folder resumes as it ran.
    /// </summary>
    private static readonly (string Section, string Key, JsonNode? Legacy)[] Added =
    [
        ("kernel_study", "validation_images", null),
    ];

    private static readonly JsonSerializerOptions Json = new(JsonFiles.Options)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        NumberHandling = JsonNumberHandling.Strict,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping, // architecture text keeps its quotes readable
    };

    /// <summary>
    /// The configuration in <paramref name="path"/> laid over its preset (the file's <c>preset</c> key, else
    /// <paramref name="preset"/>). Throws <see cref="SettingsException"/> naming the file and key for bad content.
    /// </summary>
    public static RunConfig Load(string path, string? preset = null)
    {
        if (Directory.Exists(path)) throw new FileNotFoundException($"{path}: is a folder, not a configuration file", path);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such configuration file", path);
        return Parse(File.ReadAllText(path), path, preset);
    }

    /// <summary>
    /// The run.json of run folder <paramref name="folder"/>. It is the run's own record, not a setting the user gave:
    /// missing, or not what this tool writes, is bad input (<see cref="InvalidDataException"/>), as a corrupt data file is.
    /// </summary>
    public static RunConfig LoadOfRun(string folder, string missing = "no run.json (not a run folder)")
    {
        string json = Path.Combine(folder, "run.json");
        if (!File.Exists(json)) throw new InvalidDataException($"{folder}: {missing}");
        try
        {
            return Parse(File.ReadAllText(json), json, preset: null, record: true);
        }
        catch (SettingsException ex)
        {
            throw new InvalidDataException($"{ex.Message} (the run folder's own record: restore it, or start the run again in a new folder)", ex);
        }
    }

    /// <summary>As <see cref="Load"/>, from text; <paramref name="source"/> names it in messages.</summary>
    public static RunConfig Parse(string text, string source, string? preset = null) => Parse(text, source, preset, record: false);

    // record: the text is a run.json this tool wrote (every key of its version), whose missing keys are ones added since
    private static RunConfig Parse(string text, string source, string? preset, bool record)
    {
        JsonObject user;
        try
        {
            // a key given twice is refused: which of the two values a run took would depend on the parser
            var document = new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true, AllowDuplicateProperties = false };
            user = JsonNode.Parse(text, documentOptions: document) as JsonObject
                ?? throw new SettingsException($"{source}: a run configuration is a JSON object");
        }
        catch (JsonException ex) when (DuplicateKey(ex) is { } key)
        {
            throw new SettingsException($"{source}: the key '{key}' is given twice in one object; keep one");
        }
        catch (JsonException ex)
        {
            throw new SettingsException($"{source}: not valid JSON ({ex.Message})");
        }
        user.Remove(ToolKey);
        if (record)
            foreach ((string section, string key, JsonNode? legacy) in Added)
                if (user[section] is JsonObject written && !written.ContainsKey(key)) written[key] = legacy?.DeepClone();
        string name = user["preset"] is JsonValue v && v.TryGetValue(out string? p) ? p : preset ?? RunPresets.Quick;
        JsonObject merged;
        try
        {
            merged = ToNode(RunPresets.Get(name));
        }
        catch (SettingsException ex)
        {
            throw new SettingsException($"{source}: {ex.Message}");
        }
        Overlay(merged, user);
        try
        {
            return merged.Deserialize<RunConfig>(Json) ?? throw new SettingsException($"{source}: empty configuration");
        }
        catch (JsonException ex)
        {
            string key = (ex.Path ?? "").TrimStart('$', '.');
            string what = ex.Message.Contains("could not be mapped", StringComparison.Ordinal)
                ? $"unknown key '{Join(key, UnknownKey(ex.Message))}'"
                : $"wrong type for '{key}'";
            throw new SettingsException($"{source}: {what} (see docs/run.md for the keys and their types)");
        }
    }

    // System.Text.Json's "Duplicate property 'NAME' encountered during deserialization." (no path is given)
    private static string? DuplicateKey(JsonException ex) =>
        ex.Message.StartsWith("Duplicate property '", StringComparison.Ordinal) && ex.Message.IndexOf('\'', 20) is > 20 and var end ? ex.Message[20..end] : null;

    /// <summary>The JSON text of <paramref name="config"/> (with the tool version when <paramref name="withVersion"/>).</summary>
    public static string Format(RunConfig config, bool withVersion = false)
    {
        JsonObject node = ToNode(config);
        if (withVersion) node.Insert(0, ToolKey, ToolInfo.Version);
        return node.ToJsonString(Json) + Environment.NewLine;
    }

    /// <summary>
    /// A short hash of everything in <paramref name="config"/> that shapes results (scale-out settings aside): shards of
    /// one run carry it, so a shard made under another configuration is recognised before it is merged.
    /// </summary>
    public static string Fingerprint(RunConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        // nor what only the ranking reads: changed on a resume, it re-ranks without making any shard another run's
        JsonObject node = ToNode(config with
        {
            ScaleOut = new ScaleOutConfig(), Ranking = new RankingConfig(), Target = config.Target with { MinAccuracy = null },
        });
        foreach ((string section, string key, JsonNode? legacy) in Added) // as the versions before the key wrote it
            if (node[section] is JsonObject inner && JsonNode.DeepEquals(inner[key], legacy)) inner.Remove(key);
        byte[] text = System.Text.Encoding.UTF8.GetBytes(node.ToJsonString(Json) + Environment.NewLine);
        return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(text))[..16];
    }

    /// <summary>Writes run.json atomically.</summary>
    public static void Save(RunConfig config, string path) => AtomicFile.WriteAllText(path, Format(config, withVersion: true));

    /// <summary>
    /// Whether dotted key <paramref name="key"/> is read by the rank step alone (constraints, objectives, the accuracy
    /// bound), so a resume may change it: the run ranks again, nothing before is redone.
    /// </summary>
    public static bool RankingOnly(string key) =>
        key.StartsWith("ranking.", StringComparison.Ordinal) || key == "target.min_accuracy";

    /// <summary>The dotted keys whose values differ between two configurations (e.g. <c>training.epochs</c>), in key order.</summary>
    public static IReadOnlyList<string> Differences(RunConfig a, RunConfig b)
    {
        Dictionary<string, string> x = Flatten(ToNode(a)), y = Flatten(ToNode(b));
        return x.Keys.Union(y.Keys).Where(k => x.GetValueOrDefault(k) != y.GetValueOrDefault(k)).Order(StringComparer.Ordinal).ToArray();
    }

    private static JsonObject ToNode(RunConfig config) => (JsonObject)JsonSerializer.SerializeToNode(config, Json)!;

    private static void Overlay(JsonObject target, JsonObject source)
    {
        foreach ((string key, JsonNode? value) in source.ToArray())
        {
            if (value is JsonObject inner && target[key] is JsonObject existing) Overlay(existing, inner);
            else target[key] = value?.DeepClone();
        }
    }

    private static Dictionary<string, string> Flatten(JsonObject node, string prefix = "")
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach ((string key, JsonNode? value) in node)
        {
            string name = prefix + key;
            if (value is JsonObject inner)
                foreach ((string k, string v) in Flatten(inner, name + ".")) result[k] = v;
            else result[name] = value?.ToJsonString() ?? "null";
        }
        return result;
    }

    private static string UnknownKey(string message)
    {
        // System.Text.Json: "The JSON property 'NAME' could not be mapped to any .NET member contained in type '…'."
        int start = message.IndexOf('\'', StringComparison.Ordinal), end = start < 0 ? -1 : message.IndexOf('\'', start + 1);
        return end > start ? message[(start + 1)..end] : "";
    }

    private static string Join(string path, string name) =>
        path.Length == 0 || path.EndsWith(name, StringComparison.Ordinal) ? (path.Length == 0 ? name : path) : $"{path}.{name}";
}
