using SpiKernel.Tests.Shared;
using SpiKernel.Models.Network;
using SpiKernel.Pipeline.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SpiKernel.Pipeline.Tests;

/// <summary>
/// The training's optimizers are TorchSharp's AdamW and SGD step for step — the same parameters and state files, to the
/// bit, through a learning-rate change — with their Scalars kept alive through each call, so a garbage collection on
/// another thread cannot free one under libtorch (TorchSharp's own AdamW fails within a few hundred steps that way).
/// </summary>
public class OptimizerTests
{
    [Theory]
    [InlineData(OptimizerKind.Adam, 0.0)]
    [InlineData(OptimizerKind.Adam, 0.01)]
    [InlineData(OptimizerKind.Sgd, 5e-4)]
    public void Should_StepExactlyAsTorchSharp_When_TheSameGradientsComeIn(OptimizerKind kind, double weightDecay)
    {
        var o = new TrainOptions(Optimizer: kind, WeightDecay: weightDecay);
        (SpikingNetwork ours, SpikingNetwork theirs) = (Network(), Network());
        using (ours)
        using (theirs)
        using (OptimizerHelper a = Trainer.CreateOptimizer(ours, o))
        using (OptimizerHelper b = TorchSharpOwn(theirs, o))
        {
            Assert.Equal("SpiKernel.Pipeline.Training.KeptScalars", a.GetType().Namespace);
            var data = new Generator(11);
            for (int step = 0; step < 6; step++)
            {
                using var scope = NewDisposeScope();
                Tensor x = rand([4, 1, 12, 12], generator: data);
                Tensor y = randint(0, 3, [4], generator: data);
                double lr = o.LearningRateAt(step, 6);
                foreach ((SpikingNetwork net, OptimizerHelper opt) in new[] { (ours, a), (theirs, b) })
                {
                    foreach (ParamGroup g in opt.ParamGroups) g.LearningRate = lr;
                    opt.zero_grad();
                    nn.functional.cross_entropy(net.forward(x), y).backward();
                    opt.step();
                }
            }
            foreach (((string name, Parameter p), (_, Parameter q)) in ours.named_parameters().Zip(theirs.named_parameters()))
                Assert.True(p.equal(q).all().ToBoolean(), $"{kind}: {name} differs from TorchSharp's optimizer");
            Assert.Equal(State(b), State(a)); // the same state file: a checkpoint of either resumes with the other
        }
    }

    [Theory]
    [InlineData(OptimizerKind.Adam)]
    [InlineData(OptimizerKind.Sgd)]
    public void Should_KeepEveryScalarAlive_When_CollectionsRunBesideTheSteps(OptimizerKind kind)
    {
        using SpikingNetwork net = Network();
        using OptimizerHelper opt = Trainer.CreateOptimizer(net, new TrainOptions(Optimizer: kind, WeightDecay: 0.01));
        using Tensor x = rand([4, 1, 12, 12]);
        using Tensor y = randint(0, 3, [4]);
        nn.functional.cross_entropy(net.forward(x), y).backward();
        // the same gradients: only the optimizer's own work (TorchSharp's AdamW failed within 1,500)
        CollectingThread.Beside(() =>
        {
            for (int i = 0; i < 2000; i++) opt.step();
        });
    }

    private static SpikingNetwork Network()
    {
        manual_seed(5);
        return new SpikingNetwork(Models.Architecture.SnnArchitecture.Parse(
            "cell=\"0203 0020 0002 0300\" kernels=1,3 input=1x12x12 channels=16 hidden=16 classes=3 cluster=2 sap=2 timesteps=3 dropout=0"));
    }

    // what Trainer built before: TorchSharp's optimizers from its factory functions, the same groups
    private static OptimizerHelper TorchSharpOwn(SpikingNetwork net, TrainOptions o)
    {
        List<Parameter> decayed = [], plain = [];
        foreach ((string _, Parameter p) in net.named_parameters()) (p.dim() > 1 ? decayed : plain).Add(p);
        double lr = o.PeakLearningRate;
        if (o.Optimizer == OptimizerKind.Sgd)
            return optim.SGD([new SGD.ParamGroup(decayed, new SGD.Options { LearningRate = lr, momentum = o.Momentum, weight_decay = o.WeightDecay }),
                new SGD.ParamGroup(plain, new SGD.Options { LearningRate = lr, momentum = o.Momentum, weight_decay = 0 })], lr, o.Momentum);
        return optim.AdamW([new AdamW.ParamGroup(decayed, new AdamW.Options { LearningRate = lr, weight_decay = o.WeightDecay }),
            new AdamW.ParamGroup(plain, new AdamW.Options { LearningRate = lr, weight_decay = 0 })], lr);
    }

    private static byte[] State(OptimizerHelper opt)
    {
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true)) opt.save_state_dict(writer);
        return stream.ToArray();
    }
}
