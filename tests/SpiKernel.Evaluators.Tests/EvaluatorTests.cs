using SpiKernel.Core;
using SpiKernel.Evaluators.Measurement;
using SpiKernel.Evaluators.Models;
using SpiKernel.Evaluators.Providers;
using SpiKernel.Evaluators.Results;

namespace SpiKernel.Evaluators.Tests;

public class EvaluatorTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private static EvaluationRequest Request(string providers, params int[] batches) => Evaluations.Request(providers, batches, warmup: 2, repeats: 15);

    private static List<EvaluationRow> Run(EvaluationRequest request, IReadOnlyList<ModelGroup> models, out int failed) => Evaluations.Run(request, models, out failed);

    [Fact]
    public void Should_MeasureAForeignModel_When_ItUsesOperatorsOurExporterNeverEmits()
    {
        string path = ForeignModels.ReluMaxPool(_dir.File("foreign.onnx"));
        List<EvaluationRow> rows = Run(Request("cpu,edge", 1, 8), ModelGroup.Discover(path), out int failed);

        Assert.Equal(0, failed);
        Assert.Equal(4, rows.Count);
        Assert.Equal([("cpu", 1), ("cpu", 8), ("edge", 1), ("edge", 8)], rows.Select(r => (r.Profile, r.BatchSize)));
        foreach (EvaluationRow r in rows)
        {
            Assert.Equal(EvaluationStatus.Ok, r.Status);
            Assert.Equal("CPUExecutionProvider", r.Provider);
            Assert.Equal("fp32", r.Precision);
            Assert.Equal(15, r.MeasuredRuns);
            Assert.True(r.LatencyMinMs > 0);
            Assert.True(r.LatencyMinMs <= r.LatencyP50Ms && r.LatencyP50Ms <= r.LatencyP90Ms && r.LatencyP90Ms <= r.LatencyP99Ms && r.LatencyP99Ms <= r.LatencyMaxMs);
            Assert.True(r.ThroughputSps > 0);
            Assert.True(r.SessionCreateMs > 0);
            Assert.Equal(36 + 4 + 640 + 10, r.Parameters);
            Assert.Equal((36 + 4 + 640 + 10) * 4, r.WeightBytes);
            Assert.Null(r.AccuracyTop1); // no metadata to feed it: no accuracy columns
            Assert.Null(r.Timesteps);
            Assert.False(string.IsNullOrEmpty(r.OrtVersion));
        }
        Assert.Equal(1, rows.First(r => r.Profile == "edge").IntraOpThreads);
        Assert.False(rows.First(r => r.Profile == "edge").MemoryArena);
    }

    [SkippableFact]
    public void Should_RecordSkippedRowsWithOrtsReason_When_ProviderCannotRunHere()
    {
        Skip.If(HostInfo.Current().Gpus.Count > 0, "a GPU is present: the CUDA provider may run here");
        string path = ForeignModels.ReluMaxPool(_dir.File("m.onnx"));
        List<EvaluationRow> rows = Run(Request("cuda,xnnpack,coreml,cpu", 1), ModelGroup.Discover(path), out int failed);

        Assert.Equal(0, failed);
        Assert.Equal([EvaluationStatus.Skipped, EvaluationStatus.Skipped, EvaluationStatus.Skipped, EvaluationStatus.Ok], rows.Select(r => r.Status));
        // the CUDA provider is in this build but its libraries (CUDA 13, cuDNN 9) are not on this machine
        Assert.Contains("CUDA", rows[0].Reason, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("libonnxruntime_providers_cuda.so", rows[0].Reason);
        Assert.Contains("cannot open shared object file", rows[0].Reason);
        Assert.DoesNotContain("[ONNXRuntimeError]", rows[0].Reason); // ORT's source location is left out (see SessionFactoryTests)
        Assert.Contains("XnnpackExecutionProvider is not in this ONNX Runtime build", rows[1].Reason);
        Assert.Contains("CoreMLExecutionProvider", rows[2].Reason);
        Assert.All(rows.Take(3), r => Assert.Null(r.LatencyP50Ms));
    }

    [SkippableFact]
    public void Should_MeasureCuda_When_AGpuIsPresent()
    {
        Skip.If(HostInfo.Current().Gpus.Count == 0, "no NVIDIA GPU on this machine (/proc/driver/nvidia/gpus is empty); the CUDA path is covered up to the missing provider by the skip test");
        string path = ForeignModels.ReluMaxPool(_dir.File("m.onnx"));
        List<EvaluationRow> rows = Run(Request("cuda", 1, 8), ModelGroup.Discover(path), out _);
        Assert.All(rows, r => Assert.True(r.Status == EvaluationStatus.Ok, r.Reason));
        Assert.All(rows, r => Assert.True(r.OutputsOnDevice));
    }

    [SkippableFact]
    public void Should_MeasureCudaGraph_When_AGpuIsPresent()
    {
        Skip.If(HostInfo.Current().Gpus.Count == 0, "no NVIDIA GPU on this machine (/proc/driver/nvidia/gpus is empty); cuda-graph needs the CUDA provider and a device to copy its input to");
        string path = ForeignModels.ReluMaxPool(_dir.File("m.onnx"));
        // two batch sizes: each captured as its own graph (graph ids per measurement), neither replaying the other's
        List<EvaluationRow> rows = Run(Request("cuda,cuda-graph", 1, 8), ModelGroup.Discover(path), out _);
        Assert.All(rows, r => Assert.True(r.Status == EvaluationStatus.Ok, r.Reason));
        Assert.Equal([1, 8], rows.Where(r => r.Profile == "cuda-graph").Select(r => r.BatchSize ?? 0).Order());
        Assert.All(rows.Where(r => r.Profile == "cuda-graph"), r => Assert.Equal("enable_cuda_graph=1;use_tf32=0", r.ProviderOptions));
    }

    [SkippableFact]
    public void Should_SkipCudaGraphWithTheReason_When_NoGpuIsPresent()
    {
        Skip.If(HostInfo.Current().Gpus.Count > 0, "a GPU is present: the cuda-graph profile may run here");
        string path = ForeignModels.ReluMaxPool(_dir.File("m.onnx"));
        EvaluationRow row = Assert.Single(Run(Request("cuda-graph", 1), ModelGroup.Discover(path), out int failed));
        Assert.Equal(0, failed);
        Assert.Equal(EvaluationStatus.Skipped, row.Status);
        Assert.Contains("libonnxruntime_providers_cuda.so", row.Reason);
        Assert.Equal("enable_cuda_graph=1;use_tf32=0", row.ProviderOptions);
    }

    [Fact]
    public void Should_FailTheModelInOneRow_When_TheFileIsNotOnnx()
    {
        string path = _dir.File("notes.onnx");
        File.WriteAllText(path, "these are my notes, not a model\n");
        List<EvaluationRow> rows = Run(Request("cpu,edge", 1, 64), ModelGroup.Discover(path), out int failed);
        Assert.Equal(1, failed);
        EvaluationRow row = Assert.Single(rows);
        Assert.Equal(EvaluationStatus.Failed, row.Status);
        Assert.Null(row.BatchSize);
        Assert.Equal("", row.Profile);
        Assert.Equal("fp32", row.Precision); // the variant asked for, so that the ranking can void that precision's measurements
        Assert.StartsWith($"{path}: not an ONNX model", row.Reason);
    }

    [Fact]
    public void Should_MeasureTheModel_When_ItsMetadataNamesAKeyTwice()
    {
        // ONNX Runtime loads it; reading the metadata into a dictionary threw (a crash of the whole evaluation, exit 70)
        string path = ForeignModels.ReluMaxPool(_dir.File("twice.onnx"));
        var proto = Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        proto.MetadataProps.Add(new Onnx.StringStringEntryProto { Key = "author", Value = "first" });
        proto.MetadataProps.Add(new Onnx.StringStringEntryProto { Key = "author", Value = "second" });
        File.WriteAllBytes(path, Google.Protobuf.MessageExtensions.ToByteArray(proto));
        Assert.Equal("second", ModelInfo.Load(path).Metadata["author"]);
        List<EvaluationRow> rows = Run(Request("cpu", 1), ModelGroup.Discover(path), out int failed);
        Assert.Equal(0, failed);
        Assert.Equal(EvaluationStatus.Ok, Assert.Single(rows).Status);
    }

    [Fact]
    public void Should_SayTheFileIsTruncated_When_HalfAModelIsGiven()
    {
        string full = ForeignModels.ReluMaxPool(_dir.File("full.onnx"));
        byte[] bytes = File.ReadAllBytes(full);
        string cut = _dir.File("cut.onnx");
        File.WriteAllBytes(cut, bytes[..(bytes.Length / 2)]);
        var ex = Assert.Throws<InvalidDataException>(() => ModelInfo.Load(cut));
        Assert.StartsWith($"{cut}: ", ex.Message);
        Assert.Contains("truncated", ex.Message);
    }

    [Fact]
    public void Should_GroupFloatAndInt8Variants_When_DiscoveringAFolder()
    {
        foreach (string f in new[] { "a.onnx", "a.int8.onnx", "b.onnx", "c.int8.onnx" }) File.WriteAllText(_dir.File(f), "");
        IReadOnlyList<ModelGroup> groups = ModelGroup.Discover(_dir.Path);
        Assert.Equal(["a", "b", "c"], groups.Select(g => g.Name));
        Assert.Equal((_dir.File("a.onnx"), _dir.File("a.int8.onnx")), (groups[0].FloatPath, groups[0].Int8Path));
        Assert.Null(groups[1].Int8Path);
        Assert.Null(groups[2].FloatPath);
        // one file brings its sibling
        ModelGroup single = ModelGroup.Discover(_dir.File("a.onnx")).Single();
        Assert.Equal(_dir.File("a.int8.onnx"), single.Int8Path);
        Assert.Throws<FileNotFoundException>(() => ModelGroup.Discover(_dir.File("missing.onnx")));
    }

    [Fact]
    public void Should_MeasureTheNamedInt8File_When_ItIsGivenItself()
    {
        // `evaluate NAME.int8.onnx` measured NAME.onnx on cpu: the file named is the one measured on every profile
        string float32 = ForeignModels.ReluMaxPool(_dir.File("a.onnx"));
        string int8 = ForeignModels.ReluMaxPool(_dir.File("a.int8.onnx"));
        List<EvaluationRow> rows = Run(Request("cpu,edge", 1), ModelGroup.Discover(int8), out _);
        Assert.Equal([("cpu", int8), ("edge", int8)], rows.Select(r => (r.Profile, r.ModelPath))); // (the precision column reads the weights: fp32 here)
        // the float sibling still comes along where it is asked for, and naming the float file is as before
        Assert.Contains(Run(Request("cpu", 1) with { Precision = PrecisionChoice.All }, ModelGroup.Discover(int8), out _), r => r.ModelPath == float32);
        Assert.Equal([("cpu", float32), ("edge", int8)], Run(Request("cpu,edge", 1), ModelGroup.Discover(float32), out _).Select(r => (r.Profile, r.ModelPath)));
    }

    [Fact]
    public void Should_SkipWithReason_When_AskedForAnInt8VariantThatDoesNotExist()
    {
        string path = ForeignModels.ReluMaxPool(_dir.File("m.onnx"));
        EvaluationRequest request = Request("cpu", 1) with { Precision = PrecisionChoice.Int8 };
        List<EvaluationRow> rows = Run(request, ModelGroup.Discover(path), out int failed);
        Assert.Equal(0, failed);
        Assert.Equal(EvaluationStatus.Skipped, rows.Single().Status);
        Assert.Contains("no int8 variant of m", rows.Single().Reason);
    }

    [Fact]
    public void Should_TimeForAGivenDuration_When_DurationReplacesRepeats()
    {
        string path = ForeignModels.ReluMaxPool(_dir.File("m.onnx"));
        EvaluationRequest request = Request("cpu", 1) with { Latency = new LatencyOptions(Warmup: 1, Repeats: 3, Duration: TimeSpan.FromMilliseconds(300)) };
        EvaluationRow row = Run(request, ModelGroup.Discover(path), out _).Single();
        Assert.Equal(EvaluationStatus.Ok, row.Status);
        // the timed runs themselves fill most of the 300 ms (the loop's own bookkeeping takes the rest), not 3 runs' worth
        Assert.True(row.MeasuredRuns * row.LatencyMeanMs >= 150, $"{row.MeasuredRuns} runs of {row.LatencyMeanMs} ms");
        Assert.True(row.MeasuredRuns > 3, $"{row.MeasuredRuns} runs in 300 ms"); // far more than --repeats on a model this small
        Assert.True(row.MeasuredRuns * row.LatencyMinMs <= 300 + 1e-6);
    }

    [Fact]
    public void Should_RejectBatchZero_When_Validating()
    {
        var ex = Assert.Throws<SettingsException>(() => Request("cpu", 0).Validated());
        Assert.Equal("--batch sizes must be at least 1 (got 0).", ex.Message);
    }
}
