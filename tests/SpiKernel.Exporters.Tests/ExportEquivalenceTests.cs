using Onnx;
using SpiKernel.Models.Architecture;
using SpiKernel.Models.Network;
using TorchSharp;
using static TorchSharp.torch;
using Tensor = TorchSharp.torch.Tensor;

namespace SpiKernel.Exporters.Tests;

public class ExportEquivalenceTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("spikernel-export-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>30 random architectures × both layouts, float32 and int8 (the int8 file against the integer deployed form).</summary>
    public static TheoryData<int, TimestepLayout, bool, WeightPrecision> Cases()
    {
        var data = new TheoryData<int, TimestepLayout, bool, WeightPrecision>();
        foreach (WeightPrecision precision in new[] { WeightPrecision.Float32, WeightPrecision.Int8 })
        {
            for (int i = 0; i < 30; i++)
            {
                data.Add(i, TimestepLayout.Batched, i % 3 != 0, precision);
                data.Add(i, TimestepLayout.Step, i % 3 == 0, precision);
            }
        }
        return data;
    }

    /// <summary>A few real optimisation steps on random inputs, so weights and BatchNorm statistics are no longer initial.</summary>
    internal static void Train(SpikingNetwork net, int steps, int seed)
    {
        MacroConfig m = net.Architecture.Macro;
        manual_seed(seed);
        using var opt = optim.Adam(net.parameters(), 0.01);
        net.train();
        for (int s = 0; s < steps; s++)
        {
            using var scope = NewDisposeScope();
            Tensor x = randn(8, m.InChannels, m.Height, m.Width) * 2;
            Tensor y = randint(0, m.Classes, [8]);
            Tensor loss = nn.functional.cross_entropy(net.forward(x), y);
            opt.zero_grad();
            loss.backward();
            opt.step();
        }
        net.eval();
    }

    /// <summary>A small network with <paramref name="cell"/> (16 channels: 4 can train to NaN), trained <paramref name="steps"/> steps from <paramref name="seed"/>.</summary>
    private static SpikingNetwork Trained(string cell, int timesteps, int seed, int steps)
    {
        manual_seed(seed);
        var net = new SpikingNetwork(SnnArchitecture.Parse(
            $"cell=\"{cell}\" kernels=1,3 input=1x12x12 channels=16 hidden=16 classes=4 cluster=3 sap=2 stem-stride=1 timesteps={timesteps}"));
        Train(net, steps, seed);
        return net;
    }

    /// <summary>Exports <paramref name="net"/> to NAME.onnx and checks it against TorchSharp on 6 seeded images (× <paramref name="scale"/>); returns the file.</summary>
    private string ExportAndVerify(SpikingNetwork net, string name, ExportOptions options, int imageSeed, double scale)
    {
        MacroConfig m = net.Architecture.Macro;
        string path = Path.Combine(_dir, name + ".onnx");
        SnnOnnxExporter.Save(SnnOnnxExporter.Export(net, options), path);
        manual_seed(imageSeed);
        using Tensor images = randn(6, m.InChannels, m.Height, m.Width) * scale;

        VerificationResult r = ExportVerifier.Verify(net, path, images); // an int8 file against TorchSharp's integer form

        Assert.True(r.MaxAbsLogitDiff <= 1e-4, $"{net.Architecture}: max |Δlogits| = {r.MaxAbsLogitDiff:E2}");
        Assert.True(r.DifferingSpikeCounts == 0, $"{net.Architecture}: {r.DifferingSpikeCounts} of {r.TotalSpikeCounts} spike counts differ");
        Assert.Equal(6 * net.LifLayers().Count, r.TotalSpikeCounts);
        if (options.Precision == WeightPrecision.Float32)
        {
            // and the training form (Conv → BatchNorm per timestep, unfolded): the deployed form shares the exporter's
            // folding arithmetic, so a mistake in it would pass the comparison above
            VerificationResult t = ExportVerifier.Verify(net, path, images, fused: false);
            Assert.True(t.AgreesWhereSpikesAgree(0.05), $"{net.Architecture}: against the training form max |Δlogits| {t.MaxAbsLogitDiff:E2} ({t.MaxAbsLogitDiffSameSpikes:E2} where spikes agree), {t.ImagesWithSpikeDifferences} of 6 images with other spikes");
        }
        return path;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Should_MatchTorchSharp_When_RandomArchitectureIsExported(int index, TimestepLayout layout, bool trained, WeightPrecision precision)
    {
        SnnArchitecture arch = RandomArchitectures.Sample(index);
        manual_seed(index);
        using var net = new SpikingNetwork(arch);
        if (trained) Train(net, 4, index);
        net.eval();
        ExportAndVerify(net, $"m{index}-{layout}-{precision}", new ExportOptions(layout, precision), 100 + index, 2);
    }

    [Fact]
    public void Should_RefuseToCompare_When_ThereIsNothingToCompareOrTheArgumentsDisagree()
    {
        using SpikingNetwork net = Trained("0303 0030 0002 0000", timesteps: 2, seed: 3, steps: 1);
        string path = ExportAndVerify(net, "arguments", new ExportOptions(), 103, 2);
        using Tensor none = zeros(0, 1, 12, 12), two = zeros(2, 1, 12, 12);
        Assert.Contains("at least one image", Assert.Throws<ArgumentException>(() => ExportVerifier.Verify(net, path, none)).Message); // was Samples 0, Passed
        Assert.Throws<ArgumentOutOfRangeException>(() => ExportVerifier.Verify(net, path, two, batchSize: 0));
        Assert.Contains("1 labels for 2 images", Assert.Throws<ArgumentException>(() => ExportVerifier.Verify(net, path, two, [0])).Message);
    }

    [Theory]
    [InlineData(TimestepLayout.Step)]
    [InlineData(TimestepLayout.Batched)]
    public void Should_MatchTorchSharp_When_TwoLifLayersReadTheSameInputAfterDifferentHistories(TimestepLayout layout)
    {
        // node 1 is empty at t0 and then, through the feedback skip 2 → 1, the stem's output: from t1 on edge 1 → 3 reads
        // the very input edge 0 → 3 reads, but its membrane started from a zero input, so the two must not share spikes
        using SpikingNetwork net = Trained("0013 0003 0100 0000", timesteps: 4, seed: 5, steps: 4);
        string path = ExportAndVerify(net, $"history-{layout}", new ExportOptions(layout), 105, 8);
        // whether the two membranes part on these images depends on the weights: the graph itself must keep them apart
        ModelProto model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        Assert.DoesNotContain(model.Graph.Node, n => n.Name.StartsWith("cell1.o13.", StringComparison.Ordinal) && n.Input.Any(i => i.StartsWith("cell1.o03.lif/", StringComparison.Ordinal)));
        Assert.Contains(model.Graph.Node, n => n.Name.StartsWith("cell1.o13.lif/t1/", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(TimestepLayout.Step)]
    [InlineData(TimestepLayout.Batched)]
    public void Should_MatchTheIntegerFormWithTheShiftsResidual_When_ASlotsStatisticsSawAConstantInput(TimestepLayout layout)
    {
        using SpikingNetwork net = Trained("0303 0030 0002 0000", timesteps: 3, seed: 7, steps: 3);
        using (no_grad())
        {
            // slot 0 as after training on an input that is always empty at t0: no variance, mean 0; a shift of 0.3 that
            // an accumulator unit (~60 steps here) cannot hold
            using Tensor var0 = net.named_buffers().Single(b => b.name == "cell1.o01.bn.running_var").buffer[0];
            using Tensor mean0 = net.named_buffers().Single(b => b.name == "cell1.o01.bn.running_mean").buffer[0];
            var0.fill_(1e-6);
            mean0.fill_(0);
            net.named_parameters().Single(p => p.name == "cell1.o01.bn.bias").parameter.fill_(0.3);
        }
        string path = ExportAndVerify(net, $"residual-{layout}", new ExportOptions(layout, WeightPrecision.Int8), 107, 4);
        Assert.Contains(ModelProto.Parser.ParseFrom(File.ReadAllBytes(path)).Graph.Node, n => n.OpType == "Add" && n.Input.Contains("cell1.o01.requant.t0.residual"));
    }

    [Theory]
    [InlineData(WeightPrecision.Float32)]
    [InlineData(WeightPrecision.Int8)]
    public void Should_ComputeSameResult_When_LayoutsDiffer(WeightPrecision precision)
    {
        SnnArchitecture arch = SnnArchitecture.Parse("cell=\"0332 0003 0003 0000\" kernels=1,3 input=1x12x12 channels=4 hidden=16 classes=4 cluster=3 sap=2 stem-stride=1 timesteps=4");
        manual_seed(3);
        using var net = new SpikingNetwork(arch);
        Train(net, 3, 3);
        string a = Path.Combine(_dir, "batched.onnx"), b = Path.Combine(_dir, "step.onnx");
        SnnOnnxExporter.Save(SnnOnnxExporter.Export(net, new ExportOptions(TimestepLayout.Batched, precision)), a);
        SnnOnnxExporter.Save(SnnOnnxExporter.Export(net, new ExportOptions(TimestepLayout.Step, precision)), b);
        using Tensor x = randn(5, 1, 12, 12);
        using var sa = new Microsoft.ML.OnnxRuntime.InferenceSession(a);
        using var sb = new Microsoft.ML.OnnxRuntime.InferenceSession(b);
        (float[] la, long[] ca) = ExportVerifier.RunOnnx(sa, x);
        (float[] lb, long[] cb) = ExportVerifier.RunOnnx(sb, x);
        Assert.Equal(ca, cb);
        Assert.True(la.Zip(lb).Max(p => Math.Abs(p.First - p.Second)) <= 1e-5);

        ModelProto batched = ModelProto.Parser.ParseFrom(File.ReadAllBytes(a));
        ModelProto step = ModelProto.Parser.ParseFrom(File.ReadAllBytes(b));
        int Count(ModelProto m, string op) => m.Graph.Node.Count(n => n.OpType == op);
        if (precision == WeightPrecision.Float32)
        {
            Assert.Equal(1 + 5 + 1 + 5, Count(batched, "Conv"));          // stem, cell1 edges, down, cell2 edges: once each
            Assert.Equal(1 + (5 + 1 + 5) * 4, Count(step, "Conv"));       // the stem once, the rest per timestep
            return;
        }
        // int8: the stem reads the image and stays float; every convolution on spikes is one integer convolution per
        // timestep in both layouts (a grouped one over the stacked timesteps is slower in ONNX Runtime)
        foreach (ModelProto m in new[] { batched, step })
        {
            Assert.Equal(1, Count(m, "Conv"));
            Assert.Equal((5 + 1 + 5) * 4, Count(m, "QLinearConv"));
        }
    }
}
