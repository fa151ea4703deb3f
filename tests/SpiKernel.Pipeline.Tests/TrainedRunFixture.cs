using SpiKernel.Cli;
using SpiKernel.Pipeline.Training;

namespace SpiKernel.Pipeline.Tests;

/// <summary>
/// One tiny trained run (1 epoch of <see cref="TrainerTests.Tiny"/>) and its fp32 and int8 exports, made once per test
/// class (xunit class fixture) instead of once per test case. Tests treat it as read-only; a test that damages a
/// run folder takes <see cref="CopyRun"/>.
/// </summary>
public sealed class TrainedRunFixture : IDisposable
{
    private readonly TempDir _run = new();
    private readonly TempDir _models = new();

    public TrainedRunFixture()
    {
        Trainer.Run(TrainerTests.Tiny, TrainerTests.Small(), new TrainOptions(Epochs: 1, BatchSize: 32, ValidationFraction: 0, Threads: 1), _run.Path);
        Model = _models.File("tiny.onnx");
        Assert.Equal(0, CliTests.Run("export", _run.Path, "--out", Model).Code);
        Int8Model = _models.File("tiny.int8.onnx");
        Assert.Equal(0, CliTests.Run("export", _run.Path, "--out", Int8Model, "--quantize", "int8").Code);
    }

    /// <summary>The int8 export (integer operations on spikes), beside <see cref="Model"/>.</summary>
    public string Int8Model { get; }

    /// <summary>The run folder (checkpoint, checkpoint.json, metrics.csv).</summary>
    public string RunPath => _run.Path;

    /// <summary>The fp32 export; its int8 sibling is tiny.int8.onnx beside it.</summary>
    public string Model { get; }

    /// <summary>A private copy of the run folder, for tests that damage it.</summary>
    public TempDir CopyRun()
    {
        var copy = new TempDir();
        foreach (string f in Directory.GetFiles(_run.Path)) File.Copy(f, copy.File(Path.GetFileName(f)));
        return copy;
    }

    public void Dispose()
    {
        _run.Dispose();
        _models.Dispose();
    }
}
