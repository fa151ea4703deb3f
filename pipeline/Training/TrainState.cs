using System.Text.Json;
using SpiKernel.Core;

namespace SpiKernel.Pipeline.Training;

/// <summary>
/// <c>checkpoint.json</c>: what a run directory's checkpoint holds, so it can be resumed, exported or evaluated
/// without the command line that made it.
/// </summary>
internal sealed record TrainState
{
    /// <summary>Epochs completed and saved in <c>checkpoint.dat</c>.</summary>
    public int CompletedEpochs { get; init; }

    /// <summary>Epochs the run was asked for.</summary>
    public int TotalEpochs { get; init; }

    /// <summary>Architecture text (SnnArchitecture.ToString()).</summary>
    public string Architecture { get; init; } = "";

    /// <summary>The training options, as text; a resume must match it.</summary>
    public string Options { get; init; } = "";

    /// <summary>Where the data came from.</summary>
    public string DataSource { get; init; } = "";

    /// <summary>Training images before the validation split (null in checkpoints of earlier versions); a resume must match it.</summary>
    public int? TrainImages { get; init; }

    /// <summary>Torch threads the epochs ran on (null in checkpoints of earlier versions): the weights depend on it.</summary>
    public int? Threads { get; init; }

    /// <summary>Input normalisation mean per channel (of pixel/255).</summary>
    public float[] Mean { get; init; } = [];

    /// <summary>Input normalisation std per channel.</summary>
    public float[] Std { get; init; } = [];

    /// <summary>Class names by label.</summary>
    public string[] ClassNames { get; init; } = [];

    /// <summary>Validation accuracy after the last completed epoch (NaN without a validation split).</summary>
    public double ValAccuracy { get; init; } = double.NaN;

    /// <summary>Images of the validation split that accuracy is over (null in checkpoints before 2026-12-07).</summary>
    public int? ValCount { get; init; }

    /// <summary>
    /// Which of those images the last epoch got right, one bit each in order, base64 (null in checkpoints of earlier
    /// versions): what compares two networks validated on the same images pair by pair.
    /// </summary>
    public string? ValAnswers { get; init; }

    /// <summary>Test accuracy, once training finished.</summary>
    public double? TestAccuracy { get; init; }

    /// <summary>Correct test predictions, once training finished.</summary>
    public int? TestCorrect { get; init; }

    /// <summary>Test images.</summary>
    public int? TestCount { get; init; }

    /// <summary>
    /// Which convolution trained the spike layers: <c>spike-kernel</c> (the AVX-512 kernel) or <c>libtorch</c>; they
    /// sum in another order, so a resume on the other kind of machine is not bit-identical (null: not recorded).
    /// </summary>
    public string? Convolution { get; init; }

    /// <summary>Where a resume changed the number of epochs, and so the learning-rate schedule (none: one schedule throughout).</summary>
    public ScheduleChange[] ScheduleChanges { get; init; } = [];

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
        RespectNullableAnnotations = true, // "Options": null is a damaged file (one line, exit 1), not a crash later
    };

    /// <summary>The answers <see cref="ValAnswers"/> records for the <see cref="ValCount"/> images; null when not recorded, or not of that many.</summary>
    public bool[]? ValRight() => ValCount is { } n ? AnswerBits.Unpack(ValAnswers, n) : null;

    /// <summary>Writes the state atomically (temporary file, then rename).</summary>
    public void Save(string path)
    {
        Core.AtomicFile.WriteAllText(path, JsonSerializer.Serialize(this, Json)); // on disk, then renamed into place
    }

    /// <summary>Reads a state file; throws <see cref="InvalidDataException"/> naming the file when it is not one.</summary>
    public static TrainState Load(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<TrainState>(File.ReadAllText(path), Json)
                ?? throw new InvalidDataException($"{path}: empty checkpoint description");
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{path}: not a checkpoint description ({ex.Message})", ex);
        }
    }
}

/// <summary>A resume that changed the number of epochs: from <paramref name="FromEpoch"/> on, the cosine schedule is that of <paramref name="ToEpochs"/> epochs instead of <paramref name="FromEpochs"/>.</summary>
/// <param name="FromEpoch">The first epoch of the new schedule.</param>
/// <param name="FromEpochs">The total the epochs before it were scheduled for.</param>
/// <param name="ToEpochs">The new total.</param>
internal sealed record ScheduleChange(int FromEpoch, int FromEpochs, int ToEpochs);
