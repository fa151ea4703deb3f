using SpiKernel.Exporters;
using SpiKernel.Models.Network;
using SpiKernel.Pipeline.Prediction;

namespace SpiKernel.Pipeline.Tests;

/// <summary>What a latency predictor sees of an exported file.</summary>
public class LatencyFeaturesTests
{
    [Theory]
    [InlineData(TimestepLayout.Batched, WeightPrecision.Float32)]
    [InlineData(TimestepLayout.Step, WeightPrecision.Float32)]
    [InlineData(TimestepLayout.Batched, WeightPrecision.Int8)]
    [InlineData(TimestepLayout.Step, WeightPrecision.Int8)]
    public void Should_CountEveryOperatorTheExporterEmitsByName_When_AFileIsDescribed(TimestepLayout layout, WeightPrecision precision)
    {
        using var net = new SpikingNetwork(TrainerTests.Tiny);
        net.eval();
        Onnx.ModelProto model = SnnOnnxExporter.Export(net, new ExportOptions(layout, precision));
        float[] features = LatencyFeatures.Of(model);
        // an int8 file's QLinearConv and MatMulInteger (its main work) were lumped into ops_other with Split and Div
        string[] unnamed = model.Graph.Node.Select(n => n.OpType).Distinct().Where(t => !LatencyFeatures.OperatorTypes.Contains(t)).ToArray();
        Assert.Empty(unnamed);
        Assert.Equal(0, features[LatencyFeatures.Names.Count - 1]);
        Assert.Equal("ops_other", LatencyFeatures.Names[^1]);
        Assert.Equal(model.Graph.Node.Count, features.Skip(LatencyFeatures.Names.Count - LatencyFeatures.OperatorTypes.Count - 1).Sum());
    }
}
