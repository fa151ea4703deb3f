using System.Diagnostics;
using SpiKernel.Core;
using SpiKernel.Evaluators.Measurement;
using SpiKernel.Models.Architecture;
using SpiKernel.Models.Lif;
using SpiKernel.Models.Network;
using SpiKernel.Pipeline.Data;
using SpiKernel.Pipeline.Training;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SpiKernel.Pipeline.Bench;

/// <summary>Which forward path <c>bench train</c> times.</summary>
internal enum TrainPath
{
    /// <summary>Both, interleaved step by step on the same batches (the ratio is what a claim may cite).</summary>
    Both,

    /// <summary>Layers once over all timesteps, one autograd node per LIF layer (off by default in training).</summary>
    MultiStep,

    /// <summary>The step-by-step reference, one timestep at a time.</summary>
    StepByStep,
}

/// <summary>Whether <c>bench train</c> times one of training's kernels (LIF, BatchNorm, spike convolution) or what it replaced.</summary>
internal enum KernelUse
{
    /// <summary>The kernel (the default of training).</summary>
    Kernel,

    /// <summary>What the kernel replaced: tensor operations (LIF), libtorch's batch_norm or conv2d.</summary>
    Replaced,

    /// <summary>Both, interleaved step by step: the kernel's gain in one run.</summary>
    Both,
}

/// <summary>Settings of <see cref="TrainBench"/>.</summary>
/// <param name="Architecture">The network trained (SGD, weight decay 5e-4, no augmentation).</param>
/// <param name="Steps">Measured training steps (≥ 1).</param>
/// <param name="Warmup">Steps run before measuring (≥ 0).</param>
/// <param name="Batch">Batch size (≥ 1).</param>
/// <param name="Threads">Torch threads (0: all cores).</param>
/// <param name="Path">Which forward path(s) to time.</param>
/// <param name="GcEvery">Run the .NET garbage collector (and finalizers) every this many steps; 0: never.</param>
/// <param name="Lif">Which LIF arithmetic(s) to time, for every path.</param>
/// <param name="BatchNorm">Which BatchNorm arithmetic(s) to time, for every path and LIF.</param>
/// <param name="Conv">Which convolution of spikes to time, for every path, LIF and BatchNorm.</param>
internal sealed record TrainBenchOptions(SnnArchitecture Architecture, int Steps = 30, int Warmup = 3, int Batch = 64, int Threads = 0,
    TrainPath Path = TrainPath.Both, int GcEvery = 1, KernelUse Lif = KernelUse.Kernel, KernelUse BatchNorm = KernelUse.Kernel,
    KernelUse Conv = KernelUse.Kernel);

/// <summary>The figures of one path.</summary>
/// <param name="Path">multi-step or step-by-step, with ", tensor LIF", ", libtorch BN" and ", libtorch conv" when those kernels were off.</param>
/// <param name="MeanMs">Mean milliseconds per measured step.</param>
/// <param name="P50Ms">Median milliseconds per step.</param>
/// <param name="P90Ms">90th percentile milliseconds per step.</param>
/// <param name="ImagesPerSecond">Batch / mean step time.</param>
internal sealed record TrainBenchPath(string Path, double MeanMs, double P50Ms, double P90Ms, double ImagesPerSecond);

/// <summary>What <see cref="TrainBench"/> measured.</summary>
/// <param name="Architecture">The network trained.</param>
/// <param name="Batch">Batch size.</param>
/// <param name="Threads">Torch threads used (all cores resolved to their count).</param>
/// <param name="Paths">One entry per path timed, in the order they ran within each step.</param>
/// <param name="ResidentMibFirst">Resident memory (MiB) before the first measured step.</param>
/// <param name="ResidentMibLast">Resident memory (MiB) after the last measured step.</param>
/// <param name="ResidentMibPeak">Peak resident memory (MiB) of the process (VmHWM).</param>
/// <param name="Convolutions">The step's convolutions timed alone, after the steps: what everything else could at most give back.</param>
internal sealed record TrainBenchResult(SnnArchitecture Architecture, int Batch, int Threads, IReadOnlyList<TrainBenchPath> Paths,
    double ResidentMibFirst, double ResidentMibLast, double ResidentMibPeak, ConvolutionFloorResult Convolutions)
{
    /// <summary>The first path's images/s over each later path's (same run, interleaved): one per path after the first.</summary>
    public IReadOnlyList<(TrainBenchPath Path, double FirstOverThis)> Ratios =>
        Paths.Skip(1).Select(p => (p, Paths[0].ImagesPerSecond / p.ImagesPerSecond)).ToList();
}

/// <summary>
/// <c>bench train</c>: training speed (milliseconds per step, images/s) on the embedded Fashion-MNIST data, of the
/// multi-step path and the step-by-step reference, with the LIF kernel or the tensor LIF, side by side: copies of the
/// same network, each trained on the same batches, their steps interleaved so all see the same machine load.
/// </summary>
internal static class TrainBench
{
    /// <summary>Times <see cref="TrainBenchOptions.Steps"/> training steps after <see cref="TrainBenchOptions.Warmup"/> unmeasured ones.</summary>
    public static TrainBenchResult Run(TrainBenchOptions options, IProgressObserver progress, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(progress);
        (SnnArchitecture arch, int n, int w, int b, int t) = (options.Architecture, options.Steps, options.Warmup, options.Batch, options.Threads);
        if (n < 1 || w < 0 || b < 1 || t < 0 || options.GcEvery < 0) throw new SettingsException("--steps and --batch must be ≥ 1, --warmup, --threads and --gc-every ≥ 0.");
        int threadCount = t > 0 ? t : Environment.ProcessorCount;
        set_num_threads(threadCount);

        ImageDataset data = FashionMnist.LoadEmbedded().Train;
        Trainer.CheckCompatible(arch, data);
        bool[] multiSteps = options.Path switch
        {
            TrainPath.MultiStep => [true],
            TrainPath.StepByStep => [false],
            _ => [true, false],
        };
        static bool[] Uses(KernelUse use) => use switch
        {
            KernelUse.Kernel => [true],
            KernelUse.Replaced => [false],
            _ => [true, false],
        };
        (bool Multi, bool Lif, bool Bn, bool Conv)[] paths = multiSteps.SelectMany(m => Uses(options.Lif).SelectMany(l =>
            Uses(options.BatchNorm).SelectMany(k => Uses(options.Conv).Select(c => (m, l, k, c))))).ToArray();
        var nets = new List<(SpikingNetwork Net, OptimizerHelper Optimizer)>();
        try
        {
            var trainOptions = new TrainOptions(Optimizer: OptimizerKind.Sgd, BatchSize: b, WeightDecay: 5e-4);
            foreach ((bool multi, bool lifKernel, bool bnKernel, bool convKernel) in paths)
            {
                manual_seed(1);
                var net = new SpikingNetwork(arch) { MultiStep = multi };
                foreach ((string _, LifNode lif) in net.LifLayers()) lif.UseKernel = lifKernel;
                foreach (TimestepBatchNorm bn in net.modules().OfType<TimestepBatchNorm>()) bn.UseKernel = bnKernel;
                net.UseConvolutionKernel(convKernel);
                net.train();
                nets.Add((net, Trainer.CreateOptimizer(net, trainOptions)));
            }
            int[][] batches = BatchLoader.Batches(data.Count, b, new Random(1), dropLast: true).ToArray();
            List<double>[] times = paths.Select(_ => new List<double>()).ToArray();
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
                // the order turns each step (0 1 2, 1 2 0, …): no path always runs first after the collection below
                for (int k = 0; k < nets.Count; k++)
                {
                    int p = (k + i) % nets.Count;
                    var sw = Stopwatch.StartNew();
                    Trainer.Step(nets[p].Net, nets[p].Optimizer, data, batches[i % batches.Length], Augmentation.None, null);
                    sw.Stop();
                    if (i >= w) times[p].Add(sw.Elapsed.TotalMilliseconds);
                }
                if (options.GcEvery > 0 && (i + 1) % options.GcEvery == 0)
                {
                    GC.Collect();
                    GC.WaitForPendingFinalizers();
                }
                progress.Advance(i + 1);
            }
            self.Refresh();
            double rssEnd = self.WorkingSet64 / 1048576.0;
            TrainBenchPath[] rows = paths.Select((path, p) =>
            {
                List<double> sorted = times[p].Order().ToList();
                double mean = sorted.Average();
                return new TrainBenchPath((path.Multi ? "multi-step" : "step-by-step") + (path.Lif ? "" : ", tensor LIF") + (path.Bn ? "" : ", libtorch BN") + (path.Conv ? "" : ", libtorch conv"), mean, LatencyStats.Percentile(sorted, 50), LatencyStats.Percentile(sorted, 90), b * 1000.0 / mean);
            }).ToArray();
            double peak = self.PeakWorkingSet64 / 1048576.0;
            return new TrainBenchResult(arch, b, threadCount, rows, rssStart, rssEnd, peak, ConvolutionFloor.Measure(nets[0].Net, b));
        }
        finally
        {
            foreach ((SpikingNetwork net, OptimizerHelper optimizer) in nets)
            {
                optimizer.Dispose();
                net.Dispose();
            }
        }
    }
}
