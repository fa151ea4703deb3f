using SpiKernel.Evaluators.Results;

namespace SpiKernel.Evaluators.Tests;

public class RowReasonTests
{
    [Fact]
    public void Should_KeepWhatFailed_When_OrtsSourceLocationIsLeftOutOfARowsReason()
    {
        // ONNX Runtime 1.31's message when the CUDA provider's libraries are missing (a machine without CUDA 13)
        const string ort = "[ErrorCode:Fail] /onnxruntime_src/onnxruntime/core/session/provider_bridge_ort.cc:2043 onnxruntime::Provider& "
            + "onnxruntime::ProviderLibrary::Get() [ONNXRuntimeError] : 1 : FAIL : Failed to load library /x/libonnxruntime_providers_cuda.so "
            + "with error: libcublasLt.so.13: cannot open shared object file: No such file or directory";

        Assert.Equal("Failed to load library /x/libonnxruntime_providers_cuda.so with error: libcublasLt.so.13: cannot open shared object file: "
            + "No such file or directory", RowBuilder.OneLine(ort));
        Assert.Equal("XnnpackExecutionProvider is not in this ONNX Runtime build", RowBuilder.OneLine("XnnpackExecutionProvider is not in this ONNX Runtime build"));
        Assert.Equal("a [ErrorCode:Fail] later", RowBuilder.OneLine("a [ErrorCode:Fail] later")); // only a leading location
    }

    [Fact]
    public void Should_PutAMessageOnOneLine_When_ItHasSeveral()
    {
        Assert.Equal("Got invalid dimensions for input: input  index: 0 Got: 3 Expected: 1",
            RowBuilder.OneLine("Got invalid dimensions for input: input\n index: 0 Got: 3\r\nExpected: 1\n"));
        // the location prefix spans what was several lines of a failed row's message too
        Assert.Equal("CUDA failure 100: no CUDA-capable device is detected",
            RowBuilder.OneLine("[ErrorCode:Fail] /onnxruntime_src/x.cc:12\nf() [ONNXRuntimeError] : 1 : FAIL : CUDA failure 100: no CUDA-capable device is detected\n"));
    }

    [Fact]
    public void Should_FailTheRowOnlyForTheModelsOrDatasFault_When_AMeasurementThrows()
    {
        // data that does not fit the model's normalisation is the input's fault: a failed row, the rest measured
        var images = new Measurement.LabelledImages("rgb", new byte[3 * 4], [0], 3, 2, 2);
        var ex = Assert.ThrowsAny<Exception>(() => images.Normalized(0, 1, [0.5f], [0.25f]));
        Assert.True(Evaluator.ModelFailure(ex), ex.GetType().Name);
        // our own bugs are not a model's failure: a duplicate key, a null, an index out of range stop the evaluation
        var twice = Assert.ThrowsAny<Exception>(() => new[] { "x", "x" }.ToDictionary(k => k));
        Assert.False(Evaluator.ModelFailure(twice));
        Assert.False(Evaluator.ModelFailure(new ArgumentNullException("session")));
        Assert.False(Evaluator.ModelFailure(new IndexOutOfRangeException()));
    }
}
