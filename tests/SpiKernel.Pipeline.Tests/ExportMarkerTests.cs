using SpiKernel.Core;
using SpiKernel.Exporters;
using SpiKernel.Pipeline.Stages;
using SpiKernel.Pipeline.Training;

namespace SpiKernel.Pipeline.Tests;

/// <summary>When an export counts as done: the checkpoint's content decides, not its time; older markers still count.</summary>
public class ExportMarkerTests(TrainedRunFixture run) : IClassFixture<TrainedRunFixture>
{
    [Fact]
    public void Should_KeepAnExportDone_When_OnlyTheCheckpointsTimeChanges_And_RedoIt_When_ItsContentDoes()
    {
        using TempDir copy = run.CopyRun();
        var options = new ExportStageOptions(copy.Path, copy.File("m.onnx"), new ExportOptions());
        var stage = new ExportStage();
        Assert.False(stage.IsComplete(options));
        stage.Run(options, NullProgress.Instance, default);
        Assert.True(stage.IsComplete(options));

        string weights = copy.File(Trainer.CheckpointFile);
        File.SetLastWriteTimeUtc(weights, new DateTime(2020, 1, 2, 3, 4, 5, DateTimeKind.Utc)); // copied without its times (cp -r, scp)
        Assert.True(stage.IsComplete(options));

        // a marker of a version before 2026-12-07, which recorded the weights' time: honoured while that time holds
        string byTime = $"checkpoint={Path.GetFullPath(weights)}@{File.GetLastWriteTimeUtc(weights).Ticks} layout={options.Export.Layout} precision={options.Export.Precision} verify=False images=256 data=";
        StageMarker.Write(copy.Path, "export-m.onnx", byTime);
        Assert.True(stage.IsComplete(options));
        File.SetLastWriteTimeUtc(weights, new DateTime(2021, 1, 2, 3, 4, 5, DateTimeKind.Utc));
        Assert.False(stage.IsComplete(options));

        stage.Run(options, NullProgress.Instance, default);
        byte[] bytes = File.ReadAllBytes(weights);
        bytes[^1] ^= 1; // other weights, whatever their time
        DateTime time = File.GetLastWriteTimeUtc(weights);
        File.WriteAllBytes(weights, bytes);
        File.SetLastWriteTimeUtc(weights, time);
        Assert.False(stage.IsComplete(options));
    }
}
