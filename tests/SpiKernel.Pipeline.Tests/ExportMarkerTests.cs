using SpiKernel.Core;
using SpiKernel.Exporters;
using SpiKernel.Pipeline.Stages;
using SpiKernel.Pipeline.Training;

namespace SpiKernel.Pipeline.Tests;

/// <summary>When an export counts as done: the checkpoint's content decides, not its time, and the exporter's format.</summary>
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

        // a file of an older exporter (its marker names another format, or none: versions before the format was recorded)
        // is written again: a resumed run must not keep a file the exporter now writes otherwise
        string identity = System.Text.Json.JsonDocument.Parse(File.ReadAllText(StageMarker.PathIn(copy.Path, "export-m.onnx"))).RootElement.GetProperty("identity").GetString()!;
        Assert.EndsWith($" format={SnnOnnxExporter.FormatVersion}", identity, StringComparison.Ordinal);
        foreach (string older in new[] { identity.Replace($" format={SnnOnnxExporter.FormatVersion}", "", StringComparison.Ordinal), identity.Replace("format=", "format=0", StringComparison.Ordinal) })
        {
            StageMarker.Write(copy.Path, "export-m.onnx", older);
            Assert.False(stage.IsComplete(options));
        }
        Assert.Equal(SnnOnnxExporter.FormatVersion.ToString(System.Globalization.CultureInfo.InvariantCulture),
            Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(copy.File("m.onnx"))).MetadataProps.Single(p => p.Key == MetadataKeys.ExportFormat).Value);

        stage.Run(options, NullProgress.Instance, default);
        byte[] bytes = File.ReadAllBytes(weights);
        bytes[^1] ^= 1; // other weights, whatever their time
        DateTime time = File.GetLastWriteTimeUtc(weights);
        File.WriteAllBytes(weights, bytes);
        File.SetLastWriteTimeUtc(weights, time);
        Assert.False(stage.IsComplete(options));
    }
}
