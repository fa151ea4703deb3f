using SpiKernel.Core;
using SpiKernel.Core.Csv;
using System.Diagnostics;
using System.Globalization;
using SpiKernel.Models.Architecture;
using SpiKernel.Models.Network;
using SpiKernel.Pipeline.Data;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SpiKernel.Pipeline.Training;

/// <summary>What a finished training run produced; <paramref name="ValCount"/>: the validation images the last epoch's
/// validation accuracy is over, <paramref name="ValRight"/>: whether each of them, in order, was classified right (both
/// null in checkpoints written before they were recorded): what a paired comparison of two networks needs.</summary>
public sealed record TrainResult(string OutputDirectory, IReadOnlyList<EpochMetrics> Epochs, double TestAccuracy, int TestCorrect, int TestCount,
    int? ValCount = null, IReadOnlyList<bool>? ValRight = null);

// Tensors in training: one dispose scope per batch (training step and evaluation) frees the batch, the forward's
// intermediates, the loss and the LIF states; scalars are read out (ToDouble, ToInt64) before it ends; the network
// and the optimizer live for the run (using).
/// <summary>
/// Surrogate-gradient BPTT training of a <see cref="SpikingNetwork"/>: cross-entropy on the time-averaged logits,
/// SGD or Adam with a per-step cosine schedule, one dispose scope per batch, per-epoch metrics and checkpoints
/// (TorchSharp format) that <c>--resume</c> continues from. Every source of randomness is derived from the seed and
/// the epoch, so a resumed run reproduces an uninterrupted one.
/// </summary>
internal static partial class Trainer
{
    /// <summary>Model weights of the last completed epoch.</summary>
    public const string CheckpointFile = "checkpoint.dat";

    /// <summary>Optimizer state (momentum/Adam moments) of the last completed epoch.</summary>
    public const string OptimizerFile = "checkpoint.optim.dat";

    /// <summary>Description of the checkpoint (<see cref="TrainState"/>).</summary>
    public const string StateFile = "checkpoint.json";

    /// <summary>Per-epoch metrics.</summary>
    public const string MetricsFile = "metrics.csv";

    /// <summary>The architecture text, for <c>spikernel train --arch FILE</c> and later stages.</summary>
    public const string ArchitectureFile = "architecture.txt";

    private const int GcEverySteps = 1;
    private const int EvalBatch = 250;

    /// <summary>
    /// Trains <paramref name="architecture"/> on <paramref name="data"/> into <paramref name="outDir"/>. With
    /// <paramref name="resume"/> it continues the checkpoint there, whose settings must be the same; with
    /// <paramref name="newEpochs"/> too, only the number of epochs may differ (not below those trained): the epochs still
    /// to come follow the cosine schedule of the new total, and checkpoint.json records where it changed.
    /// </summary>
    public static TrainResult Run(SnnArchitecture architecture, DataSplit data, TrainOptions options, string outDir,
        bool resume = false, IProgressObserver? observer = null, CancellationToken cancel = default, bool newEpochs = false)
    {
        ArgumentNullException.ThrowIfNull(architecture);
        ArgumentNullException.ThrowIfNull(data);
        options.Validate();
        CheckCompatible(architecture, data.Train);
        Directory.CreateDirectory(outDir);
        int threads = options.EffectiveThreads;
        set_num_threads(threads);

        (ImageDataset train, ImageDataset val) = data.SplitValidation(options.ValidationFraction, options.Seed);
        Augmentation augment = options.Augment ?? (train.Channels == 3 ? Augmentation.CropFlip : Augmentation.None);
        if (augment.CropPadding >= Math.Min(train.Height, train.Width))
            throw new SettingsException($"--augment crop:{augment.CropPadding}: the padding must be smaller than the {train.Height}×{train.Width} images");

        manual_seed(options.Seed);
        using var net = new SpikingNetwork(architecture);
        using OptimizerHelper optimizer = CreateOptimizer(net, options);

        string statePath = Path.Combine(outDir, StateFile);
        string optionsText = TrainSettingsText.Describe(options, augment);
        int firstEpoch = 1;
        ScheduleChange[] changes = [];
        var history = new List<EpochMetrics>();
        string metricsPath = Path.Combine(outDir, MetricsFile);
        observer ??= NullProgress.Instance;
        if (resume && !File.Exists(statePath))
            throw NothingToResume(outDir);
        if (resume)
        {
            TrainState state = TrainState.Load(statePath);
            if (state.Architecture != architecture.ToString())
                throw new SettingsException($"{statePath}: the checkpoint is of a different architecture ({state.Architecture}); resume with the same one " +
                    $"(--arch {Path.Combine(outDir, ArchitectureFile)}) or use another --out.");
            changes = state.ScheduleChanges;
            TrainState? rescheduled = null;
            if (state.Options != optionsText)
            {
                bool onlyEpochs = TrainSettingsText.WithoutEpochs(state.Options) == TrainSettingsText.WithoutEpochs(optionsText);
                if (!(newEpochs && onlyEpochs))
                    throw new SettingsException($"{statePath}: the checkpoint was trained with other settings ({state.Options}); continue it with the same ones or use another --out.");
                if (options.Epochs < state.CompletedEpochs)
                    throw new SettingsException($"{statePath}: {state.CompletedEpochs} epochs are trained already; --epochs {options.Epochs} would take some back (give {state.CompletedEpochs} or more).");
                changes = [.. changes, new ScheduleChange(state.CompletedEpochs + 1, state.TotalEpochs, options.Epochs)];
                string next = options.Epochs == state.CompletedEpochs ? $"the training stops at the {options.Epochs} epochs done"
                    : (state.CompletedEpochs + 1 == options.Epochs ? $"epoch {options.Epochs} follows" : $"epochs {state.CompletedEpochs + 1}–{options.Epochs} follow") +
                      $" the cosine schedule of {options.Epochs} epochs (the first {state.CompletedEpochs} followed that of {state.TotalEpochs}); the weights differ from a {options.Epochs}-epoch run from the start";
                observer.Note($"epochs {state.TotalEpochs} → {options.Epochs}: {next}");
                rescheduled = state with
                {
                    Options = optionsText, TotalEpochs = options.Epochs, ScheduleChanges = changes,
                    TestAccuracy = null, TestCorrect = null, TestCount = null, // measured again at the new end
                };
            }
            if (state.DataSource.Length > 0 && state.DataSource != data.Source)
                throw new SettingsException($"{statePath}: the checkpoint was trained on {state.DataSource}, not {data.Source}; resume on the same data (--data {state.DataSource}) or use another --out.");
            if (state.TrainImages is { } images && images != data.Train.Count)
                throw new SettingsException($"{statePath}: the checkpoint was trained on {images} of its training images, this resume has {data.Train.Count}; resume with the same data or use another --out.");
            if (state.Threads is { } before && before != threads)
                observer.Note($"resuming on {threads} threads; the checkpoint's epochs ran on {before}: the weights will not be bit-identical to an uninterrupted run (libtorch's sums depend on the thread count)");
            if (state.Convolution is { } trainedWith && trainedWith != Convolution)
                observer.Note($"resuming on a machine {(SpikingNetwork.ConvolutionKernelRuns ? "with" : "without")} AVX-512, the checkpoint's epochs ran on one {(SpikingNetwork.ConvolutionKernelRuns ? "without" : "with")}: where the spike convolution kernel applies, training convolves with {Convolution} instead of {trainedWith}, so the weights will not be bit-identical to an uninterrupted run (the two sum in another order)");
            CommitCheckpoint(outDir, state.CompletedEpochs); // a kill after the state's commit left its weights staged
            LoadCheckpoint(net, optimizer, outDir);
            firstEpoch = state.CompletedEpochs + 1;
            history.AddRange(CsvFile.ReadLog<EpochMetrics>(metricsPath).Where(m => m.Epoch < firstEpoch));
            // recorded once the checkpoint has loaded, so the change holds when no epoch follows it, or a kill comes before the next
            rescheduled?.Save(statePath);
            // a checkpoint before ValCount was recorded is measured again only where held-out images were asked for
            if ((state.ValCount is { } validated ? validated != val.Count : data.HeldOut is not null) && firstEpoch > options.Epochs && rescheduled is null && history.Count > 0)
                state = Revalidate(net, val, state, history, statePath, metricsPath, observer);
            if (rescheduled is null && firstEpoch > options.Epochs && state is { TestAccuracy: { } testedAccuracy, TestCorrect: { } tested, TestCount: { } testedOf } && testedOf == data.Test.Count)
            {
                // finished, and the same weights on the same test images: its recorded test result stands
                observer.Note($"complete: {state.CompletedEpochs} epoch{(state.CompletedEpochs == 1 ? "" : "s")} trained and tested already");
                return new TrainResult(outDir, history, testedAccuracy, tested, testedOf, val.Count, state.ValRight());
            }
        }
        File.WriteAllText(Path.Combine(outDir, ArchitectureFile), architecture + Environment.NewLine);

        int stepsPerEpoch = (int)((train.Count + (long)options.BatchSize - 1) / options.BatchSize); // a batch near int.MaxValue: 1 step, not 0
        long totalSteps = (long)stepsPerEpoch * options.Epochs;
        string epochs = firstEpoch > 1 ? $"epochs {firstEpoch}–{options.Epochs}" : options.Epochs == 1 ? "1 epoch" : $"{options.Epochs} epochs";
        observer.Begin($"train {architecture.CandidateId}, {epochs}", (double)(options.Epochs - firstEpoch + 1) * stepsPerEpoch);

        CsvFile.WriteAll(metricsPath, history); // atomic: a kill here keeps the rows of the epochs already done
        using (var log = new CsvLog<EpochMetrics>(metricsPath, append: true))
        {
            for (int epoch = firstEpoch; epoch <= options.Epochs; epoch++)
            {
                cancel.ThrowIfCancellationRequested();
                (EpochMetrics m, bool[] valRight) = TrainEpoch(net, optimizer, train, val, options, augment, epoch, firstEpoch, stepsPerEpoch, totalSteps, outDir, observer, cancel);
                // commit order (a kill at any point resumes to the same result): the epoch's weights as temporary
                // files, its metrics row, then the state file (the commit), then the weights moved into place
                StageCheckpoint(net, optimizer, outDir, epoch);
                log.Append(m);
                log.Sync(); // on the disk before the state file commits the epoch
                new TrainState
                {
                    CompletedEpochs = epoch,
                    TotalEpochs = options.Epochs,
                    Architecture = architecture.ToString(),
                    Options = optionsText,
                    DataSource = data.Source,
                    TrainImages = data.Train.Count,
                    Threads = threads,
                    Convolution = Convolution,
                    Mean = train.Mean,
                    Std = train.Std,
                    ClassNames = [.. train.ClassNames],
                    ValAccuracy = m.ValAccuracy,
                    ValCount = val.Count,
                    ValAnswers = AnswerBits.Pack(valRight),
                    ScheduleChanges = changes,
                }.Save(statePath);
                CommitCheckpoint(outDir, epoch);
                history.Add(m);
                observer.Note(string.Create(CultureInfo.InvariantCulture,
                    $"epoch {m.Epoch}/{options.Epochs} loss {m.TrainLoss:F4} train {m.TrainAccuracy:P1} val {(double.IsNaN(m.ValAccuracy) ? "—" : m.ValAccuracy.ToString("P2", CultureInfo.InvariantCulture))} " +
                    $"lr {m.LearningRate:0.##e0} {m.Seconds:F0}s {m.ImagesPerSecond:F0}img/s RSS {m.ResidentMib:F0}MiB"));
            }
        }

        (double _, int correct, int count) = Evaluate(net, data.Test, EvalBatch);
        double accuracy = count == 0 ? double.NaN : (double)correct / count;
        TrainState final = TrainState.Load(statePath) with { TestAccuracy = accuracy, TestCorrect = correct, TestCount = count };
        final.Save(statePath);
        return new TrainResult(outDir, history, accuracy, correct, count, val.Count, final.ValRight());
    }

    private static (EpochMetrics Metrics, bool[] ValRight) TrainEpoch(SpikingNetwork net, OptimizerHelper optimizer, ImageDataset train, ImageDataset val,
        TrainOptions options, Augmentation augment, int epoch, int firstEpoch, int stepsPerEpoch, long totalSteps, string outDir,
        IProgressObserver observer, CancellationToken cancel)
    {
        manual_seed(DeriveSeed(options.Seed, epoch, 0));
        var shuffle = new Random(DeriveSeed(options.Seed, epoch, 1));
        var augRng = new Random(DeriveSeed(options.Seed, epoch, 2));
        net.train();
        var sw = Stopwatch.StartNew();
        double lossSum = 0, lr = 0;
        long correct = 0, seen = 0;
        int step = 0;
        foreach (int[] batch in BatchLoader.Batches(train.Count, options.BatchSize, shuffle))
        {
            cancel.ThrowIfCancellationRequested();
            lr = options.LearningRateAt((long)(epoch - 1) * stepsPerEpoch + step, totalSteps);
            foreach (var g in optimizer.ParamGroups) g.LearningRate = lr;
            (double loss, long right) = Step(net, optimizer, train, batch, augment, augRng);
            CheckLoss(loss, epoch, step + 1, stepsPerEpoch, lr, options, outDir);
            lossSum += loss * batch.Length;
            correct += right;
            seen += batch.Length;
            step++;
            if (step % GcEverySteps == 0)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }
            observer.Advance((double)(epoch - firstEpoch) * stepsPerEpoch + step,
                string.Create(CultureInfo.InvariantCulture, $"epoch {epoch}/{options.Epochs}  loss {lossSum / seen:F3}  acc {(double)correct / seen:P1}"));
        }
        double seconds = sw.Elapsed.TotalSeconds;
        CheckWeights(net, epoch, options, outDir);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        (double valLoss, bool[] valRight) = Answers(net, val, EvalBatch);
        int valCorrect = valRight.Count(r => r), valCount = valRight.Length;
        using var self = Process.GetCurrentProcess();
        self.Refresh();
        return (new EpochMetrics
        {
            CandidateId = net.Architecture.CandidateId,
            Epoch = epoch,
            TrainLoss = lossSum / seen,
            TrainAccuracy = (double)correct / seen,
            ValLoss = valLoss,
            ValAccuracy = valCount == 0 ? double.NaN : (double)valCorrect / valCount,
            LearningRate = lr,
            Seconds = seconds,
            ImagesPerSecond = seen / seconds,
            ResidentMib = self.WorkingSet64 / (1024.0 * 1024.0),
        }, valRight);
    }

    /// <summary>
    /// One surrogate-gradient step on the images at <paramref name="batch"/>, inside its own dispose scope;
    /// returns the batch's mean loss and its correct predictions.
    /// </summary>
    public static (double Loss, long Correct) Step(SpikingNetwork net, OptimizerHelper optimizer, ImageDataset data,
        IReadOnlyList<int> batch, Augmentation augment, Random? augRng)
    {
        using var scope = NewDisposeScope();
        (Tensor x, Tensor y) = BatchLoader.Load(data, batch, augment, augRng);
        Tensor logits = net.forward(x);
        Tensor loss = nn.functional.cross_entropy(logits, y);
        optimizer.zero_grad();
        loss.backward();
        optimizer.step();
        return (loss.item<float>(), logits.argmax(1).eq(y).sum().item<long>());
    }

    /// <summary>The optimizer of <paramref name="o"/>: weight decay on conv/linear weights, none on BN and biases.</summary>
    public static OptimizerHelper CreateOptimizer(SpikingNetwork net, TrainOptions o)
    {
        List<Parameter> decayed = [], plain = [];
        foreach ((string _, Parameter p) in net.named_parameters())
            (p.dim() > 1 ? decayed : plain).Add(p);
        return CreateOptimizer(o, decayed, plain);
    }

    private static OptimizerHelper CreateOptimizer(TrainOptions o, List<Parameter> decayed, List<Parameter> plain)
    {
        double lr = o.PeakLearningRate;
        if (o.Optimizer == OptimizerKind.Sgd)
        {
            var groups = new List<SGD.ParamGroup>
            {
                new(decayed, new SGD.Options { LearningRate = lr, momentum = o.Momentum, weight_decay = o.WeightDecay }),
                new(plain, new SGD.Options { LearningRate = lr, momentum = o.Momentum, weight_decay = 0 }),
            };
            return new KeptScalars.SGD(groups, lr, o.Momentum); // TorchSharp's SGD, its Scalars kept alive
        }
        var adam = new List<AdamW.ParamGroup>
        {
            new(decayed, new AdamW.Options { LearningRate = lr, weight_decay = o.WeightDecay }),
            new(plain, new AdamW.Options { LearningRate = lr, weight_decay = 0 }),
        };
        return new KeptScalars.AdamW(adam, lr, beta1: 0.9, beta2: 0.999); // optim.AdamW(adam, lr) with its defaults, its Scalars kept alive
    }

    /// <summary>Checks that a data set fits an architecture's input and output, with a sentence saying what differs.</summary>
    public static void CheckCompatible(SnnArchitecture architecture, ImageDataset data)
    {
        MacroConfig m = architecture.Macro;
        if (m.InChannels != data.Channels || m.Height != data.Height || m.Width != data.Width)
            throw new SettingsException($"The architecture takes {m.InChannels}x{m.Height}x{m.Width} inputs but the data ({data.Name}) is {data.Channels}x{data.Height}x{data.Width}.");
        if (m.Classes != data.ClassNames.Count)
            throw new SettingsException($"The architecture has {m.Classes} classes but the data ({data.Name}) has {data.ClassNames.Count}.");
    }

    /// <summary>Loads a run directory's last checkpoint into <paramref name="net"/>.</summary>
    public static void LoadWeights(SpikingNetwork net, string path)
    {
        if (!File.Exists(path)) throw new InvalidDataException($"{path}: the weights are missing (restore the file, or train again into another folder)");
        try
        {
            net.load(path, strict: true);
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or IOException or EndOfStreamException or NotImplementedException)
        {
            throw new InvalidDataException($"{path}: not readable as this network's weights: damaged, or of another architecture ({ex.Message})", ex);
        }
    }

    private static void LoadCheckpoint(SpikingNetwork net, OptimizerHelper optimizer, string outDir)
    {
        LoadWeights(net, Path.Combine(outDir, CheckpointFile));
        string optPath = Path.Combine(outDir, OptimizerFile);
        try
        {
            optimizer.load_state_dict(optPath);
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or IOException or EndOfStreamException or InvalidDataException)
        {
            throw new InvalidDataException($"{optPath}: not the optimizer state of this run ({ex.Message})", ex);
        }
    }

    private static string Staged(string path, int epoch) => string.Create(CultureInfo.InvariantCulture, $"{path}.e{epoch}.tmp");

    private static void StageCheckpoint(SpikingNetwork net, OptimizerHelper optimizer, string outDir, int epoch)
    {
        string weights = Staged(Path.Combine(outDir, CheckpointFile), epoch), state = Staged(Path.Combine(outDir, OptimizerFile), epoch);
        net.save(weights);
        optimizer.save_state_dict(state);
        // on disk before checkpoint.json commits them: after a power loss the state must not name empty files
        foreach (string file in new[] { weights, state })
        {
            using var f = new FileStream(file, FileMode.Open, FileAccess.ReadWrite);
            f.Flush(flushToDisk: true);
        }
    }

    // moves the weights staged for the committed epoch into place; staged files of any other epoch were never committed
    private static void CommitCheckpoint(string outDir, int committedEpoch)
    {
        foreach (string file in new[] { CheckpointFile, OptimizerFile })
        {
            string target = Path.Combine(outDir, file), staged = Staged(target, committedEpoch);
            if (File.Exists(staged)) File.Move(staged, target, overwrite: true);
            foreach (string stale in Directory.EnumerateFiles(outDir, file + ".e*.tmp")) File.Delete(stale);
        }
        AtomicFile.SyncFolder(outDir); // the moves as durable as the state file's commit before them
    }

    // which convolution trains the spike layers here (TrainState.Convolution)
    private static string Convolution => SpikingNetwork.ConvolutionKernelRuns ? "spike-kernel" : "libtorch";

    /// <summary>
    /// The weights file that the checkpoint.json of run folder <paramref name="folder"/> commits: checkpoint.dat, or its
    /// staged file where a kill came between the commit and the rename (<see cref="CommitCheckpoint"/>; only a resumed
    /// training moves it into place, so readers take it where it is).
    /// </summary>
    internal static string CommittedWeights(string folder)
    {
        string state = Path.Combine(folder, StateFile);
        return File.Exists(state) ? CommittedWeights(folder, TrainState.Load(state)) : Path.Combine(folder, CheckpointFile);
    }

    /// <summary><see cref="CommittedWeights(string)"/> with the folder's state already read.</summary>
    internal static string CommittedWeights(string folder, TrainState state)
    {
        string weights = Path.Combine(folder, CheckpointFile), staged = Staged(weights, state.CompletedEpochs);
        return File.Exists(staged) ? staged : weights;
    }

    /// <summary>What <c>--resume</c> on a folder without a checkpoint is told.</summary>
    internal static InvalidDataException NothingToResume(string folder) =>
        new($"{folder}: nothing to resume (no {StateFile}); run without --resume to start training there");

    /// <summary>A seed for one (run seed, epoch, stream) triple (SplitMix64 finaliser).</summary>
    internal static int DeriveSeed(int seed, int epoch, int stream)
    {
        ulong z = (ulong)(uint)seed * 0x9E3779B97F4A7C15UL + (ulong)epoch * 0xBF58476D1CE4E5B9UL + (ulong)stream * 0x94D049BB133111EBUL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return (int)(z & 0x7FFFFFFF);
    }
}
