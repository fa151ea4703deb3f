using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace SpiKernel.Pipeline.Tests;

/// <summary>A found model drops into an existing ML.NET deployment (<c>ApplyOnnxModel</c>) unchanged.</summary>
public class MlNetDeploymentTests(TrainedRunFixture fixture) : IClassFixture<TrainedRunFixture>
{
    private sealed class Image
    {
        [ColumnName("input"), VectorType(1, 1, 28, 28)]
        public float[] Pixels { get; set; } = [];
    }

    private sealed class Scores
    {
        [ColumnName("logits")]
        public float[] Logits { get; set; } = [];
    }

    [Theory]
    [InlineData("batched", false)]
    [InlineData("batched", true)] // the int8 file: integer operations (QLinearConv, MatMulInteger) on uint8 spikes
    [InlineData("step", false)] // the layout a run exports (its models/ID.onnx): one graph step per timestep
    [InlineData("step", true)]
    public void Should_GiveOnnxRuntimesLogits_When_TheModelRunsInAnMlNetPipeline(string layout, bool int8)
    {
        using var dir = new TempDir();
        string file = layout == "batched" ? (int8 ? fixture.Int8Model : fixture.Model) : dir.File(int8 ? "step.int8.onnx" : "step.onnx");
        if (layout == "step")
            Assert.Equal(0, CliTests.Run(["export", fixture.RunPath, "--out", file, "--layout", "step", .. int8 ? new[] { "--quantize", "int8" } : []]).Code);
        var rng = new Random(3);
        Image[] images = Enumerable.Range(0, 4)
            .Select(_ => new Image { Pixels = Enumerable.Range(0, 784).Select(_ => (float)rng.NextDouble() * 3 - 1).ToArray() }).ToArray();

        // what a user writes: load data, apply the ONNX model, read the logits
        var ml = new MLContext(seed: 1);
        IDataView data = ml.Data.LoadFromEnumerable(images);
        var pipeline = ml.Transforms.ApplyOnnxModel(outputColumnNames: ["logits"], inputColumnNames: ["input"], modelFile: file,
            shapeDictionary: new Dictionary<string, int[]> { ["input"] = [1, 1, 28, 28] }, gpuDeviceId: null, fallbackToCpu: false, recursionLimit: 100);
        using var model = (IDisposable)pipeline.Fit(data);
        IDataView scored = ((ITransformer)model).Transform(data);
        float[][] fromMlNet = ml.Data.CreateEnumerable<Scores>(scored, reuseRowObject: false).Select(s => s.Logits).ToArray();

        using var session = new InferenceSession(file);
        for (int i = 0; i < images.Length; i++)
        {
            var input = new DenseTensor<float>(images[i].Pixels, [1, 1, 28, 28]);
            using var results = session.Run([NamedOnnxValue.CreateFromTensor("input", input)]);
            float[] direct = results.First(r => r.Name == "logits").AsEnumerable<float>().ToArray();
            Assert.Equal(10, fromMlNet[i].Length);
            Assert.Equal(direct, fromMlNet[i]);
        }
    }
}
