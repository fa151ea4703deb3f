using SpiKernel.Models.Architecture;
using SpiKernel.Models.Lif;
using SpiKernel.Models.Network;
using SpiKernel.Models.Search;
using TorchSharp;
using static TorchSharp.torch;

namespace SpiKernel.Models.Tests;

public class SahdScoreTests
{
    /// <summary>method.md's formula with plain loops, as the reference.</summary>
    private static double[,] NaiveK(IEnumerable<float[][]> calls)
    {
        double[,]? k = null;
        int count = 0;
        foreach (float[][] x in calls)
        {
            int b = x.Length, n = x[0].Length;
            k ??= new double[b, b];
            count++;
            for (int i = 0; i < b; i++)
            {
                for (int j = 0; j < b; j++)
                {
                    double d = 0, si = x[i].Sum(v => (double)v) / n, sj = x[j].Sum(v => (double)v) / n;
                    for (int p = 0; p < n; p++) d += x[i][p] * (1 - x[j][p]) + (1 - x[i][p]) * x[j][p];
                    double e = n * (si * (1 - sj) + (1 - si) * sj);
                    k[i, j] += n - 0.5 * d / (e + 1e-3);
                }
            }
        }
        for (int i = 0; i < k!.GetLength(0); i++)
            for (int j = 0; j < k.GetLength(1); j++)
                k[i, j] /= count;
        return k;
    }

    private static Tensor AsTensor(float[][] rows, params long[] shape) =>
        tensor(rows.SelectMany(r => r).ToArray()).reshape(shape);

    [Fact]
    public void Should_MatchFormula_When_AccumulatingRandomSpikePatterns()
    {
        var rng = new Random(3);
        var calls = Enumerable.Range(0, 3).Select(c => Enumerable.Range(0, 5)
            .Select(_ => Enumerable.Range(0, 12 + c * 4).Select(_ => rng.NextDouble() < 0.3 ? 1f : 0f).ToArray()).ToArray()).ToList();
        using var kernel = new SahdKernel(5);
        foreach (float[][] x in calls) kernel.Add(AsTensor(x, 5, 2, x[0].Length / 2));
        double[,] expected = NaiveK(calls);
        using Tensor k = kernel.Matrix();
        double[] actual = k.data<double>().ToArray();
        for (int i = 0; i < 5; i++)
            for (int j = 0; j < 5; j++)
                Assert.Equal(expected[i, j], actual[i * 5 + j], 9);
        Assert.Equal(3, kernel.Calls);
    }

    [Theory]
    [InlineData(0.02)]
    [InlineData(0.3)]
    [InlineData(0.97)]
    public void Should_EqualTheReferenceBitForBit_When_TheGramProductIsUsed(double density)
    {
        // spikes as the network gives them ([B, C, H, W] of 0/1 floats, several layer sizes, some rows silent or all-on)
        manual_seed(5);
        using var gram = new SahdKernel(16);
        using var reference = new SahdKernel(16, SahdMethod.Reference);
        foreach (long[] shape in new[] { new long[] { 16, 32, 28, 28 }, [16, 64, 14, 14], [16, 256], [16, 3, 5, 5] })
        {
            using Tensor x = rand(shape).lt(density).to_type(ScalarType.Float32);
            x[0].zero_();
            x[1].fill_(1);
            gram.Add(x);
            reference.Add(x);
        }
        using Tensor a = gram.Matrix(), b = reference.Matrix();
        Assert.Equal(b.data<double>().ToArray(), a.data<double>().ToArray());
        Assert.Equal(reference.Score(), gram.Score());
    }

    [Fact]
    public void Should_ScoreTheSameNetworkIdentically_When_EitherMethodIsUsed()
    {
        SnnArchitecture arch = SnnArchitecture.Parse("cell=\"0303 0030 2002 0200\" kernels=1,3 input=1x12x12 channels=4 hidden=16 classes=3 cluster=2 timesteps=3");
        double Run(SahdMethod method)
        {
            manual_seed(11);
            using var net = new SpikingNetwork(arch);
            manual_seed(99);
            using Tensor batch = randn(8, 1, 12, 12) * 3;
            return SahdScore.Score(net, [batch], method);
        }
        Assert.Equal(Run(SahdMethod.Reference), Run(SahdMethod.Gram));
    }

    [Fact]
    public void Should_GiveSingularMatrix_When_AllRowsAreIdentical()
    {
        using var kernel = new SahdKernel(3);
        float[] row = [1, 0, 1, 1, 0, 0, 1, 0];
        kernel.Add(AsTensor([row, row, row], 3, 8));
        using Tensor k = kernel.Matrix();
        Assert.All(k.data<double>().ToArray(), v => Assert.Equal(8.0, v, 12)); // d_H = 0 everywhere → K = N
        Assert.Equal(double.NegativeInfinity, kernel.Score());
    }

    [Fact]
    public void Should_HalveOffDiagonal_When_RowsAreComplementary()
    {
        // x1 = 1 − x0 with rate ½: d_H = N, E = N·(¼ + ¼) = N/2, so K01 = N − ½·N/(N/2 + 10⁻³)
        const int n = 10;
        float[] a = [1, 1, 1, 1, 1, 0, 0, 0, 0, 0];
        float[] b = a.Select(v => 1 - v).ToArray();
        using var kernel = new SahdKernel(2);
        kernel.Add(AsTensor([a, b], 2, n));
        double[] k = kernel.Matrix().data<double>().ToArray();
        Assert.Equal(n, k[0], 12);
        Assert.Equal(n - 0.5 * n / (n / 2.0 + 1e-3), k[1], 9);
        Assert.Equal(Math.Log(n * n - k[1] * k[1]), kernel.Score(), 9);
    }

    [Fact]
    public void Should_AddNToEveryEntry_When_LayerIsSilent()
    {
        using var kernel = new SahdKernel(4);
        kernel.Add(zeros(4, 3, 5, 5));
        Assert.All(kernel.Matrix().data<double>().ToArray(), v => Assert.Equal(75.0, v, 12));
    }

    [Fact]
    public void Should_ScoreSameValue_When_SeedAndBatchAreSame()
    {
        SnnArchitecture arch = SnnArchitecture.Parse("cell=\"0303 0030 2002 0200\" kernels=1,3 input=1x12x12 channels=4 hidden=16 classes=3 cluster=2 timesteps=3");
        double Run()
        {
            manual_seed(11);
            using var net = new SpikingNetwork(arch);
            manual_seed(99);
            using Tensor batch = randn(8, 1, 12, 12) * 3;
            return SahdScore.Score(net, [batch]);
        }
        double first = Run();
        Assert.True(double.IsFinite(first));
        Assert.Equal(first, Run());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Should_CountEveryLifCallAtEveryTimestep_When_TheCellHasFeedback(bool multiStep)
    {
        // two feedback convolutions per cell (o20, o31): training and inference skip them on the last timestep
        SnnArchitecture arch = SnnArchitecture.Parse("cell=\"0303 0030 2002 0200\" kernels=1,3 input=1x12x12 channels=4 hidden=16 classes=3 cluster=2 timesteps=3");
        manual_seed(11);
        using var net = new SpikingNetwork(arch) { MultiStep = multiStep };
        using Tensor batch = randn(8, 1, 12, 12) * 3;
        using (SahdKernel kernel = SahdScore.Accumulate(net, batch, SahdMethod.Gram))
            Assert.Equal(3 * net.LifLayers().Count, kernel.Calls); // as SNASNet's hooks count them

        int calls = 0; // inference: the last timestep's feedback LIFs stay uncalled
        foreach ((_, var lif) in net.LifLayers()) lif.SpikeObserver = (_, _) => calls++;
        using (no_grad())
            net.forward(batch).Dispose();
        Assert.Equal(3 * net.LifLayers().Count - 2 * 2, calls);
    }

    [Fact]
    public void Should_LeaveOtherSpikeListenersAttached_When_ScoringTheNetwork()
    {
        SnnArchitecture arch = SnnArchitecture.Parse("cell=\"0303 0030 2002 0200\" kernels=1,3 input=1x12x12 channels=4 hidden=16 classes=3 cluster=2 timesteps=2");
        manual_seed(12);
        using var net = new SpikingNetwork(arch);
        using Tensor batch = randn(6, 1, 12, 12) * 3;
        int heard = 0;
        Action<LifNode, Tensor> mine = (_, _) => heard++; // as a spike counter listens
        foreach ((_, LifNode lif) in net.LifLayers()) lif.SpikeObserver += mine;

        SahdScore.Score(net, [batch]);
        Assert.True(heard > 0, "the other listener heard nothing while the score ran");
        heard = 0;
        using (no_grad())
            net.forward(batch).Dispose();

        Assert.True(heard > 0, "scoring detached the other listener");
    }

    [Fact]
    public void Should_SampleSameCells_When_SeedIsSame()
    {
        string[] Draw(int seed, CellKind kind)
        {
            var rng = new Random(seed);
            return Enumerable.Range(0, 50).Select(_ => CellSampler.Sample(rng, KernelSet.Parse("1,3,5,7"), kind).ToString()).ToArray();
        }
        Assert.Equal(Draw(1, CellKind.Backward), Draw(1, CellKind.Backward));
        Assert.NotEqual(Draw(1, CellKind.Backward), Draw(2, CellKind.Backward));
        Assert.All(Draw(3, CellKind.Forward), c => Assert.False(CellTopology.Parse(c).IsBackward));
        Assert.Contains(Draw(3, CellKind.Backward), c => CellTopology.Parse(c).IsBackward);
        Assert.All(Draw(4, CellKind.Backward), c =>
        {
            CellTopology cell = CellTopology.Parse(c);
            Assert.NotEqual(0, cell[0, 3]);
            Assert.Equal(cell, cell.Pruned());
        });
    }
}
