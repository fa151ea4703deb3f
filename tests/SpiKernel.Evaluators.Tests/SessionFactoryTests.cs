using SpiKernel.Evaluators.Providers;

namespace SpiKernel.Evaluators.Tests;

public class SessionFactoryTests
{
    [Fact]
    public void Should_KeepWhatFailed_When_OrtsSourceLocationIsLeftOutOfASkipReason()
    {
        // ONNX Runtime 1.31's message when the CUDA provider's libraries are missing (a machine without CUDA 13)
        const string ort = "[ErrorCode:Fail] /onnxruntime_src/onnxruntime/core/session/provider_bridge_ort.cc:2043 onnxruntime::Provider& "
            + "onnxruntime::ProviderLibrary::Get() [ONNXRuntimeError] : 1 : FAIL : Failed to load library /x/libonnxruntime_providers_cuda.so "
            + "with error: libcublasLt.so.13: cannot open shared object file: No such file or directory";

        Assert.Equal("Failed to load library /x/libonnxruntime_providers_cuda.so with error: libcublasLt.so.13: cannot open shared object file: "
            + "No such file or directory", SessionFactory.WithoutOrtLocation(ort));
        Assert.Equal("XnnpackExecutionProvider is not in this ONNX Runtime build", SessionFactory.WithoutOrtLocation("XnnpackExecutionProvider is not in this ONNX Runtime build"));
        Assert.Equal("a [ErrorCode:Fail] later", SessionFactory.WithoutOrtLocation("a [ErrorCode:Fail] later")); // only a leading location
    }
}
