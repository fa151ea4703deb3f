using SpiKernel.Tests.Shared;
using SpiKernel.Models.Architecture;
using SpiKernel.Models.Network;
using SpiKernel.Models.Search;
using static TorchSharp.torch;

namespace SpiKernel.Models.Tests;

/// <summary>
/// The library's tensor code under garbage collections from another thread: TorchSharp hands libtorch a scalar's bare
/// native handle, so a scalar made for one call and collected during it was freed under libtorch ("Expected false to be
/// true … toFloat at c10/core/Scalar.h"; the eval forward failed within 100 passes like this). Every path runs a fixed
/// number of passes while a second thread allocates and collects without pause.
/// </summary>
public class GcPressureTests
{
    private static SnnArchitecture Net(string cell, string surrogate) =>
        SnnArchitecture.Parse($"cell=\"{cell}\" kernels=1,3 input=1x12x12 channels=16 hidden=16 classes=3 cluster=2 sap=2 timesteps=3 surrogate={surrogate}");

    [Theory]
    [InlineData("eval", "atan")]
    [InlineData("eval-tensor-lif", "atan")] // the LIF in tensor operations, as any input the LIF kernel does not take
    [InlineData("deployed", "atan")]
    [InlineData("integer", "atan")]
    [InlineData("train", "atan")]
    [InlineData("train", "sigmoid")] // the surrogate the LIF kernel does not compute: tensor LIF, SurrogateSpike's backward
    [InlineData("train-step-by-step", "atan")]
    [InlineData("train-step-by-step", "sigmoid")]
    [InlineData("score", "atan")]
    public void Should_KeepEveryScalarAlive_When_CollectionsRunBesideTheTensorCode(string path, string surrogate)
    {
        manual_seed(3);
        using var net = new SpikingNetwork(Net(path == "train-step-by-step" ? "0203 1020 0002 0300" : "0203 0020 0002 0300", surrogate)) { MultiStep = path == "train" };
        if (path is "eval" or "eval-tensor-lif" or "deployed" or "integer") net.eval();
        if (path == "eval-tensor-lif")
            foreach ((_, Lif.LifNode lif) in net.LifLayers()) lif.UseKernel = false;
        if (path == "deployed") net.Fuse();
        if (path == "integer") net.Fuse(integer: true);
        var data = new Generator(7);
        using Tensor x = rand([4, 1, 12, 12], generator: data);
        using Tensor y = randint(0, 3, [4], generator: data);

        CollectingThread.Beside(() =>
        {
            for (int i = 0; i < 60; i++)
            {
                using var scope = NewDisposeScope();
                switch (path)
                {
                    case "train" or "train-step-by-step":
                        net.zero_grad();
                        nn.functional.cross_entropy(net.forward(x), y).backward();
                        break;
                    case "score":
                        SahdScore.Score(net, [x]);
                        break;
                    default:
                        using (no_grad()) net.forward(x);
                        break;
                }
            }
        });
    }
}
