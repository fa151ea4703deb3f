using SpiKernel.Core.Csv;
using System.Globalization;
using SpiKernel.Core;
using SpiKernel.Models.Architecture;
using SpiKernel.Pipeline.Data;
using SpiKernel.Pipeline.Training;

namespace SpiKernel.Pipeline.Stages;

/// <summary>Settings of <see cref="TrainStage"/>.</summary>
/// <param name="Architecture">The network (its input shape and classes follow the data unless <paramref name="ExplicitShape"/>).</param>
/// <param name="Training">Optimiser, schedule, epochs, seed.</param>
/// <param name="OutputDirectory">The run folder (checkpoint, metrics.csv, architecture.txt).</param>
/// <param name="Data"><c>embedded</c>, a data folder, or null for the default (full Fashion-MNIST when installed, else embedded;
/// on resume, the data the checkpoint was trained on).</param>
/// <param name="Dataset">Forces the folder's kind; detected from its files when null.</param>
/// <param name="ExplicitShape">The user fixed input shape and classes: do not adapt them to the data.</param>
/// <param name="Resume">Continue from the last completed epoch in <paramref name="OutputDirectory"/> (refused when there is none).</param>
/// <param name="TrainImages">Train on at most this many training images (class-balanced, seeded); null: all.</param>
/// <param name="ValidationImages">With <paramref name="TrainImages"/>: validate on up to this many images, the validation
/// split topped up with training images left out of the training (never ones it trains on); null: the split alone.</param>
/// <param name="NewEpochs">On resume, <see cref="TrainOptions.Epochs"/> may differ from the checkpoint's (not below the
/// epochs trained): the training goes on to that many, the epochs still to come on the cosine schedule of the new total.</param>
public sealed record TrainStageOptions(SnnArchitecture Architecture, TrainOptions Training, string OutputDirectory,
    string? Data = null, DatasetKind? Dataset = null, bool ExplicitShape = false, bool Resume = false, int? TrainImages = null,
    bool NewEpochs = false, int? ValidationImages = null);

/// <summary>What <see cref="TrainStage"/> produced.</summary>
/// <param name="Architecture">The architecture trained (after fitting it to the data).</param>
/// <param name="DataSource">Where the data came from.</param>
/// <param name="Training">Per-epoch metrics and test accuracy.</param>
public sealed record TrainStageResult(SnnArchitecture Architecture, string DataSource, TrainResult Training);

/// <summary>Trains one network (TorchSharp, surrogate gradients, BPTT over T) into a run folder.</summary>
public sealed class TrainStage : IStage<TrainStageOptions, TrainStageResult>
{
    /// <inheritdoc />
    public string Name => "train";

    /// <inheritdoc />
    public bool IsComplete(TrainStageOptions options) =>
        StageMarker.Matches(options.OutputDirectory, Name, Identity(options));

    /// <inheritdoc />
    public TrainStageResult Run(TrainStageOptions options, IProgressObserver progress, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(progress);
        options.Training.Validate();
        string statePath = Path.Combine(options.OutputDirectory, Trainer.StateFile);
        if (options.Resume && !File.Exists(statePath))
            throw Trainer.NothingToResume(options.OutputDirectory);
        if (!options.Resume && File.Exists(statePath)) // a new training would write over a checkpoint someone may still want
            throw new SettingsException($"{options.OutputDirectory} holds a training already ({Trainer.StateFile}): continue it with --resume, or train into another --out (or delete that folder)");
        // a resume continues on the checkpoint's own data unless told otherwise (the default could have changed since)
        string? data = options.Data ?? (options.Resume && TrainState.Load(statePath).DataSource is { Length: > 0 } saved ? saved : null);
        DataSplit split = DatasetCatalog.Load(data, options.Dataset ?? (options.Resume ? DatasetCatalog.KindFor(data, options.Architecture.Macro.Classes) : null));
        if (options.TrainImages is { } n) split = split.WithTrainImages(n, options.Training.Seed, options.ValidationImages);
        SnnArchitecture arch = ArchitectureFit.ToData(options.Architecture, options.ExplicitShape, split.Train);
        OutputFolder.EnsureWritable(options.OutputDirectory); // once the inputs are known good: a refusal leaves no empty folder
        using UnitLock held = UnitLock.For(options.OutputDirectory, Name, $"the training in {options.OutputDirectory}");
        // taken once the inputs are known good: another process may have trained here meanwhile (a scheduler's task beside a
        // run --resume), and a start from scratch would write over what it made
        if (!options.Resume && File.Exists(statePath))
            throw new InvalidDataException($"{options.OutputDirectory}: another process trained there while this one loaded its data; run again to continue or read its training");
        progress.Note($"data   {split.Source}: {split.Train.Count} train / {split.Test.Count} test images, {split.Train.ClassNames.Count} classes");
        progress.Note($"model  {arch} (candidate {arch.CandidateId})");
        progress.Note($"size   {arch.ParameterCount().ToString("N0", CultureInfo.InvariantCulture)} parameters");
        if (arch.Macro.BaseChannels % 16 != 0)
            progress.Note($"note   channels={arch.Macro.BaseChannels} is not a multiple of 16: libtorch's CPU convolution backward has given NaN gradients for such widths (docs/train.md#known-defect-nan-gradients-in-tiny-networks)");
        string marker = StageMarker.PathIn(options.OutputDirectory, Name);
        byte[]? completed = File.Exists(marker) ? File.ReadAllBytes(marker) : null;
        StageMarker.Clear(options.OutputDirectory, Name);
        TrainResult result;
        try
        {
            result = Trainer.Run(arch, split, options.Training, options.OutputDirectory, options.Resume, progress, cancel, options.NewEpochs);
        }
        catch (TrainingDivergedException ex)
        {
            StageMarker.Write(options.OutputDirectory, DivergedMarker, Identity(options), ex.Message); // a longer job takes it as this unit's outcome
            throw;
        }
        catch (SettingsException) when (completed is not null)
        {
            // a resume refused before it touched the folder (other settings, data or network): a finished training stays finished
            AtomicFile.WriteAllBytes(marker, completed);
            throw;
        }
        StageMarker.Clear(options.OutputDirectory, DivergedMarker); // trained after all (a refused resume leaves the record)
        StageMarker.Write(options.OutputDirectory, Name, Identity(options), outputs: Outputs(options.OutputDirectory));
        return new TrainStageResult(arch, split.Source, result);
    }

    // what is wrong with a finished training's files, or null when they are whole: a checkpoint.json that is gone or does
    // not read, weights that are gone or do not load into its network, fewer epochs in metrics.csv than it completed
    private static string? Unsound(TrainStageOptions options)
    {
        string folder = options.OutputDirectory;
        try
        {
            TrainState state = TrainState.Load(Path.Combine(folder, Trainer.StateFile));
            if (state.TestAccuracy is null || state.TestCorrect is null || state.TestCount is null) return $"{Trainer.StateFile} has no test result";
            using (var net = new SpiKernel.Models.Network.SpikingNetwork(SnnArchitecture.Parse(state.Architecture)))
                Trainer.LoadWeights(net, Trainer.CommittedWeights(folder, state));
            int epochs = CsvFile.ReadCompleteRows<EpochMetrics>(Path.Combine(folder, Trainer.MetricsFile)).Count(m => m.Epoch <= state.CompletedEpochs);
            return epochs < state.CompletedEpochs ? $"{Trainer.MetricsFile} holds {epochs} of its {state.CompletedEpochs} epochs" : null;
        }
        // what the files say of themselves; an error of the file system (a permission, a stale handle) is not damage and
        // deletes nothing: it propagates
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException or EndOfStreamException or InvalidDataException or SettingsException)
        {
            return ex.Message;
        }
    }

    // what a finished training is: its checkpoint, weights and epochs (one changed since is checked: RunOrResume)
    private static string[] Outputs(string folder) =>
        [Path.Combine(folder, Trainer.StateFile), Trainer.CommittedWeights(folder), Path.Combine(folder, Trainer.MetricsFile)];

    /// <summary>
    /// Why the training of these options in their folder diverged (<see cref="TrainingDivergedException"/>), when it did;
    /// else null. The same settings diverge again at the same step (but for libtorch's nondeterministic NaN gradients in
    /// narrow convolutions): a longer job records the unit's outcome and goes on; deleting the record
    /// (<c>.stage-train.diverged.json</c> in the folder) makes it train again.
    /// </summary>
    public string? Diverged(TrainStageOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return StageMarker.Read(options.OutputDirectory, DivergedMarker, Identity(options))?.Note;
    }

    /// <summary>Whether the unit has an outcome: trained (<see cref="IsComplete"/>), or its training diverged (<see cref="Diverged"/>).</summary>
    public bool IsSettled(TrainStageOptions options) => IsComplete(options) || Diverged(options) is not null;

    /// <summary>
    /// The stage as a unit of a longer job: reads the result back when the folder holds it complete, continues an
    /// interrupted training of the same settings, or trains from the start. A training of these settings that diverged
    /// before is not tried again: it throws <see cref="TrainingDivergedException"/> at once.
    /// </summary>
    public TrainStageResult RunOrResume(TrainStageOptions options, IProgressObserver progress, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(options);
        string folder = options.OutputDirectory;
        StageMarker.State marked = StageMarker.StateOf(folder, Name, Identity(options)); // IsComplete's look, taken once
        if (marked == StageMarker.State.Standing) return ReadCompleted(folder);
        if (Diverged(options) is { } why) throw new TrainingDivergedException(why);
        string state = Path.Combine(folder, Trainer.StateFile);
        if (marked == StageMarker.State.Changed)
        {
            // finished once, and its files changed since. Damaged, cut or deleted: nothing sound to continue from (weights
            // that do not load, epochs missing from the curves and the study's validation), so the unit trains again from
            // the start, to the same weights where its training is repeatable. Whole (weights replaced by hand, a copy's
            // line endings): the resume below checks them against these settings, as any resume does, and records them.
            // Decided and deleted under the folder's lock, so a process training there meanwhile loses nothing
            using UnitLock held = UnitLock.For(folder, Name, $"the training in {folder}");
            if (StageMarker.OutputsChanged(folder, Name, Identity(options)) && Unsound(options) is { } damage)
            {
                progress.Note($"{folder}: its finished training is not whole ({damage}); training it again from the start");
                StageMarker.Clear(folder, Name);
                foreach (string file in new[] { Trainer.StateFile, Trainer.MetricsFile }) File.Delete(Path.Combine(folder, file));
            }
        }
        bool started = File.Exists(state);
        // a started unit goes on with the thread count its epochs ran on, whatever share of the cores this process got
        // (libtorch's sums and the spike convolution's parts follow the thread count: the weights of an interrupted run
        // then equal an uninterrupted one's), at most this machine's cores
        if (started && TrainState.Load(state).Threads is { } ran && Math.Min(ran, Environment.ProcessorCount) is var keep && keep != options.Training.EffectiveThreads)
        {
            progress.Note(keep == ran
                ? $"continuing on {keep} thread{(keep == 1 ? "" : "s")}, as the checkpoint's epochs ran (not {options.Training.EffectiveThreads})"
                : $"continuing on {keep} threads, this machine's cores (the checkpoint's epochs ran on {ran})");
            options = options with { Training = options.Training with { Threads = keep } };
        }
        return Run(options with { Resume = started }, progress, cancel);
    }

    /// <summary>
    /// The options of one training into <paramref name="folder"/> as a user asks for it (<c>spikernel train</c>): with
    /// <paramref name="resume"/> and no network given (<paramref name="architectureGiven"/> false), the folder's own
    /// (its architecture.txt, already fitted to the data), else <paramref name="architecture"/>'s; on a resume the
    /// checkpoint's settings under those <paramref name="given"/>, and a given epoch count trains on to that total.
    /// </summary>
    /// <exception cref="InvalidDataException">The folder's architecture.txt or checkpoint cannot be read.</exception>
    public static TrainStageOptions ForFolder(string folder, TrainSettingsGiven given, bool architectureGiven,
        Func<(SnnArchitecture Architecture, bool ExplicitShape)> architecture, string? data, DatasetKind? dataset, bool resume)
    {
        ArgumentNullException.ThrowIfNull(given);
        ArgumentNullException.ThrowIfNull(architecture);
        (SnnArchitecture arch, bool explicitShape) = resume && !architectureGiven && FolderArchitecture(folder) is { } saved ? (saved, true) : architecture();
        bool resuming = resume && File.Exists(Path.Combine(folder, Trainer.StateFile));
        TrainOptions training = given.Resolve(resuming ? SavedSettings(folder) : null);
        return new TrainStageOptions(arch, training, folder, data, dataset, explicitShape, resume, NewEpochs: resuming && given.Epochs is not null);
    }

    /// <summary>The network a training folder records (architecture.txt, fitted to its data), or null when it has none.</summary>
    /// <exception cref="InvalidDataException">The file is there but is not an architecture.</exception>
    internal static SnnArchitecture? FolderArchitecture(string folder)
    {
        string path = Path.Combine(folder, Trainer.ArchitectureFile);
        return File.Exists(path) ? Saved(path) : null;
    }

    // the folder's own record of its network: unreadable is a corrupt input file, not a bad --arch the user never gave
    private static SnnArchitecture Saved(string path)
    {
        try
        {
            string text = File.ReadAllText(path).Trim();
            return SnnArchitecture.Parse(text.Length > 0 ? text : throw new SettingsException("the file is empty"));
        }
        catch (SettingsException ex)
        {
            throw new InvalidDataException($"{path}: not an architecture this tool wrote ({ex.Message}); restore it, or give the network with --arch", ex);
        }
    }

    /// <summary>
    /// The training settings of the checkpoint in <paramref name="folder"/> (with the thread count its epochs ran on):
    /// what a resume continues with unless told otherwise.
    /// </summary>
    /// <exception cref="InvalidDataException">No checkpoint there, or not one this version reads.</exception>
    public static TrainOptions SavedSettings(string folder)
    {
        string statePath = Path.Combine(folder, Trainer.StateFile);
        if (!File.Exists(statePath)) throw Trainer.NothingToResume(folder);
        TrainState state = TrainState.Load(statePath);
        try
        {
            return TrainSettingsText.Parse(state.Options, state.Threads ?? 0);
        }
        catch (InvalidDataException ex)
        {
            throw new InvalidDataException($"{statePath}: {ex.Message}", ex);
        }
    }

    /// <summary>The result of a finished training in <paramref name="folder"/> (its checkpoint.json and metrics.csv).</summary>
    public static TrainStageResult ReadCompleted(string folder)
    {
        TrainState state = TrainState.Load(Path.Combine(folder, Trainer.StateFile));
        if (state.TestAccuracy is not { } accuracy || state.TestCorrect is not { } correct || state.TestCount is not { } count)
            throw new InvalidDataException($"{folder}: the training there has no test accuracy yet (not finished)");
        List<EpochMetrics> epochs = CsvFile.ReadAll<EpochMetrics>(Path.Combine(folder, Trainer.MetricsFile));
        return new TrainStageResult(SnnArchitecture.Parse(state.Architecture), state.DataSource,
            new TrainResult(folder, epochs, accuracy, correct, count, state.ValCount, state.ValRight()));
    }

    private string DivergedMarker => Name + ".diverged";

    // internal: a test plants the outcome of a training it cannot make diverge on purpose
    internal static string Identity(TrainStageOptions o) =>
        $"arch={o.Architecture} explicit-shape={o.ExplicitShape} data={o.Data ?? "default"} dataset={o.Dataset?.ToString() ?? "detect"} " +
        TrainSettingsText.Describe(o.Training, o.Training.Augment ?? Augmentation.None) + (o.Training.Augment is null ? " (augment: data default)" : "") +
        (o.TrainImages is { } n ? string.Create(CultureInfo.InvariantCulture, $" train-images={n}") : "") +
        (o.TrainImages is not null && o.ValidationImages is { } v ? string.Create(CultureInfo.InvariantCulture, $" validation-images={v}") : "");
}
