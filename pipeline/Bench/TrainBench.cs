using System.Diagnostics;
using SpiKernel.Core;
using SpiKernel.Evaluators.Measurement;
using SpiKernel.Models.Architecture;
using SpiKernel.Models.Network;
using SpiKernel.Pipeline.Data;
using SpiKernel.Pipeline.Training;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SpiKernel.Pipeline.Bench;

/// <summary>Settings of <see cref="TrainBench"/>.</summary>
/// <param name="Architecture">The network trained (SGD, weight decay 5e-4, no augmentation).</param>
/// <param name="Steps">Measured training steps (≥ 1).</param>
/// <param name="Warmup">Steps run before measuring (≥ 0).</param>
/// <param name="Batch">Batch size (≥ 1).</param>
/// <param name="Threads">Torch threads (0: all cores).</param>
internal sealed record TrainBenchOptions(SnnArchitecture Architecture, int Steps = 30, int Warmup = 3, int Batch = 64, int Threads = 0);

/// <summary>What <see cref="TrainBench"/> measured.</summary>
/// <param name="Architecture">The network trained.</param>
/// <param name="Batch">Batch size.</param>
/// <param name="Threads">Torch threads used (all cores resolved to their count).</param>
/// <param name="MeanMs">Mean milliseconds per measured step.</param>
/// <param name="P50Ms">Median milliseconds per step.</param>
/// <param name="P90Ms">90th percentile milliseconds per step.</param>
/// <param name="ImagesPerSecond">Batch / mean step time.</param>
/// <param name="ResidentMibFirst">Resident memory (MiB) before the first measured step.</param>
/// <param name="ResidentMibLast">Resident memory (MiB) after the last measured step.</param>
internal sealed record TrainBenchResult(SnnArchitecture Architecture, int Batch, int Threads, double MeanMs, double P50Ms, double P90Ms,
    double ImagesPerSecond, double ResidentMibFirst, double ResidentMibLast);

/// <summary><c>bench train</c>: training speed (milliseconds per step, images/s) on the embedded Fashion-MNIST data.</summary>
internal static class TrainBench
{
    // Same cadence as training (Trainer): TorchSharp frees some native memory only when finalizers run.
    private const int GcEvery = 1;

    /// <summary>Times <see cref="TrainBenchOptions.Steps"/> training steps after <see cref="TrainBenchOptions.Warmup"/> unmeasured ones.</summary>
    public static TrainBenchResult Run(TrainBenchOptions options, IProgressObserver progress, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(progress);
        (SnnArchitecture arch, int n, int w, int b, int t) = (options.Architecture, options.Steps, options.Warmup, options.Batch, options.Threads);
        if (n < 1 || w < 0 || b < 1 || t < 0) throw new SettingsException("--steps and --batch must be ≥ 1, --warmup and --threads ≥ 0.");
        int threadCount = t > 0 ? t : Environment.ProcessorCount;
        set_num_threads(threadCount);

        ImageDataset data = FashionMnist.LoadEmbedded().Train;
        Trainer.CheckCompatible(arch, data);
        manual_seed(1);
        using var net = new SpikingNetwork(arch);
        var trainOptions = new TrainOptions(Optimizer: OptimizerKind.Sgd, BatchSize: b, WeightDecay: 5e-4);
        using OptimizerHelper optimizer = Trainer.CreateOptimizer(net, trainOptions);
        net.train();
        var rng = new Random(1);
        int[][] batches = BatchLoader.Batches(data.Count, b, rng, dropLast: true).ToArray();
        var times = new List<double>();
        using Process self = Process.GetCurrentProcess();
        double rssStart = 0;
        progress.Begin("bench train", w + n);
        for (int i = 0; i < w + n; i++)
        {
            cancel.ThrowIfCancellationRequested();
            if (i == w)
            {
                self.Refresh();
                rssStart = self.WorkingSet64 / 1048576.0;
            }
            var sw = Stopwatch.StartNew();
            Trainer.Step(net, optimizer, data, batches[i % batches.Length], Augmentation.None, null);
            sw.Stop();
            if (i >= w) times.Add(sw.Elapsed.TotalMilliseconds);
            if ((i + 1) % GcEvery == 0)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }
            progress.Advance(i + 1);
        }
        self.Refresh();
        double rssEnd = self.WorkingSet64 / 1048576.0;
        times.Sort();
        double mean = times.Average();
        return new TrainBenchResult(arch, b, threadCount, mean, LatencyStats.Percentile(times, 50), LatencyStats.Percentile(times, 90),
            b * 1000.0 / mean, rssStart, rssEnd);
    }
}
