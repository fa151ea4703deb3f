using SpiKernel.Core;

namespace SpiKernel.Pipeline.Stages;

/// <summary>
/// One stage of the SpiKernel method as library code: an options record in, a result record out, one entry point.
/// A stage reads its inputs from where its options say and writes only into its own output folder, each file
/// atomically or row by row; when it finishes it records a <see cref="StageMarker"/> there, so a chain of stages
/// (<c>spikernel run</c>) can skip the ones already complete. Progress goes to one <see cref="IProgressObserver"/>.
/// </summary>
/// <typeparam name="TOptions">Everything the stage needs; an immutable record.</typeparam>
/// <typeparam name="TResult">What it produced; an immutable record.</typeparam>
public interface IStage<in TOptions, out TResult>
{
    /// <summary>The stage's name in markers, logs and progress (train, search, export, …).</summary>
    string Name { get; }

    /// <summary>
    /// True when the output folder of <paramref name="options"/> holds this stage's complete outputs for exactly
    /// these options (its marker is there and its identity matches).
    /// </summary>
    bool IsComplete(TOptions options);

    /// <summary>Runs the stage. Settings that cannot work throw <see cref="SettingsException"/>; unreadable inputs <see cref="InvalidDataException"/> or <see cref="IOException"/>.</summary>
    TResult Run(TOptions options, IProgressObserver progress, CancellationToken cancel);
}
