using SpiKernel.Core.OnnxFormat;
using SpiKernel.Core.Csv;
using Onnx;
using SpiKernel.Evaluators.Results;
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
}
