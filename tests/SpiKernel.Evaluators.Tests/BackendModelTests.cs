using System.Runtime.InteropServices;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime.Tensors;
using Onnx;
using SpiKernel.Evaluators.Inputs;
using SpiKernel.Evaluators.Models;
using SpiKernel.Evaluators.Results;

namespace SpiKernel.Evaluators.Tests;

/// <summary>
/// Real ONNX backend test folders (BackendTests/, from libonnx-testdata): a fixed batch, int64 indices, two and three
/// inputs, three outputs, and an opset ONNX Runtime does not implement — measured and output-checked on cpu and edge.
/// </summary>
public class BackendModelTests : IDisposable
{
    private static readonly string Backend = Path.Combine(AppContext.BaseDirectory, "BackendTests");
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private static EvaluationRequest Request(string providers, InputOptions? inputs = null) => Evaluations.Request(providers, [1], inputs);

    private static List<EvaluationRow> Run(EvaluationRequest request, IReadOnlyList<ModelGroup> models, out int failed) => Evaluations.Run(request, models, out failed);

    private string Copy(string test)
    {
        string to = _dir.File(test);
        foreach (string f in Directory.GetFiles(Path.Combine(Backend, test), "*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(to, Path.GetRelativePath(Path.Combine(Backend, test), f));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(f, target);
        }
        return to;
    }

    [Fact]
    public void Should_FailEachInOneRowSayingWhy_When_ModelsTakeOrGiveSequencesOrOptionalValues()
    {
        // their test data read as tensors crashed the evaluation (an overflow, exit 70) or named nonsense dimensions, and
        // an optional output killed the process (SIGSEGV) with every model after it unmeasured
        IReadOnlyList<ModelGroup> groups = ModelGroup.Discover(Path.Combine(AppContext.BaseDirectory, "BackendTestsUnread"));
        List<EvaluationRow> rows = Run(Request("cpu"), groups, out int failed);
        Assert.Equal(3, failed);
        Assert.Equal(["test_identity_sequence", "test_if_opt", "test_optional_get_element"], rows.Select(r => r.Model));
        Assert.All(rows, r => Assert.Equal(EvaluationStatus.Failed, r.Status));
        Assert.Equal("input 'x' is not a tensor (sequence, map and optional inputs are not fed)", rows[0].Reason);
        Assert.Equal("output 'sequence' is an optional value, which is not fetched (only tensors and sequences are)", rows[1].Reason);
        Assert.StartsWith("input 'optional_input' is not a tensor", rows[2].Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_NameTheSetWhoseOutputsDiffer_When_AFolderHasSeveralTestDataSets()
    {
        // the row's test_data names the first set, and the note named no set at all: the failing one was taken for set 0
        string folder = Copy("test_Conv2d");
        string second = Path.Combine(folder, "test_data_set_1");
        Directory.CreateDirectory(second);
        foreach (string f in Directory.GetFiles(Path.Combine(folder, "test_data_set_0"))) File.Copy(f, Path.Combine(second, Path.GetFileName(f)));
        string output = Path.Combine(second, "output_0.pb");
        TensorProto expected = TensorProto.Parser.ParseFrom(File.ReadAllBytes(output));
        byte[] raw = expected.RawData.ToByteArray();
        BitConverter.GetBytes(BitConverter.ToSingle(raw, 0) + 0.5f).CopyTo(raw, 0);
        expected.RawData = ByteString.CopyFrom(raw);
        File.WriteAllBytes(output, expected.ToByteArray());

        EvaluationRow row = Assert.Single(Run(Request("cpu"), ModelGroup.Discover(folder), out _), r => r.Status == EvaluationStatus.Ok);
        Assert.Equal(OutputCheck.Failed, row.OutputCheck);
        Assert.Equal(1, row.OutputMismatches);
        Assert.Contains("test_data_set_1: output '", row.Note, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_MeasureAndPassTheOutputCheck_When_RealBackendTestModelsRunOnCpuAndEdge()
    {
        IReadOnlyList<ModelGroup> groups = ModelGroup.Discover(Backend);
        Assert.Equal(["test_Conv2d", "test_Embedding", "test_operator_add_broadcast", "test_operator_concat2", "test_operator_symbolic_override_nested"],
            groups.Select(g => g.Name));
        List<EvaluationRow> rows = Run(Request("cpu,edge"), groups, out int failed);

        // the model ONNX Runtime cannot load is one failed row with its words; the others lose nothing
        EvaluationRow load = Assert.Single(rows, r => r.Model == "test_operator_add_broadcast");
        Assert.Equal(EvaluationStatus.Failed, load.Status);
        Assert.Contains("Could not find an implementation for Add(6)", load.Reason);
        Assert.Equal(1, failed);

        foreach (string profile in new[] { "cpu", "edge" })
        {
            Dictionary<string, EvaluationRow> ok = rows.Where(r => r.Profile == profile && r.Status == EvaluationStatus.Ok).ToDictionary(r => r.Model);
            Assert.Equal(["test_Conv2d", "test_Embedding", "test_operator_concat2", "test_operator_symbolic_override_nested"], ok.Keys.Order());
            foreach (EvaluationRow r in ok.Values)
            {
                Assert.True(r.OutputCheck == OutputCheck.Passed, $"{r.Model} on {profile}: {r.Note}");
                Assert.Equal(0, r.OutputMismatches);
                Assert.Equal((1e-3, 1e-7), (r.OutputRtol, r.OutputAtol));
                Assert.Equal(InputSource.TestData, r.InputSource);
                Assert.Equal(BatchSource.Model, r.BatchSource);
                Assert.EndsWith("test_data_set_0", r.TestData);
                Assert.Equal(5, r.MeasuredRuns);
                Assert.True(r.LatencyMinMs > 0 && r.LatencyMinMs <= r.LatencyP50Ms && r.ThroughputSps > 0);
            }

            EvaluationRow conv = ok["test_Conv2d"];
            Assert.Equal((2, "0=2x3x7x5", 1), (conv.BatchSize, conv.InputShapes, conv.OutputsChecked));
            Assert.Equal("the model fixes batch 2 (input '0' is [2, 3, 7, 5]); no accuracy: test", conv.Note); // the request's reason for no test images
            Assert.InRange(conv.OutputMaxAbsError!.Value, 0, 1e-5);
            EvaluationRow embedding = ok["test_Embedding"];
            Assert.Equal((1, "0=1x4"), (embedding.BatchSize, embedding.InputShapes));
            Assert.Equal(0, embedding.OutputMaxAbsError); // a lookup is exact
            Assert.Equal((2, "0=2x3; 1=2x3"), (ok["test_operator_concat2"].BatchSize, ok["test_operator_concat2"].InputShapes));
            Assert.Equal((3, "0=1; 1=1; 2=1"), (ok["test_operator_symbolic_override_nested"].OutputsChecked, ok["test_operator_symbolic_override_nested"].InputShapes));

            // --batch 1 is not a size Conv2d or concat2 take: skipped with the reason, not failed
            EvaluationRow[] skipped = rows.Where(r => r.Profile == profile && r.Status == EvaluationStatus.Skipped).ToArray();
            Assert.Equal(["test_Conv2d", "test_operator_concat2"], skipped.Select(r => r.Model));
            Assert.All(skipped, r => Assert.Equal((1, BatchSource.Option), (r.BatchSize, r.BatchSource)));
            Assert.Equal("the model fixes batch 2 (input '0' is [2, 3, 7, 5]): batch 1 cannot be fed", skipped[0].Reason);
        }
        Assert.Equal(1, rows.First(r => r.Profile == "edge").IntraOpThreads);
    }

    [Fact]
    public void Should_FailTheOutputCheckButKeepTheTiming_When_AnExpectedValueIsOff()
    {
        string folder = Copy("test_Conv2d");
        string output = Path.Combine(folder, "test_data_set_0", "output_0.pb");
        TensorProto expected = TensorProto.Parser.ParseFrom(File.ReadAllBytes(output));
        float[] values = MemoryMarshal.Cast<byte, float>(expected.RawData.Span).ToArray();
        values[5] += 0.01f;
        expected.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan()));
        File.WriteAllBytes(output, expected.ToByteArray());

        EvaluationRow row = Run(Request("cpu"), ModelGroup.Discover(folder), out _).Single(r => r.BatchSize == 2);
        Assert.Equal(EvaluationStatus.Ok, row.Status);
        Assert.True(row.LatencyP50Ms > 0);
        Assert.Equal(OutputCheck.Failed, row.OutputCheck);
        Assert.Equal(1, row.OutputMismatches);
        Assert.InRange(row.OutputMaxAbsError!.Value, 0.0099, 0.0101);
        Assert.Contains("output '3' element 5:", row.Note);

        // a tolerance that allows the difference passes, and the row says which tolerance it used
        row = Run(Request("cpu", new InputOptions(Tolerance: new OutputTolerance(Rtol: 0, Atol: 0.02))), ModelGroup.Discover(folder), out _).Single(r => r.BatchSize == 2);
        Assert.Equal(OutputCheck.Passed, row.OutputCheck);
        Assert.Equal((0.0, 0.02), (row.OutputRtol, row.OutputAtol));
    }

    [Fact]
    public void Should_FeedSeededIndicesBelowTheEmbeddingSize_When_NoTestDataIsGiven()
    {
        string model = Path.Combine(Backend, "test_Embedding", "model.onnx");
        TensorSpec ids = Assert.Single(ModelInfo.Load(model).Inputs);
        // Gather over a 4-row weight: seeded indices stay below 4 (the default range, 0–9, would run out of bounds)
        Assert.Equal((TensorElementType.Int64, 4L), (ids.ElementType, ids.IndexLimit));

        HostTensor a = SeededInputs.Create([ids], [[4, 1000]], seed: 3)[0];
        double[] v = Enumerable.Range(0, 4000).Select(i => a[i]).ToArray();
        Assert.All(v, x => Assert.InRange(x, 0, 3));
        Assert.Equal(4, v.Distinct().Count());
        Assert.Equal(a.Data, SeededInputs.Create([ids], [[4, 1000]], seed: 3)[0].Data);
        Assert.NotEqual(a.Data, SeededInputs.Create([ids], [[4, 1000]], seed: 4)[0].Data);

        // the file alone (not its test folder): seeded, nothing to compare
        EvaluationRow row = Assert.Single(Run(Request("cpu", new InputOptions(Seed: 3)), ModelGroup.Discover(model), out int failed));
        Assert.Equal(0, failed);
        Assert.Equal((EvaluationStatus.Ok, InputSource.Seeded, 3), (row.Status, row.InputSource, row.Seed));
        Assert.Null(row.OutputCheck);
    }

    [Fact]
    public void Should_CheckOutputs_When_TestDataComeAsNpyAndNpzFiles()
    {
        string conv = Path.Combine(Backend, "test_Conv2d");
        HostTensor x = TensorProtoReader.Read(Path.Combine(conv, "test_data_set_0", "input_0.pb"));
        HostTensor y = TensorProtoReader.Read(Path.Combine(conv, "test_data_set_0", "output_0.pb"));
        Directory.CreateDirectory(_dir.File("npy"));
        // numpy saves float64 unless told otherwise: the input is converted to the model's float
        File.WriteAllBytes(_dir.File("npy/input_0.npy"), NpyFiles.Npy("<f8", x.Shape, NpyFiles.AsFloat64(x.Data)));
        File.WriteAllBytes(_dir.File("npy/output_0.npy"), NpyFiles.Npy("<f4", y.Shape, y.Data));
        NpyFiles.Npz(_dir.File("inputs.npz"), ("0", NpyFiles.Npy("<f4", x.Shape, x.Data)));

        string model = Path.Combine(conv, "model.onnx");
        EvaluationRow fromNpy = Run(Request("cpu", new InputOptions(Path: _dir.File("npy"))), ModelGroup.Discover(model), out _).Single(r => r.Status == EvaluationStatus.Ok);
        Assert.Equal((InputSource.TestData, OutputCheck.Passed, 0L), (fromNpy.InputSource, fromNpy.OutputCheck, fromNpy.OutputMismatches));
        Assert.Equal(_dir.File("npy"), fromNpy.TestData);

        EvaluationRow fromNpz = Run(Request("cpu", new InputOptions(Path: _dir.File("inputs.npz"))), ModelGroup.Discover(model), out _).Single(r => r.Status == EvaluationStatus.Ok);
        Assert.Equal((InputSource.TestData, 2, "0=2x3x7x5"), (fromNpz.InputSource, fromNpz.BatchSize, fromNpz.InputShapes));
        Assert.Null(fromNpz.OutputCheck); // an .npz holds inputs only
    }
}
