using SpiKernel.Pipeline.Training;
using Spectre.Console;

namespace SpiKernel.Pipeline.Cli;

/// <summary>Draws training progress as a Spectre.Console bar (steps, ETA, images/s) and prints one line per epoch.</summary>
public sealed class ProgressObserver(ProgressContext context) : ITrainingObserver
{
    private ProgressTask? _task;
    private int _epochs;

    /// <inheritdoc />
    public void Started(int firstEpoch, int epochs, int stepsPerEpoch)
    {
        _epochs = epochs;
        _task = context.AddTask($"epoch {firstEpoch}/{epochs}", maxValue: (double)(epochs - firstEpoch + 1) * stepsPerEpoch);
    }

    /// <inheritdoc />
    public void Step(int epoch, int step, double loss, double accuracy, int images)
    {
        if (_task is null) return;
        _task.Description = $"epoch {epoch}/{_epochs}  loss {loss:F3}  acc {accuracy:P1}";
        _task.Increment(1);
    }

    /// <inheritdoc />
    public void EpochDone(EpochMetrics m)
    {
        string val = double.IsNaN(m.ValAccuracy) ? "—" : m.ValAccuracy.ToString("P2");
        AnsiConsole.MarkupLine(
            $"epoch {m.Epoch}/{_epochs} loss {m.TrainLoss:F4} train {m.TrainAccuracy:P1} val {val} lr {m.LearningRate:0.##e0} " +
            $"{m.Seconds:F0}s {m.ImagesPerSecond:F0}img/s RSS {m.ResidentMib:F0}MiB");
    }

    /// <summary>Runs <paramref name="work"/> under a progress display with ETA.</summary>
    public static T Show<T>(Func<ProgressObserver, T> work) =>
        ProgressDisplay.Create().Start(ctx => work(new ProgressObserver(ctx)));
}
