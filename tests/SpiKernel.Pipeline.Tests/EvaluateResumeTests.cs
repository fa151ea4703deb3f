using SpiKernel.Core.Csv;
using SpiKernel.Evaluators.Results;

namespace SpiKernel.Pipeline.Tests;

/// <summary><c>evaluate --resume</c> adds only what the CSV lacks: nothing twice, a measurement cut short measured again.</summary>
public class EvaluateResumeTests(TrainedRunFixture fixture) : IClassFixture<TrainedRunFixture>
{
    private static string[] Args(string model, string csv) =>
        ["evaluate", model, "--out", csv, "--providers", "cpu,edge", "--batch", "1,2", "--warmup", "0", "--repeats", "2", "--limit", "20", "--data", "embedded", "--resume"]; // with accuracy: spikes and layer rows

    // a complete measurement into dir: its results and layers files, and their rows
    private (string Csv, string Layers, List<EvaluationRow> Rows, List<LayerRow> LayerRows) MeasureOnce(TempDir dir)
    {
        string csv = dir.File("r.csv"), layers = dir.File("r.layers.csv");
        Assert.Equal(0, CliTests.Run(Args(fixture.Model, csv)).Code);
        return (csv, layers, CsvFile.ReadAll<EvaluationRow>(csv), CsvFile.ReadAll<LayerRow>(layers));
    }

    [Fact]
    public void Should_AddNothing_When_EverythingIsMeasuredAlready()
    {
        using var dir = new TempDir();
        string csv = dir.File("r.csv");
        Assert.Equal(0, CliTests.Run(Args(fixture.Model, csv)).Code);
        string rows = File.ReadAllText(csv), layers = File.ReadAllText(dir.File("r.layers.csv"));
        Assert.Equal(4 + 1, File.ReadAllLines(csv).Length); // cpu fp32 and edge int8 at batch 1 and 2

        Assert.Equal(0, CliTests.Run(Args(fixture.Model, csv)).Code);
        Assert.Equal(rows, File.ReadAllText(csv));
        Assert.Equal(layers, File.ReadAllText(dir.File("r.layers.csv")));
    }

    [Fact]
    public void Should_MeasureOnlyWhatWasCutShort_When_AMeasurementLacksItsLayerRows()
    {
        using var dir = new TempDir();
        (string csv, string layersCsv, List<EvaluationRow> first, List<LayerRow> layers) = MeasureOnce(dir);

        // as if killed after the edge rows were written but before their per-layer rows, mid-way through a row
        CsvFile.WriteAll(layersCsv, layers.Where(l => l.Profile != "edge"));
        File.AppendAllText(csv, "2026-12-02T00:00:00Z,torn");

        Assert.Equal(0, CliTests.Run(Args(fixture.Model, csv)).Code);
        List<EvaluationRow> after = CsvFile.ReadAll<EvaluationRow>(csv);
        Assert.Equal(first.Count, after.Count);
        Assert.Equal(first.Where(r => r.Profile == "cpu"), after.Where(r => r.Profile == "cpu")); // kept as they were
        Assert.Equal(first.Select(r => (r.Profile, r.Precision, r.BatchSize)).Order(), after.Select(r => (r.Profile, r.Precision, r.BatchSize)).Order());
        List<LayerRow> layersAfter = CsvFile.ReadAll<LayerRow>(layersCsv);
        Assert.Contains(layers, l => l.Profile == "edge");
        Assert.Equal(layers.Count, layersAfter.Count); // the edge measurement was made again, layers and all
        Assert.Equal(layers.Count(l => l.Profile == "edge"), layersAfter.Count(l => l.Profile == "edge"));
        Assert.All(after.Where(r => r.Profile == "edge"), r => Assert.DoesNotContain(r.TimestampUtc, first.Select(f => f.TimestampUtc))); // measured again
        Assert.DoesNotContain("torn", File.ReadAllText(csv));
    }

    [Fact]
    public void Should_WriteTheLayerRows_When_TheRowsMadeBeforeHadNoAccuracy()
    {
        // batch 1 timed without accuracy, then batch 2 added with it: the layer rows were written only when every batch size
        // was measured in one go, so they never came, and every later resume measured batch 2 again for want of them
        using var dir = new TempDir();
        string csv = dir.File("r.csv"), layersCsv = dir.File("r.layers.csv");
        string[] timing = ["evaluate", fixture.Model, "--out", csv, "--providers", "cpu", "--batch", "1", "--warmup", "0", "--repeats", "2", "--no-accuracy"];
        Assert.Equal(0, CliTests.Run(timing).Code);
        Assert.Empty(File.Exists(layersCsv) ? CsvFile.ReadAll<LayerRow>(layersCsv) : []);

        string[] both = ["evaluate", fixture.Model, "--out", csv, "--providers", "cpu", "--batch", "1,2", "--warmup", "0", "--repeats", "2", "--limit", "20", "--data", "embedded", "--resume"];
        Assert.Equal(0, CliTests.Run(both).Code);
        EvaluationRow two = Assert.Single(CsvFile.ReadAll<EvaluationRow>(csv), r => r.BatchSize == 2);
        Assert.NotNull(two.SpikesPerSample);
        List<LayerRow> layers = CsvFile.ReadAll<LayerRow>(layersCsv);
        Assert.NotEmpty(layers);
        Assert.All(layers, l => Assert.True(l.Of(two)));

        string rows = File.ReadAllText(csv), layerText = File.ReadAllText(layersCsv);
        var again = CliTests.Run(both); // nothing left to measure, and it says so (it said "2 rows appended", "ONNX Runtime ;")
        Assert.Equal(0, again.Code);
        Assert.Contains($"nothing measured: every measurement asked for is in {csv} already", again.Out.ReplaceLineEndings(" ").Replace("  ", " ", StringComparison.Ordinal));
        Assert.Equal((rows, layerText), (File.ReadAllText(csv), File.ReadAllText(layersCsv)));
    }

    [Fact]
    public void Should_TellTheLayerRowsOfTwoFilesOfOneNameApart_By_TheirHash()
    {
        using var dir = new TempDir();
        (string csv, string layersCsv, List<EvaluationRow> first, List<LayerRow> layers) = MeasureOnce(dir);
        Assert.All(layers, l => Assert.Equal(first.Single(r => r.Profile == l.Profile && r.BatchSize == 1).ModelSha256, l.ModelSha256));

        // a file of this name measured before (say, before a new export), its edge rows left without layer rows of their own
        CsvFile.WriteAll(layersCsv, layers.Select(l => l.Profile == "edge" ? l with { ModelSha256 = "0123456789ab" } : l));
        Assert.Equal(0, CliTests.Run(Args(fixture.Model, csv)).Code);
        List<LayerRow> after = CsvFile.ReadAll<LayerRow>(layersCsv);
        Assert.DoesNotContain(after, l => l.ModelSha256 == "0123456789ab"); // the other file's rows do not stand for this one's
        Assert.Equal(layers.OrderBy(l => (l.Profile, l.LayerIndex)).Select(l => (l.Profile, l.ModelSha256)), after.OrderBy(l => (l.Profile, l.LayerIndex)).Select(l => (l.Profile, l.ModelSha256)));
        Assert.All(CsvFile.ReadAll<EvaluationRow>(csv).Where(r => r.Profile == "edge"), r => Assert.DoesNotContain(r.TimestampUtc, first.Select(f => f.TimestampUtc))); // measured again

        // a layers file of the version before the hash (12 columns) counts by name, as it did, and is written in the new layout
        string kept = File.ReadAllText(csv);
        string[] lines = File.ReadAllLines(layersCsv);
        Assert.EndsWith(",model_sha256,device_id", lines[0]);
        File.WriteAllLines(layersCsv, lines.Select(line => line[..line[..line.LastIndexOf(',')].LastIndexOf(',')])); // nor the device
        Assert.Equal(0, CliTests.Run(Args(fixture.Model, csv)).Code);
        Assert.Equal(kept, File.ReadAllText(csv)); // nothing measured again
        Assert.Equal(lines[0], File.ReadLines(layersCsv).First());
        Assert.All(CsvFile.ReadAll<LayerRow>(layersCsv), l => Assert.Equal("", l.ModelSha256));
    }

    [Fact]
    public void Should_KeepRowsItDoesNotMeasureAgain_When_TheLayersFileIsMissing()
    {
        using var dir = new TempDir();
        string csv = dir.File("r.csv");
        Assert.Equal(0, CliTests.Run(Args(fixture.Model, csv)).Code);
        List<EvaluationRow> first = CsvFile.ReadAll<EvaluationRow>(csv);
        Assert.All(first, r => Assert.NotNull(r.SpikesPerSample));
        File.Delete(dir.File("r.layers.csv")); // the results file copied on its own

        // a narrower request: cpu at batch 1 only
        string[] narrow = ["evaluate", fixture.Model, "--out", csv, "--providers", "cpu", "--batch", "1", "--warmup", "0", "--repeats", "2", "--limit", "20",
            "--data", "embedded", "--resume"];
        Assert.Equal(0, CliTests.Run(narrow).Code);

        List<EvaluationRow> after = CsvFile.ReadAll<EvaluationRow>(csv);
        Assert.Equal(first.Count, after.Count); // nothing lost, nothing twice
        Assert.Equal(first.Where(r => r.Profile != "cpu" || r.BatchSize != 1), after.Take(first.Count - 1)); // untouched, in order
        EvaluationRow again = after[^1];
        Assert.Equal(("cpu", 1), (again.Profile, again.BatchSize)); // measured again (its layer rows were missing)
        Assert.NotEqual(first.Single(r => r.Profile == "cpu" && r.BatchSize == 1).TimestampUtc, again.TimestampUtc);
        Assert.NotEmpty(CsvFile.ReadAll<LayerRow>(dir.File("r.layers.csv")));
    }
    /// <summary>Whether an NVIDIA GPU is here (the CUDA provider may run).</summary>
    internal static bool GpuHere => Directory.Exists("/proc/driver/nvidia/gpus") && Directory.EnumerateFileSystemEntries("/proc/driver/nvidia/gpus").Any();

    [SkippableFact]
    public void Should_KeepAMeasuredRow_When_ItsProviderIsMissingHereOnResume()
    {
        Skip.If(GpuHere, "an NVIDIA GPU is here: the CUDA provider may run, and measure the rows again");
        using var dir = new TempDir();
        string csv = dir.File("r.csv");
        string[] cpu = ["evaluate", fixture.Model, "--out", csv, "--providers", "cpu", "--batch", "1,2", "--warmup", "0", "--repeats", "2", "--limit", "20", "--data", "embedded"];
        Assert.Equal(0, CliTests.Run(cpu).Code);
        // as if measured on a GPU machine and copied here without its layers file
        List<EvaluationRow> gpu = CsvFile.ReadAll<EvaluationRow>(csv).Select(r => r with { Profile = "cuda" }).ToList();
        CsvFile.WriteAll(csv, gpu);
        File.Delete(dir.File("r.layers.csv"));

        string[] resume = ["evaluate", fixture.Model, "--out", csv, "--providers", "cuda", "--batch", "1,2", "--warmup", "0", "--repeats", "2", "--limit", "20",
            "--data", "embedded", "--resume"];
        Assert.Equal(0, CliTests.Run(resume).Code); // cuda skipped here

        Assert.Equal(gpu, CsvFile.ReadAll<EvaluationRow>(csv)); // the measured rows stay; the skipped ones did not replace them
    }

    [Fact]
    public void Should_TryAgain_When_ARowWasSkippedOrFailed()
    {
        using var dir = new TempDir();
        string csv = dir.File("r.csv");
        Assert.Equal(0, CliTests.Run(Args(fixture.Model, csv)).Code);
        List<EvaluationRow> first = CsvFile.ReadAll<EvaluationRow>(csv);
        // as if cpu had failed at batch 1 (out of memory, say) and edge had been skipped at batch 2
        List<EvaluationRow> spoilt = first.Select(r =>
            r.Profile == "cpu" && r.BatchSize == 1 ? r with { Status = EvaluationStatus.Failed, LatencyP50Ms = null, Reason = "out of memory" }
            : r.Profile == "edge" && r.BatchSize == 2 ? r with { Status = EvaluationStatus.Skipped, LatencyP50Ms = null, Reason = "no provider" } : r).ToList();
        CsvFile.WriteAll(csv, spoilt);

        Assert.Equal(0, CliTests.Run(Args(fixture.Model, csv)).Code);

        List<EvaluationRow> after = CsvFile.ReadAll<EvaluationRow>(csv);
        Assert.Equal(first.Count, after.Count); // one row per measurement: the new ones took the old ones' place
        Assert.All(after, r => Assert.Equal(EvaluationStatus.Ok, r.Status));
        Assert.Equal(first.Where(r => r.Profile == "cpu" && r.BatchSize == 2 || r.Profile == "edge" && r.BatchSize == 1),
            after.Where(r => r.Profile == "cpu" && r.BatchSize == 2 || r.Profile == "edge" && r.BatchSize == 1)); // the ok rows untouched
    }

    [Fact]
    public void Should_KeepTheNewestRow_When_KilledAfterMeasuringAgainButBeforeTheOldRowWasReplaced()
    {
        using var dir = new TempDir();
        string csv = dir.File("r.csv");
        Assert.Equal(0, CliTests.Run(Args(fixture.Model, csv)).Code);
        List<EvaluationRow> first = CsvFile.ReadAll<EvaluationRow>(csv);
        EvaluationRow cpu1 = first.Single(r => r.Profile == "cpu" && r.BatchSize == 1), edge1 = first.Single(r => r.Profile == "edge" && r.BatchSize == 1);
        // cpu batch 1 measured again (ok) and edge batch 1 again but failed, both appended; then the kill, before Finish
        EvaluationRow cpuAgain = cpu1 with { TimestampUtc = "2099-01-01T00:00:00Z", LatencyP50Ms = 123 };
        EvaluationRow edgeFailed = edge1 with { TimestampUtc = "2099-01-01T00:00:01Z", Status = EvaluationStatus.Failed, Reason = "out of memory" };
        CsvFile.WriteAll(csv, [.. first, cpuAgain, edgeFailed]);

        Assert.Equal(0, CliTests.Run(Args(fixture.Model, csv)).Code);

        List<EvaluationRow> after = CsvFile.ReadAll<EvaluationRow>(csv);
        Assert.Equal(first.Count, after.Count); // one row per measurement, nothing measured a third time
        Assert.Equal(cpuAgain, after.Single(r => r.Profile == "cpu" && r.BatchSize == 1)); // the newest ok row
        Assert.Equal(edge1, after.Single(r => r.Profile == "edge" && r.BatchSize == 1)); // a failed row does not replace an ok one
        Assert.Equal(first.Where(r => r.BatchSize == 2), after.Where(r => r.BatchSize == 2));
    }

    [Fact]
    public void Should_KeepTheRowsOfEachGpu_When_OneProfileRanOnTwoDevices()
    {
        using var dir = new TempDir();
        string csv = dir.File("r.csv");
        Assert.Equal(0, CliTests.Run(Args(fixture.Model, csv)).Code);
        List<EvaluationRow> first = CsvFile.ReadAll<EvaluationRow>(csv);
        // evaluate --providers cuda --device-id 0, then --device-id 1, appended to the same file (as another machine's would be)
        EvaluationRow cpu1 = first.Single(r => r.Profile == "cpu" && r.BatchSize == 1);
        EvaluationRow[] gpus = [.. new[] { 0, 1 }.Select(d => cpu1 with { Profile = "cuda", Provider = "CUDAExecutionProvider", DeviceId = d, SpikesPerSample = null,
            TimestampUtc = $"2099-01-01T00:00:0{d}Z" })];
        CsvFile.WriteAll(csv, [.. first, .. gpus]);

        Assert.Equal(0, CliTests.Run(Args(fixture.Model, csv)).Code); // a resume on cpu and edge: GPU 0's row was taken for GPU 1's and dropped

        Assert.Equal(gpus, CsvFile.ReadAll<EvaluationRow>(csv).Where(r => r.Profile == "cuda"));
        // and their layer rows: GPU 0's do not stand for GPU 1's on a resume (nor in the report)
        var layer0 = new LayerRow { Model = gpus[0].Model, Profile = "cuda", Precision = gpus[0].Precision, ModelSha256 = gpus[0].ModelSha256, DeviceId = 0 };
        Assert.Equal((true, false, true), (layer0.Of(gpus[0]), layer0.Of(gpus[1]), (layer0 with { DeviceId = 1 }).Of(gpus[1])));
        Assert.True((layer0 with { DeviceId = null }).Of(gpus[1])); // a layers file of an earlier version, without the column: by name, as before
    }
}
