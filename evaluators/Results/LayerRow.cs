using CsvHelper.Configuration.Attributes;

namespace SpiKernel.Evaluators.Results;

/// <summary>
/// One row of the per-layer spike CSV (<c>RESULTS.layers.csv</c>): one LIF layer of one model × profile × precision,
/// from the <c>spike_counts</c> output over the test set.
/// </summary>
public sealed record LayerRow
{
    /// <summary>Model name.</summary>
    [Index(0), Name("model")]
    public string Model { get; init; } = "";

    /// <summary>The architecture's id; empty for models that are not SpiKernel exports.</summary>
    [Index(1), Name("candidate_id")]
    public string CandidateId { get; init; } = "";

    /// <summary>Profile name.</summary>
    [Index(2), Name("profile")]
    public string Profile { get; init; } = "";

    /// <summary>Weight storage.</summary>
    [Index(3), Name("precision")]
    public string Precision { get; init; } = "";

    /// <summary>Position of the layer in <c>spike_counts</c>.</summary>
    [Index(4), Name("layer_index")]
    public int LayerIndex { get; init; }

    /// <summary>Module path of the LIF layer.</summary>
    [Index(5), Name("layer")]
    public string Layer { get; init; } = "";

    /// <summary>Neurons per timestep (empty when the model does not record it).</summary>
    [Index(6), Name("neurons")]
    public long? Neurons { get; init; }

    /// <summary>Timesteps the layer ran per image: T, or T − 1 for a backward cell's feedback edge (never run on the last timestep).</summary>
    [Index(7), Name("timesteps")]
    public int Timesteps { get; init; }

    /// <summary>Mean spikes per sample over all timesteps.</summary>
    [Index(8), Name("spikes_per_sample")]
    public double SpikesPerSample { get; init; }

    /// <summary>Spikes per neuron per timestep (0–1).</summary>
    [Index(9), Name("firing_rate")]
    public double? FiringRate { get; init; }

    /// <summary>Synaptic operations one spike triggers.</summary>
    [Index(10), Name("fan_out")]
    public double? FanOut { get; init; }

    /// <summary>Mean synaptic operations per sample caused by this layer.</summary>
    [Index(11), Name("synops_per_sample")]
    public double? SynopsPerSample { get; init; }

    /// <summary>The measured file's <see cref="EvaluationRow.ModelSha256"/>: which file of that name the rows are of (empty in files of earlier versions).</summary>
    [Index(12), Name("model_sha256")]
    public string ModelSha256 { get; init; } = "";

    /// <summary>The accelerator the layers were counted on, as in <see cref="EvaluationRow.DeviceId"/> (0 for the CPU; empty in files of earlier versions, which match any device).</summary>
    [Index(13), Name("device_id")]
    public int? DeviceId { get; init; }

    /// <summary>Whether these layer rows are of the measurement <paramref name="row"/> (a row of an earlier version, without the hash or the device, by name alone).</summary>
    public bool Of(EvaluationRow row) =>
        row is not null && Model == row.Model && Profile == row.Profile && Precision == row.Precision && (DeviceId is null || DeviceId == row.DeviceId)
        && (ModelSha256.Length == 0 || ModelSha256 == row.ModelSha256);
}
