using System.Text.Json;

namespace SpiKernel.Core;

/// <summary>The one JSON convention of the files the tool writes (stage markers, run.json, predictor manifests): snake_case keys, indented.</summary>
public static class JsonFiles
{
    /// <summary>Serializer options of that convention (read-only once used; copy them to add settings).</summary>
    public static JsonSerializerOptions Options { get; } = ReadOnly(new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        RespectNullableAnnotations = true, // a null where the type has none is a damaged file (JsonException), not a crash later
    });

    // shared by every project: frozen, so no caller can change how the others read and write
    private static JsonSerializerOptions ReadOnly(JsonSerializerOptions options)
    {
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }
}
