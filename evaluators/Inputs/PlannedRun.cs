using SpiKernel.Evaluators.Results;

namespace SpiKernel.Evaluators.Inputs;

/// <summary>One test data set a provider's outputs are compared on: its inputs and expected outputs, named as the model's.</summary>
/// <param name="Path">The set's folder or file.</param>
/// <param name="Inputs">Inputs, in the model's order.</param>
/// <param name="Outputs">Expected outputs.</param>
internal sealed record CheckSet(string Path, IReadOnlyList<HostTensor> Inputs, IReadOnlyList<HostTensor> Outputs);

/// <summary>
/// What one row of a model will be: a measurement at <paramref name="Batch"/> with the inputs to feed, or — when
/// <see cref="Refused"/> is set — a <c>skipped</c> or <c>failed</c> row with the reason, decided before any session
/// exists (a batch size the model cannot take, a symbolic dimension nobody gave).
/// </summary>
/// <param name="Batch">The row's batch size.</param>
/// <param name="BatchSource">Where the batch size comes from.</param>
internal sealed record PlannedRun(int Batch, BatchSource BatchSource)
{
    /// <summary>Skipped or failed without measuring; null for a measurement.</summary>
    public EvaluationStatus? Refused { get; init; }

    /// <summary>Why it is refused.</summary>
    public string Reason { get; init; } = "";

    /// <summary>What the model is fed.</summary>
    public InputSource Source { get; init; }

    /// <summary>Makes the inputs, in the model's order (called once per measurement; seeded values are made then).</summary>
    public Func<IReadOnlyList<HostTensor>> Inputs { get; init; } = () => [];

    /// <summary>The sets whose outputs are compared after timing; empty when there is nothing to compare.</summary>
    public IReadOnlyList<CheckSet> Checks { get; init; } = [];

    /// <summary>The test data set fed, when it is one.</summary>
    public string TestData { get; init; } = "";

    /// <summary>The seed of seeded inputs.</summary>
    public int? Seed { get; init; }

    /// <summary>What the row should say about its shapes (e.g. a batch size the model fixes).</summary>
    public string Note { get; init; } = "";

    /// <summary>A row refused with <paramref name="status"/> for <paramref name="reason"/>.</summary>
    public static PlannedRun Refuse(int batch, BatchSource source, EvaluationStatus status, string reason) =>
        new(batch, source) { Refused = status, Reason = reason };
}
