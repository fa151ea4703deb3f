using SpiKernel.Core;
using Microsoft.ML.OnnxRuntime;
using SpiKernel.Evaluators.Providers;

namespace SpiKernel.Evaluators.Tests;

public class ProfileTests
{
    [Fact]
    public void Should_TellAProviderThatRunsFromOneThatCannot_When_Probed()
    {
        // the probe decides skipped (the provider cannot run here) from failed (it runs, this model does not)
        Assert.True(SessionFactory.ProviderRuns(EvaluationProfile.Find("cpu")));
        Assert.True(SessionFactory.ProviderRuns(EvaluationProfile.Find("edge")));
        // this build has no XNNPACK, OpenVINO or QNN provider (docs/evaluate.md): the probe cannot make their session
        Assert.False(SessionFactory.ProviderRuns(EvaluationProfile.Find("openvino")));
    }

    [Fact]
    public void Should_KnowEveryProviderOfTheIssue_When_Listed()
    {
        Assert.Equal(["cpu", "edge", "cuda", "cuda-graph", "cuda-tf32", "tensorrt", "xnnpack", "openvino", "qnn", "coreml", "nnapi"], EvaluationProfile.Known.Select(p => p.Name));
        foreach (EvaluationProfile p in EvaluationProfile.Known)
            Assert.Contains(p.Provider, ProviderRegistry.Names);
    }

    [Fact]
    public void Should_DescribeAnEmbeddedBudget_When_ProfileIsEdge()
    {
        EvaluationProfile edge = EvaluationProfile.Find("EDGE");
        Assert.Equal("cpu", edge.Provider);
        Assert.Equal(1, edge.IntraOpThreads);
        Assert.Equal(ExecutionMode.ORT_SEQUENTIAL, edge.Mode);
        Assert.False(edge.MemoryArena);
        Assert.True(edge.PreferInt8);
        Assert.Equal(Environment.ProcessorCount, EvaluationProfile.Find("cpu").IntraOpThreads);
        Assert.Equal("use_tf32=0", EvaluationProfile.Find("cuda").ProviderOptionsText);
        EvaluationProfile graph = EvaluationProfile.Find("cuda-graph");
        Assert.Equal("enable_cuda_graph=1;use_tf32=0", graph.ProviderOptionsText); // recorded in every result row
        Assert.True(graph.CapturesGraph && graph.OutputsOnDevice);
        Assert.False(EvaluationProfile.Find("cuda").CapturesGraph);
        Assert.Equal("", edge.ProviderOptionsText);
    }

    [Fact]
    public void Should_AskForAGraphId_When_ACapturingProfileIsMeasured()
    {
        // a CPU session is enough: the id is checked before any run (without it a second measurement of a session would
        // time a replay of the first's captured graph)
        string model = Path.Combine(Path.GetTempPath(), $"spikernel-graphid-{Guid.NewGuid():N}.onnx");
        try
        {
            ForeignModels.ReluMaxPool(model);
            using var session = new InferenceSession(model);
            var ex = Assert.Throws<ArgumentException>(() => Measurement.LatencyMeter.Measure(session, EvaluationProfile.Find("cuda-graph"), session.InputNames[0],
                new float[session.InputMetadata.Values.First().Dimensions.Select(d => Math.Max(d, 1)).Aggregate(1, (a, b) => a * b)],
                [.. session.InputMetadata.Values.First().Dimensions.Select(d => (long)Math.Max(d, 1))], new Measurement.LatencyOptions(0, 1)));
            Assert.Contains("needs its own graph id", ex.Message);
        }
        finally
        {
            File.Delete(model);
        }
    }

    [Fact]
    public void Should_CaptureGraphsOnlyOnTheCudaGraphProfile_When_ProfilesAreListed()
    {
        // the one profile whose session replays a captured graph: its timed batch sizes and untimed passes get graph ids
        Assert.Equal(["cuda-graph"], EvaluationProfile.Known.Where(p => p.CapturesGraph).Select(p => p.Name));
    }

    [Fact]
    public void Should_NameTheKnownProfiles_When_ANameIsUnknown()
    {
        var ex = Assert.Throws<SettingsException>(() => EvaluationProfile.ParseList("cpu, tpu"));
        Assert.Equal("Unknown provider or profile 'tpu'; known: cpu,edge,cuda,cuda-graph,cuda-tf32,tensorrt,xnnpack,openvino,qnn,coreml,nnapi.", ex.Message);
    }

    [Fact]
    public void Should_KeepOrderAndDropDuplicates_When_ParsingAList()
    {
        Assert.Equal(["edge", "cpu"], EvaluationProfile.ParseList("edge,cpu,edge").Select(p => p.Name));
        Assert.Throws<SettingsException>(() => EvaluationProfile.ParseList(" , "));
    }
}
