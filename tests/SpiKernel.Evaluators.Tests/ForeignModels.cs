using SpiKernel.Core.OnnxFormat;
using Onnx;
using static SpiKernel.Core.OnnxFormat.OnnxHelper;

namespace SpiKernel.Evaluators.Tests;

/// <summary>Small ONNX classifiers written with the builders, using operators our exporter never emits.</summary>
internal static class ForeignModels
{
    /// <summary>
    /// Conv(1→4, 3×3) → Relu → MaxPool(2) → Flatten → Gemm(→10) on 1×8×8 inputs; <paramref name="batch"/> is "N"
    /// (symbolic) or a fixed size. No metadata.
    /// </summary>
    public static string ReluMaxPool(string path, object? batch = null)
    {
        batch ??= "N";
        var rng = new Random(7);
        float[] W(int n) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        var g = new GraphBuilder();
        string w1 = g.Initializer(FloatTensor("conv.weight", [4, 1, 3, 3], W(36)));
        string b1 = g.Initializer(FloatTensor("conv.bias", [4], W(4)));
        string conv = g.Op("Conv", "conv", ["x", w1, b1], Ints("pads", 1, 1, 1, 1));
        string relu = g.Op("Relu", "relu", [conv]);
        string pool = g.Op("MaxPool", "pool", [relu], Ints("kernel_shape", 2, 2), Ints("strides", 2, 2));
        string flat = g.Op("Flatten", "flatten", [pool]);
        string w2 = g.Initializer(FloatTensor("fc.weight", [10, 64], W(640)));
        string b2 = g.Initializer(FloatTensor("fc.bias", [10], W(10)));
        g.OpTo("Gemm", "fc", [flat, w2, b2], ["scores"], Attr("transB", 1L));
        GraphProto graph = g.Build("foreign", [Value("x", TensorProto.Types.DataType.Float, batch, 1, 8, 8)],
            [Value("scores", TensorProto.Types.DataType.Float, batch, 10)]);
        Save(Model(graph, "test", "1", "a Relu/MaxPool classifier", []), path);
        return path;
    }
}
