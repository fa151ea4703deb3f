using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Onnx;
using SpiKernel.Exporters;
using SpiKernel.Models.Architecture;
using SpiKernel.Models.Network;
using SpiKernel.Pipeline.Bench;

namespace SpiKernel.Pipeline.Tests;

public class ConvolutionFreeGraphTests
{
    public static TheoryData<string, int, TimestepLayout, WeightPrecision> Files => new()
    {
        { "0303 0030 0002 0000", 3, TimestepLayout.Batched, WeightPrecision.Float32 }, // grouped weights computed in the graph (Reshape)
        { "0303 0030 0002 0000", 1, TimestepLayout.Batched, WeightPrecision.Float32 }, // one timestep: per-step weights in the batched layout
        { "0303 0030 0002 0000", 3, TimestepLayout.Step, WeightPrecision.Float32 },    // per-timestep weights computed in the graph (Mul)
        { "0303 0030 0002 0000", 3, TimestepLayout.Step, WeightPrecision.Int8 },
        { "0303 0030 2002 0200", 3, TimestepLayout.Batched, WeightPrecision.Int8 },    // feedback edges
    };

    [Theory]
    [MemberData(nameof(Files))]
    public void Should_RemoveEveryConvolutionButTheStemAndStillRun_When_AnExportIsStripped(string cell, int timesteps, TimestepLayout layout, WeightPrecision precision)
    {
        // channels 16 → 32 after the first cell: the down-sampling convolution changes the channel count
        SnnArchitecture arch = SnnArchitecture.Parse($"cell=\"{cell}\" kernels=1,3 input=1x16x16 channels=16 ratio=2 stem-stride=2 hidden=24 classes=4 cluster=2 sap=2 timesteps={timesteps}");
        using var net = new SpikingNetwork(arch);
        net.eval();
        ModelProto model = SnnOnnxExporter.Export(net, new ExportOptions(layout, precision));
        int convolutions = model.Graph.Node.Count(n => n.OpType is "Conv" or "QLinearConv");

        (ModelProto free, int removed, int kept) = ConvolutionFreeGraph.Strip(model);

        Assert.Equal(1, kept); // the stem reads the image
        Assert.Equal(convolutions - 1, removed);
        Assert.Equal(["stem.conv"], free.Graph.Node.Where(n => n.OpType is "Conv" or "QLinearConv").Select(n => n.Name));
        Assert.Contains(free.Graph.Node, n => n.OpType == "Expand"); // the channel-changing convolution
        var used = free.Graph.Node.SelectMany(n => n.Input).ToHashSet();
        Assert.All(free.Graph.Initializer, t => Assert.Contains(t.Name, used));
        Assert.Equal(convolutions, model.Graph.Node.Count(n => n.OpType is "Conv" or "QLinearConv")); // the original is untouched

        // the same outputs, shapes and types: the file runs wherever the export runs
        using var session = new InferenceSession(free.ToByteArray());
        var input = new DenseTensor<float>(Enumerable.Range(0, 2 * 16 * 16).Select(i => (i % 7) / 7f).ToArray(), [2, 1, 16, 16]);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("input", input)]);
        Assert.Equal([2, 4], results.Single(r => r.Name == "logits").AsTensor<float>().Dimensions.ToArray());
        Assert.Equal(2, results.Single(r => r.Name == "spike_counts").AsTensor<long>().Dimensions[0]);
    }
}
