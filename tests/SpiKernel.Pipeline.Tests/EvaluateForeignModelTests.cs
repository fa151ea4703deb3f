using Google.Protobuf;
using SpiKernel.Core.OnnxFormat;
using SpiKernel.Core.Csv;
using Onnx;
using SpiKernel.Evaluators.Results;
using SpiKernel.Cli;
using SpiKernel.Exporters;
using static SpiKernel.Core.OnnxFormat.OnnxHelper;

namespace SpiKernel.Pipeline.Tests;

/// <summary><c>spikernel evaluate</c> on ONNX files our exporter did not write.</summary>
public class EvaluateForeignModelTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Flatten → Gemm → Relu → Gemm → Softmax on 1×28×28 images, no metadata.</summary>
    private static void WriteMlp(string path)
    {
        var rng = new Random(3);
        float[] W(int n) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() - 0.5) * 0.1f).ToArray();
        var g = new GraphBuilder();
        string flat = g.Op("Flatten", "flatten", ["image"]);
        string h = g.Op("Gemm", "fc1", [flat, g.Initializer(FloatTensor("fc1.weight", [32, 784], W(32 * 784))), g.Initializer(FloatTensor("fc1.bias", [32], W(32)))], Attr("transB", 1L));
        string r = g.Op("Relu", "relu", [h]);
        string o = g.Op("Gemm", "fc2", [r, g.Initializer(FloatTensor("fc2.weight", [10, 32], W(320))), g.Initializer(FloatTensor("fc2.bias", [10], W(10)))], Attr("transB", 1L));
        g.OpTo("Softmax", "softmax", [o], ["probabilities"], Attr("axis", 1L));
        GraphProto graph = g.Build("mlp", [Value("image", TensorProto.Types.DataType.Float, "batch", 1, 28, 28)],
            [Value("probabilities", TensorProto.Types.DataType.Float, "batch", 10)]);
        SnnOnnxExporter.Save(Model(graph, "someone-else", "1.0", "an MLP", []), path);
    }

    [Fact]
    public void Should_SkipTheRowAndGoOn_When_AModelFixesBatchZero()
    {
        // an input of shape [0, 4]: ONNX Runtime runs it, and there is nothing to time (was a crash, exit 70; then a
        // failed row, exit 1, though nothing is wrong with the model)
        var g = new GraphBuilder();
        g.OpTo("Relu", "relu", ["x"], ["y"]);
        SnnOnnxExporter.Save(Model(g.Build("empty", [Value("x", TensorProto.Types.DataType.Float, 0, 4)], [Value("y", TensorProto.Types.DataType.Float, 0, 4)]),
            "someone-else", "1.0", "batch 0", []), _dir.File("a-zero.onnx"));
        WriteMlp(_dir.File("mlp.onnx"));
        string csv = _dir.File("r.csv");
        var r = CliTests.Run("evaluate", _dir.Path, "--out", csv, "--providers", "cpu", "--batch", "1", "--warmup", "0", "--repeats", "2");
        Assert.True(r.Code == 0, r.Err);
        List<EvaluationRow> rows = CsvFile.ReadAll<EvaluationRow>(csv);
        Assert.Equal([EvaluationStatus.Skipped, EvaluationStatus.Ok], rows.Select(w => w.Status)); // the next model measured
        Assert.Contains("input 'x' fixes batch 0", rows[0].Reason);
    }

    [Fact]
    public void Should_LoadTheWeights_When_TheyLieInAnExternalDataFileBesideTheModel()
    {
        // ONNX's external data (models over 2 GB keep their weights so): the location is relative to the model's folder
        Directory.CreateDirectory(_dir.File("ext"));
        string path = _dir.File("ext/mlp.onnx");
        WriteMlp(path);
        ModelProto proto = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        TensorProto w = proto.Graph.Initializer.Single(t => t.Name == "fc1.weight");
        byte[] data = w.RawData.Length > 0 ? w.RawData.ToByteArray() : w.FloatData.SelectMany(BitConverter.GetBytes).ToArray();
        File.WriteAllBytes(_dir.File("ext/mlp.weights"), data);
        w.FloatData.Clear();
        w.RawData = ByteString.Empty;
        w.DataLocation = TensorProto.Types.DataLocation.External;
        foreach ((string key, string value) in new[] { ("location", "mlp.weights"), ("offset", "0"), ("length", data.Length.ToString(System.Globalization.CultureInfo.InvariantCulture)) })
            w.ExternalData.Add(new StringStringEntryProto { Key = key, Value = value });
        File.WriteAllBytes(path, proto.ToByteArray());

        string csv = _dir.File("ext.csv");
        var r = CliTests.Run("evaluate", path, "--out", csv, "--providers", "cpu", "--batch", "1", "--warmup", "1", "--repeats", "3");
        Assert.True(r.Code == 0, r.Err + r.Out); // loaded from its bytes, ONNX Runtime looked for mlp.weights in the working directory
        EvaluationRow row = Assert.Single(CsvFile.ReadAll<EvaluationRow>(csv));
        Assert.Equal(EvaluationStatus.Ok, row.Status);
        Assert.Equal(32 * 784 + 32 + 320 + 10, row.Parameters);
    }

    [Fact]
    public void Should_TimeAForeignClassifierWithoutAccuracyColumns_When_ItHasNoMetadata()
    {
        WriteMlp(_dir.File("mlp.onnx"));
        string csv = _dir.File("r.csv");
        var r = CliTests.Run("evaluate", _dir.Path, "--out", csv, "--providers", "cpu,edge,xnnpack", "--batch", "1,16", "--warmup", "2", "--repeats", "10");
        Assert.True(r.Code == 0, r.Err + r.Out);
        List<EvaluationRow> rows = CsvFile.ReadAll<EvaluationRow>(csv);
        Assert.Equal(6, rows.Count);
        Assert.All(rows.Take(4), w => Assert.Equal(EvaluationStatus.Ok, w.Status));
        Assert.All(rows.Take(4), w => Assert.True(w.LatencyP50Ms > 0 && w.ThroughputSps > 0));
        Assert.All(rows, w => Assert.Null(w.AccuracyTop1));
        Assert.All(rows, w => Assert.Equal(32 * 784 + 32 + 320 + 10, w.Parameters));
        Assert.All(rows.Skip(4), w => Assert.Equal(EvaluationStatus.Skipped, w.Status));
        Assert.Empty(CsvFile.ReadAll<LayerRow>(Path.Combine(_dir.Path, "r.layers.csv")));
    }

    [Fact]
    public void Should_RewriteAnOlderResultsFileInTheCurrentLayout_When_Resuming()
    {
        WriteMlp(_dir.File("mlp.onnx"));
        string csv = _dir.File("r.csv");
        string[] args = ["evaluate", _dir.File("mlp.onnx"), "--out", csv, "--providers", "cpu", "--warmup", "0", "--repeats", "2", "--resume"];
        Assert.Equal(0, CliTests.Run([.. args, "--batch", "1"]).Code);
        // the same rows as a version before the input and output-check columns wrote them (58 columns)
        string[] lines = File.ReadAllLines(csv);
        Assert.DoesNotContain(lines, l => l.Contains('"'));
        File.WriteAllLines(csv, lines.Select(l => string.Join(',', l.Split(',')[..58])));
        List<EvaluationRow> before = CsvFile.ReadAll<EvaluationRow>(csv);
        Assert.Null(before[0].InputSource);

        var r = CliTests.Run([.. args, "--batch", "1,2"]);
        Assert.True(r.Code == 0, r.Err + r.Out);
        List<EvaluationRow> after = CsvFile.ReadAll<EvaluationRow>(csv);
        Assert.Equal(CsvFormat.Header<EvaluationRow>(), File.ReadLines(csv).First());
        Assert.Equal([1, 2], after.Select(w => w.BatchSize!.Value)); // batch 1 kept as it was, batch 2 added
        Assert.Equal(before[0].LatencyP50Ms, after[0].LatencyP50Ms);
        Assert.Equal(InputSource.Seeded, after[1].InputSource);
    }

    private static readonly string Backend = Path.Combine(AppContext.BaseDirectory, "BackendTests");

    [Fact]
    public void Should_MeasureAndCheckEachTestFolder_When_GivenAFolderOfBackendTests()
    {
        string csv = _dir.File("r.csv");
        var r = CliTests.Run("evaluate", Backend, "--out", csv, "--providers", "cpu,edge", "--batch", "1", "--warmup", "1", "--repeats", "3");
        // the opset-6 Add ONNX Runtime does not implement is the one failed row, and the exit code says so
        CliTests.AssertOneLineError(r, ExitCodes.InputError, "1 of 13 rows failed; first: test_operator_add_broadcast");
        List<EvaluationRow> rows = CsvFile.ReadAll<EvaluationRow>(csv);
        Assert.Equal(8, rows.Count(w => w.Status == EvaluationStatus.Ok && w.OutputCheck == OutputCheck.Passed));
        Assert.Equal(4, rows.Count(w => w.Status == EvaluationStatus.Skipped)); // batch 1 of Conv2d and concat2, on each profile
        Assert.Contains("outputs checked in 8 rows: 8 passed, 0 failed.", r.Out);
    }

    [Fact]
    public void Should_MeasureTheModelsOwnBatchOnce_When_IsolatedChildrenEachGiveIt()
    {
        string csv = _dir.File("r.csv");
        var r = CliTests.Run("evaluate", Path.Combine(Backend, "test_Conv2d"), "--out", csv, "--providers", "cpu", "--batch", "1,4", "--warmup", "0",
            "--repeats", "2", "--isolate");
        Assert.True(r.Code == 0, r.Err + r.Out);
        List<EvaluationRow> rows = CsvFile.ReadAll<EvaluationRow>(csv);
        Assert.Equal([(2, EvaluationStatus.Ok), (1, EvaluationStatus.Skipped), (4, EvaluationStatus.Skipped)], rows.Select(w => (w.BatchSize!.Value, w.Status)));
        Assert.Equal("test_Conv2d", rows[0].Model);
        Assert.True(rows[0].Isolated);
        Assert.Equal(OutputCheck.Passed, rows[0].OutputCheck);
    }

    [Fact]
    public void Should_FailBeforeWritingAnything_When_TheTestDataCannotBeRead()
    {
        Directory.CreateDirectory(_dir.File("data"));
        File.WriteAllBytes(_dir.File("data/input_0.pb"), [0xff]); // a field tag cut short
        string csv = _dir.File("r.csv");
        var r = CliTests.Run("evaluate", Path.Combine(Backend, "test_Conv2d", "model.onnx"), "--out", csv, "--providers", "cpu", "--inputs", _dir.File("data"));
        CliTests.AssertOneLineError(r, ExitCodes.InputError, "input_0.pb: not an ONNX TensorProto");
        Assert.False(File.Exists(csv));
    }
}
