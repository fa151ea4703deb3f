using System.Buffers.Binary;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime.Tensors;
using Onnx;
using SpiKernel.Evaluators.Inputs;
using SpiKernel.Evaluators.Measurement;
using SpiKernel.Evaluators.Models;
using SpiKernel.Evaluators.Results;

namespace SpiKernel.Evaluators.Tests;

/// <summary>Test data files, shapes and batch sizes as the model and the options give them.</summary>
public class InputTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private static List<EvaluationRow> Run(string model, InputOptions inputs, params int[] batches) =>
        Evaluations.Run(Evaluations.Request("cpu", batches, inputs, repeats: 3), model);

    private static byte[] Floats(int n, float scale) =>
        Enumerable.Range(0, n).SelectMany(i => BitConverter.GetBytes(i * scale)).ToArray();

    [Fact]
    public void Should_MeasureTheDataBatchAndSeedOtherSizes_When_TheBatchIsSymbolic()
    {
        string model = ForeignModels.ReluMaxPool(_dir.File("m.onnx")); // x: [N, 1, 8, 8]
        Directory.CreateDirectory(_dir.File("data/test_data_set_0"));
        var x = new TensorProto { DataType = (int)TensorProto.Types.DataType.Float, RawData = ByteString.CopyFrom(Floats(3 * 64, 0.01f)) };
        x.Dims.Add([3, 1, 8, 8]);
        File.WriteAllBytes(_dir.File("data/test_data_set_0/input_0.pb"), x.ToByteArray());

        List<EvaluationRow> rows = Run(model, new InputOptions(Path: _dir.File("data"), Seed: 5), 1, 8);
        Assert.All(rows, r => Assert.True(r.Status == EvaluationStatus.Ok, r.Reason));
        Assert.Equal([3, 1, 8], rows.Select(r => r.BatchSize));
        Assert.Equal([BatchSource.Inputs, BatchSource.Option, BatchSource.Option], rows.Select(r => r.BatchSource!.Value));
        Assert.Equal([InputSource.TestData, InputSource.Seeded, InputSource.Seeded], rows.Select(r => r.InputSource!.Value));
        Assert.Equal(["x=3x1x8x8", "x=1x1x8x8", "x=8x1x8x8"], rows.Select(r => r.InputShapes));
        Assert.Equal([null, 5, 5], rows.Select(r => r.Seed));
        Assert.All(rows, r => Assert.Null(r.OutputCheck)); // no output_*.pb: nothing to compare
        Assert.Contains("batch 3 from the test data", rows[0].Note);
    }

    [Fact]
    public void Should_SkipTheRowsWithTheReason_When_TheTestDataHoldABatchOfZero()
    {
        string model = ForeignModels.ReluMaxPool(_dir.File("m.onnx")); // x: [N, 1, 8, 8]
        Directory.CreateDirectory(_dir.File("zero/test_data_set_0"));
        var x = new TensorProto { DataType = (int)TensorProto.Types.DataType.Float, RawData = ByteString.Empty };
        x.Dims.Add([0, 1, 8, 8]);
        File.WriteAllBytes(_dir.File("zero/test_data_set_0/input_0.pb"), x.ToByteArray());

        List<EvaluationRow> rows = Run(model, new InputOptions(Path: _dir.File("zero"), Seed: 5), 1, 8);
        // nothing is wrong with the data (the ONNX backend tests have such sets): skipped, not failed (exit 1)
        Assert.Equal([EvaluationStatus.Skipped, EvaluationStatus.Skipped], rows.Select(r => r.Status));
        Assert.All(rows, r => Assert.Contains("input 'x' holds a batch of 0: there is nothing to time", r.Reason));

        // a scalar where the model has a batch axis: no batch to read (was an IndexOutOfRangeException, exit 70)
        var scalar = new TensorProto { DataType = (int)TensorProto.Types.DataType.Float, RawData = ByteString.CopyFrom(Floats(1, 1f)) };
        File.WriteAllBytes(_dir.File("zero/test_data_set_0/input_0.pb"), scalar.ToByteArray());
        rows = Run(model, new InputOptions(Path: _dir.File("zero"), Seed: 5), 1);
        Assert.Contains("input 'x' is a scalar in the test data", Assert.Single(rows).Reason);

        // so is a second batched input (x: [N, 3], y: [N]); it was an ArgumentOutOfRangeException, exit 70
        var g = new Core.OnnxFormat.GraphBuilder();
        g.OpTo("Identity", "xo", ["x"], ["xo"]);
        g.OpTo("Identity", "yo", ["y"], ["yo"]);
        const TensorProto.Types.DataType F = TensorProto.Types.DataType.Float;
        string two = _dir.File("two-inputs.onnx");
        Core.OnnxFormat.OnnxHelper.Save(Core.OnnxFormat.OnnxHelper.Model(g.Build("two", [Core.OnnxFormat.OnnxHelper.Value("x", F, "N", 3), Core.OnnxFormat.OnnxHelper.Value("y", F, "N")],
            [Core.OnnxFormat.OnnxHelper.Value("xo", F, "N", 3), Core.OnnxFormat.OnnxHelper.Value("yo", F, "N")]), "test", "1", "two batched inputs", []), two);
        Directory.CreateDirectory(_dir.File("xy"));
        File.WriteAllBytes(_dir.File("xy/input_0.npy"), NpyFiles.Npy("<f4", [2, 3], Floats(6, 1)));
        File.WriteAllBytes(_dir.File("xy/input_1.npy"), NpyFiles.Npy("<f4", [], Floats(1, 1)));
        rows = Run(two, new InputOptions(Path: _dir.File("xy")), 1, 4);
        Assert.All(rows, r => Assert.Equal(EvaluationStatus.Failed, r.Status));
        Assert.Contains("input 'y' is a scalar in the test data", rows[0].Reason);
    }

    [Fact]
    public void Should_SkipNotFail_When_TheModelFixesTheBatchSize()
    {
        string model = ForeignModels.ReluMaxPool(_dir.File("fixed.onnx"), batch: 1L);
        List<EvaluationRow> rows = Run(model, new InputOptions(), 1, 4);
        Assert.Equal([EvaluationStatus.Ok, EvaluationStatus.Skipped], rows.Select(r => r.Status));
        Assert.Equal(BatchSource.Model, rows[0].BatchSource);
        Assert.Equal("the model fixes batch 1 (input 'x' is [1, 1, 8, 8]): batch 4 cannot be fed", rows[1].Reason);
    }

    [Fact]
    public void Should_ShapeOneNamedInput_When_InputShapeNamesIt()
    {
        string model = ForeignModels.ReluMaxPool(_dir.File("m.onnx"));
        EvaluationRow row = Assert.Single(Run(model, new InputOptions([new InputShape("x", [1, 8, 8])]), 2));
        Assert.Equal((EvaluationStatus.Ok, "x=2x1x8x8"), (row.Status, row.InputShapes));

        // a whole shape replaces the declared one; a size the model does not take is ONNX Runtime's to reject
        row = Assert.Single(Run(model, new InputOptions([new InputShape("x", [2, 1, 9, 9])]), 2));
        Assert.Equal(EvaluationStatus.Failed, row.Status);
        Assert.Contains("Got: 9 Expected: 8", row.Reason);

        row = Assert.Single(Run(model, new InputOptions([new InputShape("y", [1, 8, 8])]), 2));
        Assert.Equal(EvaluationStatus.Failed, row.Status);
        Assert.Equal("--input-shape names input 'y', which the model does not have (inputs: 'x')", row.Reason);
    }

    [Fact]
    public void Should_FailTheModelsRowsWithTheReason_When_TheTestDataHaveTooManyInputs()
    {
        string model = ForeignModels.ReluMaxPool(_dir.File("m.onnx"));
        Directory.CreateDirectory(_dir.File("two"));
        foreach (string name in new[] { "input_0.npy", "input_1.npy" })
            File.WriteAllBytes(_dir.File("two/" + name), NpyFiles.Npy("<f4", [1, 1, 8, 8], Floats(64, 1)));
        List<EvaluationRow> rows = Run(model, new InputOptions(Path: _dir.File("two")), 1, 4);
        Assert.Equal(2, rows.Count);
        Assert.All(rows, r => Assert.Equal(EvaluationStatus.Failed, r.Status));
        Assert.Equal($"{_dir.File("two")}: 2 test inputs for the model's 1 ('x')", rows[0].Reason);
    }

    [Fact]
    public void Should_ReadEveryTypedField_When_TensorProtosCarryNoRawData()
    {
        static TensorProto T(TensorProto.Types.DataType type, params long[] dims)
        {
            var t = new TensorProto { DataType = (int)type, Name = "t" };
            t.Dims.Add(dims);
            return t;
        }
        TensorProto f = T(TensorProto.Types.DataType.Float, 2);
        f.FloatData.Add([1.5f, -2f]);
        TensorProto i8 = T(TensorProto.Types.DataType.Int8, 3);
        i8.Int32Data.Add([-128, 0, 127]);
        TensorProto h = T(TensorProto.Types.DataType.Float16, 1);
        h.Int32Data.Add(BitConverter.HalfToUInt16Bits((Half)0.5));
        TensorProto u64 = T(TensorProto.Types.DataType.Uint64, 1);
        u64.Uint64Data.Add(ulong.MaxValue);
        TensorProto b = T(TensorProto.Types.DataType.Bool, 2);
        b.Int32Data.Add([1, 0]);

        HostTensor ft = TensorProtoReader.From(f);
        Assert.Equal(("t", TensorElementType.Float, 1.5, -2.0), (ft.Name, ft.Type, ft[0], ft[1]));
        Assert.Equal([2L], ft.Shape);
        Assert.Equal([-128.0, 0, 127], Enumerable.Range(0, 3).Select(i => TensorProtoReader.From(i8)[i]));
        Assert.Equal(0.5, TensorProtoReader.From(h)[0]);
        Assert.Equal(ulong.MaxValue, BinaryPrimitives.ReadUInt64LittleEndian(TensorProtoReader.From(u64).Data));
        Assert.Equal([1, 0], TensorProtoReader.From(b).Data);

        TensorProto short1 = T(TensorProto.Types.DataType.Float, 3);
        short1.FloatData.Add(1f);
        var ex = Assert.Throws<InvalidDataException>(() => TensorProtoReader.From(short1));
        Assert.Equal("4 bytes of data for float[3], which needs 12", ex.Message);
        Assert.Contains("string tensors are not supported", Assert.Throws<InvalidDataException>(() => TensorProtoReader.From(T(TensorProto.Types.DataType.String, 1))).Message);
    }

    [Fact]
    public void Should_ReadBigEndianNpyAndRefuseFortranOrder_When_NumpyWroteThem()
    {
        var big = new byte[8];
        BinaryPrimitives.WriteSingleBigEndian(big, 1.25f);
        BinaryPrimitives.WriteSingleBigEndian(big.AsSpan(4), -3f);
        File.WriteAllBytes(_dir.File("x.npy"), NpyFiles.Npy(">f4", [2], big));
        HostTensor t = NpyReader.ReadNpy(_dir.File("x.npy"));
        Assert.Equal(("x", TensorElementType.Float, 1.25, -3.0), (t.Name, t.Type, t[0], t[1]));

        byte[] fortran = NpyFiles.Npy("<f4", [1, 2], new byte[8]);
        System.Text.Encoding.ASCII.GetBytes("True ").CopyTo(fortran.AsSpan(System.Text.Encoding.ASCII.GetString(fortran).IndexOf("False", StringComparison.Ordinal)));
        File.WriteAllBytes(_dir.File("f.npy"), fortran);
        Assert.Contains("Fortran order", Assert.Throws<InvalidDataException>(() => NpyReader.ReadNpy(_dir.File("f.npy"))).Message);
        File.WriteAllText(_dir.File("n.npz"), "not a zip");
        Assert.StartsWith($"{_dir.File("n.npz")}: not an .npz archive", Assert.Throws<InvalidDataException>(() => NpyReader.ReadNpz(_dir.File("n.npz"))).Message);
    }

    [Theory]
    [InlineData("v2-short", "the header is cut short")]
    [InlineData("v2-huge-header", "the header is cut short")]     // a length beyond int: was a negative slice
    [InlineData("version-9", "format version 9")]
    [InlineData("(2, x)", "'x' is not a size")]                  // was a FormatException
    [InlineData("(-1, 2)", "'-1' is not a size")]                // was a negative byte count
    [InlineData("(4294967296, 4294967296)", "is too large")]     // was an overflow
    public void Should_SayWhatIsWrongInOneLine_When_AnNpyFileIsDamaged(string damage, string message)
    {
        static byte[] V1(string shape)
        {
            string header = $"{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}\n";
            return [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0, (byte)header.Length, 0, .. System.Text.Encoding.ASCII.GetBytes(header), .. new byte[16]];
        }
        byte[] bytes = damage switch
        {
            "v2-short" => [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 2, 0, 1, 0],
            "v2-huge-header" => [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 2, 0, 0xff, 0xff, 0xff, 0xff, 0],
            "version-9" => [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 9, 0, 0, 0, 0, 0],
            _ => V1(damage),
        };
        string path = _dir.File("bad.npy");
        File.WriteAllBytes(path, bytes);
        var ex = Assert.Throws<InvalidDataException>(() => NpyReader.ReadNpy(path));
        Assert.StartsWith($"{path}: ", ex.Message, StringComparison.Ordinal);
        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_CountNaNAndShapeDifferencesAsMismatches_When_Comparing()
    {
        static HostTensor F(long[] shape, params float[] v) =>
            new("y", TensorElementType.Float, shape, v.SelectMany(BitConverter.GetBytes).ToArray());
        var tol = new OutputTolerance();
        OutputCheckResult same = OutputComparer.Compare(F([3], 1, float.NaN, 2), F([3], 1, float.NaN, 2.001f), tol);
        Assert.Equal(0, same.Mismatches);
        Assert.InRange(same.MaxRelError, 4.9e-4, 5.1e-4);
        OutputCheckResult nan = OutputComparer.Compare(F([2], 1, 2), F([2], 1, float.NaN), tol);
        Assert.Equal((1L, "output 'y' element 1: NaN where 2 is expected"), (nan.Mismatches, nan.Note));
        OutputCheckResult shape = OutputComparer.Compare(F([2], 1, 2), F([1, 2], 1, 2), tol);
        Assert.Equal((2L, "output 'y' is [1x2] where [2] is expected"), (shape.Mismatches, shape.Note));
    }
}
