using System.Globalization;
using System.Text.Json;
using SpiKernel.Core;

namespace SpiKernel.Pipeline.ScaleOut;

/// <summary>
/// What a finished shard leaves in the run folder (<c>shards/STAGE/I-of-N.json</c>, written atomically after all its
/// outputs): which stage and shard, the fingerprint of the configuration it ran with, and the units it completed.
/// Its presence means that shard is done; the merge reads these records to name shards that are missing or stale.
/// </summary>
/// <param name="Stage">Stage name (search, train, export, evaluate).</param>
/// <param name="Index">Shard index.</param>
/// <param name="Count">Shard count.</param>
/// <param name="Fingerprint">Of the run's configuration, scale-out settings aside (<see cref="Run.RunConfigFile.Fingerprint"/>).</param>
/// <param name="Units">The units this shard owned, all complete (candidate ids).</param>
/// <param name="ToolVersion">SpiKernel.Onnx version.</param>
/// <param name="CompletedUtc">ISO 8601 UTC.</param>
internal sealed record ShardRecord(string Stage, int Index, int Count, string Fingerprint, IReadOnlyList<string> Units, string ToolVersion, string CompletedUtc)
{
    /// <summary>The folder of <paramref name="stage"/>'s records in run folder <paramref name="root"/>.</summary>
    public static string Folder(string root, string stage) => Path.Combine(root, "shards", stage);

    /// <summary>Records that <paramref name="shard"/> of <paramref name="stage"/> completed <paramref name="units"/>.</summary>
    public static void Write(string root, string stage, Shard shard, string fingerprint, IReadOnlyList<string> units)
    {
        string folder = Folder(root, stage);
        Directory.CreateDirectory(folder);
        var record = new ShardRecord(stage, shard.Index, shard.Count, fingerprint, units, ToolInfo.Version,
            DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture));
        AtomicFile.WriteAllText(Path.Combine(folder, shard.FileTag + ".json"), JsonSerializer.Serialize(record, JsonFiles.Options) + Environment.NewLine);
    }

    /// <summary>Every record of <paramref name="stage"/> in <paramref name="root"/>.</summary>
    public static IReadOnlyList<ShardRecord> ReadAll(string root, string stage)
    {
        string folder = Folder(root, stage);
        if (!Directory.Exists(folder)) return [];
        var records = new List<ShardRecord>();
        foreach (string file in Directory.GetFiles(folder, "*.json").Order(StringComparer.Ordinal))
        {
            try
            {
                records.Add(JsonSerializer.Deserialize<ShardRecord>(File.ReadAllText(file), JsonFiles.Options)
                            ?? throw new JsonException("empty"));
            }
            catch (JsonException ex)
            {
                throw new InvalidDataException($"{file}: not a shard record ({ex.Message}); delete it and rerun that shard");
            }
        }
        return records;
    }
}
