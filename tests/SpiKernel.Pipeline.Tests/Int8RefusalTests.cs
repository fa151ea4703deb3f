using SpiKernel.Cli;
using SpiKernel.Exporters;
using SpiKernel.Models.Architecture;
using SpiKernel.Models.Network;
using SpiKernel.Pipeline.Data;
using SpiKernel.Pipeline.Stages;
using SpiKernel.Pipeline.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace SpiKernel.Pipeline.Tests;

/// <summary>
/// export --verify refuses an int8 file that loses more answers than weight rounding may, though it matches the integer
/// form it is checked against (which shares its quantisation and so cannot see such a loss).
/// </summary>
public class Int8RefusalTests
{
    [Fact]
    public void Should_RefuseTheInt8FileButNotTheFloatOne_When_TheInt8WeightsCannotHoldTheNetwork()
    {
        using var run = new TempDir();
        DataSplit all = FashionMnist.LoadEmbedded();
        var data = new DataSplit(all.Train.Subset(Enumerable.Range(0, 2000).ToArray(), "train"), all.Test.Subset(Enumerable.Range(0, 200).ToArray(), "test"), "embedded (first 2000/200)");
        Trainer.Run(TrainerTests.Tiny, data, new TrainOptions(Epochs: 2, BatchSize: 32, ValidationFraction: 0, Threads: 2), run.Path);

        Unholdable(TrainerTests.Tiny, Trainer.CommittedWeights(run.Path));

        string[] verify = ["--verify", "--data", "embedded", "--verify-images", "200"];
        var fp32 = CliTests.Run(["export", run.Path, "--out", run.File("m.onnx"), .. verify]);
        Assert.True(fp32.Code == 0, fp32.Err);
        var int8Options = new ExportStageOptions(run.Path, run.File("m.int8.onnx"), new ExportOptions(Precision: WeightPrecision.Int8), true, 200, "embedded");
        var int8 = CliTests.Run(["export", run.Path, "--out", int8Options.OutputPath, "--quantize", "int8", .. verify]);
        CliTests.AssertOneLineError(int8, ExitCodes.VerificationFailed, "images weight rounding may cost, so its quantisation is wrong or the network does not suit int8 weights");
        Assert.False(File.Exists(int8Options.OutputPath));
        Assert.True(File.Exists(int8Options.OutputPath + ExportStage.UnverifiedSuffix));
        // recorded for these weights, so a run goes on without the file (and does not export it again on resume)
        var stage = new ExportStage();
        Assert.True(stage.IsRefused(int8Options));
        Assert.False(stage.IsComplete(int8Options));
        Assert.False(stage.IsRefused(int8Options with { VerifyImages = 100 }));
    }

    /// <summary>
    /// Rewrites the weights file <paramref name="weights"/> of <paramref name="architecture"/> so that its float answers
    /// stay and its int8 weights cannot hold them: fc2 scaled by 1/300 (weights and bias) but for one column, set to the
    /// largest weight for every output. The float logits all move together (the answers stay; the logits stay small,
    /// where float rounding is far below 1e-4), while each output's int8 weights, scaled to that column, round to it
    /// alone (the others are under 0.43 steps).
    /// </summary>
    internal static void Unholdable(SnnArchitecture architecture, string weights)
    {
        using var net = new SpikingNetwork(architecture);
        Trainer.LoadWeights(net, weights);
        using (no_grad())
        using (NewDisposeScope()) // the temporaries; the parameters are the network's
        {
            Tensor fc2 = net.named_parameters().Single(p => p.name == "fc2.weight").parameter;
            Tensor bias = net.named_parameters().Single(p => p.name == "fc2.bias").parameter;
            float largest = fc2.abs().max().item<float>();
            using Scalar divisor = 300f.ToScalar(), fill = largest.ToScalar(); // alive for the calls (docs/train.md, a scalar freed under libtorch)
            fc2.div_(divisor);
            bias.div_(divisor);
            fc2[.., 0].fill_(fill);
        }
        net.save(weights);
    }
}
