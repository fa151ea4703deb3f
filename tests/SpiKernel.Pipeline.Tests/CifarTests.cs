using SpiKernel.Pipeline.Data;

namespace SpiKernel.Pipeline.Tests;

public class CifarTests
{
    private static byte[] Records(int count, int labelBytes, Func<int, byte[]> labels)
    {
        int record = labelBytes + 3072;
        var data = new byte[count * record];
        for (int i = 0; i < count; i++)
        {
            labels(i).CopyTo(data, i * record);
            for (int p = 0; p < 3072; p++) data[i * record + labelBytes + p] = (byte)((i + p) % 251);
        }
        return data;
    }

    private static void Cifar10Folder(string dir, int perBatch)
    {
        for (int b = 1; b <= 5; b++)
            File.WriteAllBytes(Path.Combine(dir, $"data_batch_{b}.bin"), Records(perBatch, 1, i => [(byte)((i + b) % 10)]));
        File.WriteAllBytes(Path.Combine(dir, "test_batch.bin"), Records(perBatch, 1, i => [(byte)(i % 10)]));
    }

    [Fact]
    public void Should_ReadFiveTrainBatchesAndTestBatch_When_FolderIsCifar10()
    {
        using var dir = new TempDir();
        Cifar10Folder(dir.Path, 3);
        File.WriteAllLines(dir.File("batches.meta.txt"), ["plane", "car", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck", ""]);

        DataSplit split = DatasetCatalog.Load(dir.Path);

        Assert.Equal(15, split.Train.Count);
        Assert.Equal(3, split.Test.Count);
        Assert.Equal((3, 32, 32), (split.Train.Channels, split.Train.Height, split.Train.Width));
        Assert.Equal(2, split.Train.Labels[1]);            // batch 1, record 1
        Assert.Equal((byte)((1 + 5) % 251), split.Test.Pixels[3072 + 5]);
        Assert.Equal("plane", split.Train.ClassNames[0]);
    }

    [Fact]
    public void Should_ReadTheTestBatchAlone_When_OnlyTheTestSplitIsAsked()
    {
        using var dir = new TempDir();
        Cifar10Folder(dir.Path, 3);
        ImageDataset expected = DatasetCatalog.Load(dir.Path).Test;
        File.WriteAllBytes(dir.File("data_batch_2.bin"), [1, 2, 3]); // a damaged training batch is not read

        ImageDataset test = DatasetCatalog.LoadTest(dir.Path);
        Assert.Equal(expected.Name, test.Name);
        Assert.Equal(expected.Labels, test.Labels);
        Assert.Equal(expected.Pixels, test.Pixels);
        Assert.Throws<DataFormatException>(() => DatasetCatalog.Load(dir.Path));
    }

    [Theory]
    [InlineData("data_batch_3.bin", "2 records, the batches before it 3 each: cut short?")]
    [InlineData("test_batch.bin", "2 records, the training batches 3 each: cut short?")]
    public void Should_RefuseABatchCutOnARecordBoundary_When_FolderIsCifar10(string file, string message)
    {
        using var dir = new TempDir();
        Cifar10Folder(dir.Path, 3);
        File.WriteAllBytes(dir.File(file), File.ReadAllBytes(dir.File(file))[..(2 * 3073)]); // whole records, one missing
        var ex = Assert.Throws<DataFormatException>(() => DatasetCatalog.Load(dir.Path));
        Assert.Equal($"{dir.File(file)}: {message}", ex.Message);
    }

    [Fact]
    public void Should_UseFineOrCoarseLabels_When_FolderIsCifar100()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("train.bin"), Records(4, 2, i => [(byte)(i % 20), (byte)(50 + i)]));
        File.WriteAllBytes(dir.File("test.bin"), Records(2, 2, i => [(byte)19, (byte)99]));

        DataSplit fine = DatasetCatalog.Load(dir.Path);
        DataSplit coarse = DatasetCatalog.Load(dir.Path, DatasetKind.Cifar100Coarse);

        Assert.Equal(new[] { 50, 51, 52, 53 }, fine.Train.Labels);
        Assert.Equal(100, fine.Train.ClassNames.Count);
        Assert.Equal(new[] { 0, 1, 2, 3 }, coarse.Train.Labels);
        Assert.Equal(20, coarse.Train.ClassNames.Count);
        Assert.Equal((byte)((1 + 0) % 251), fine.Train.Pixels[3072]);
    }

    [Fact]
    public void Should_ReadTheCoarseLabelsAgain_When_ATwentyClassNetworkIsResumedExportedAndEvaluated()
    {
        using var data = new TempDir();
        using var run = new TempDir();
        File.WriteAllBytes(data.File("train.bin"), Records(40, 2, i => [(byte)(i % 20), (byte)(50 + i % 50)]));
        File.WriteAllBytes(data.File("test.bin"), Records(20, 2, i => [(byte)(i % 20), (byte)(99 - i)]));
        string[] net = ["--cell", "0303 0030 2002 0200", "--channels", "16", "--hidden", "16", "-T", "2", "--cluster", "2"];
        var r = CliTests.Run(["train", .. net, "--data", data.Path, "--dataset", "cifar100-coarse", "--out", run.Path, "--epochs", "1", "--batch", "20", "--threads", "1"]);
        Assert.True(r.Code == 0, r.Err);

        // no --dataset any more: the 20-class network reads the folder's coarse labels (the fine ones, 100 classes, were refused)
        r = CliTests.Run("train", "--resume", "--out", run.Path);
        Assert.True(r.Code == 0, r.Err);
        string model = run.File("m.onnx");
        r = CliTests.Run("export", run.Path, "--out", model, "--verify", "--verify-images", "8");
        Assert.True(r.Code == 0, r.Err);
        r = CliTests.Run("evaluate", model, "--providers", "cpu", "--batch", "1", "--repeats", "2", "--warmup", "1", "--out", run.File("r.csv"));
        Assert.True(r.Code == 0, r.Err);
        Evaluators.Results.EvaluationRow row = Assert.Single(Core.Csv.CsvFile.ReadAll<Evaluators.Results.EvaluationRow>(run.File("r.csv")));
        Assert.Equal((Evaluators.Results.EvaluationStatus.Ok, 20), (row.Status, row.TestSamples)); // every label within the 20 classes

        // a bundle given the folder with --data carries the coarse labels for it (it carried the fine ones: 99 - i, beyond 20 classes)
        string folder = run.File("bundle-data");
        var (sets, notes) = ScaleOut.BundleStage.ReadData(new ScaleOut.BundleOptions("linux-x64", ["cpu"], model, run.File("bundle"), Data: data.Path), [model]);
        Assert.Empty(notes);
        ScaleOut.BundleStage.WriteData(sets, folder, Core.NullProgress.Instance);
        var index = System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, string>>(File.ReadAllText(Path.Combine(folder, "datasets.json")))!;
        string set = Evaluators.Measurement.BundleDataKeys.Lookup("elsewhere", 20).Select(k => index.GetValueOrDefault(k)).OfType<string>().First();
        Evaluators.Measurement.LabelledImages images = Evaluators.Measurement.LabelledImagesFile.Load(Path.Combine(folder, set));
        Assert.Equal(Enumerable.Range(0, 20), images.Labels);
        // a --data folder that is no data set is refused, before anything is built (it was a note, and a bundle without test data)
        using var none = new TempDir();
        var ex = Assert.Throws<InvalidDataException>(() => ScaleOut.BundleStage.ReadData(new ScaleOut.BundleOptions("linux-x64", ["cpu"], model, run.File("b2"), Data: none.Path), [model]));
        Assert.StartsWith($"--data {none.Path}: ", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_SayTruncated_When_RecordIsIncomplete()
    {
        using var dir = new TempDir();
        Cifar10Folder(dir.Path, 2);
        byte[] data = Records(2, 1, _ => [1]);
        File.WriteAllBytes(dir.File("data_batch_3.bin"), data[..^10]);
        var ex = Assert.Throws<DataFormatException>(() => Cifar.LoadCifar10(dir.Path));
        Assert.Equal(dir.File("data_batch_3.bin"), ex.Path);
        Assert.Contains("not a whole number of 3073-byte records", ex.Message);
    }

    [Fact]
    public void Should_SayFileNotFound_When_BatchIsMissing()
    {
        using var dir = new TempDir();
        Cifar10Folder(dir.Path, 2);
        File.Delete(dir.File("data_batch_5.bin"));
        var ex = Assert.Throws<DataFormatException>(() => Cifar.LoadCifar10(dir.Path));
        Assert.Equal($"{dir.File("data_batch_5.bin")}: file not found", ex.Message);
    }

    [Fact]
    public void Should_RejectLabel_When_OutsideClassRange()
    {
        using var dir = new TempDir();
        Cifar10Folder(dir.Path, 2);
        File.WriteAllBytes(dir.File("test_batch.bin"), Records(2, 1, i => [(byte)(i == 1 ? 12 : 0)]));
        Assert.Contains("record 1 has label 12", Assert.Throws<DataFormatException>(() => Cifar.LoadCifar10(dir.Path)).Message);
    }

    [Fact]
    public void Should_SayNotCifar_When_FolderHasOtherFiles()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("readme.txt"), "hello");
        Assert.Contains("not a CIFAR binary folder", Assert.Throws<DataFormatException>(() => Cifar.LoadCifar100(dir.Path)).Message);
        Assert.Contains("no known data set here", Assert.Throws<DataFormatException>(() => DatasetCatalog.Load(dir.Path)).Message);
    }
}
