using System.Globalization;
using SpiKernel.Core;
using SpiKernel.Core.Csv;
using SpiKernel.Models.Architecture;
using SpiKernel.Models.Search;
using SpiKernel.Pipeline.Data;
using SpiKernel.Pipeline.Ranking;
using SpiKernel.Pipeline.Reports;
using SpiKernel.Pipeline.Training;

namespace SpiKernel.Pipeline.Stages;

/// <summary>Settings of <see cref="KernelStudyStage"/>.</summary>
/// <param name="Template">The cell and macro network studied; every cell convolution is set to one size k in turn.</param>
/// <param name="Sizes">The kernel sizes studied.</param>
/// <param name="Training">Training of each size (the same seed for every size).</param>
/// <param name="OutputDirectory">Folder of kernel-study.csv, the plots, proposed-sets.txt and one run folder per size (k1/, k3/, …).</param>
/// <param name="Data">As for train.</param>
/// <param name="ExplicitShape">The user fixed input shape and classes.</param>
/// <param name="TrainImages">Train each size on at most this many training images (class-balanced); null: all.</param>
/// <param name="BudgetParameters">The search's parameter budget: proposed sets with sizes whose single-size network exceeds it say so.</param>
/// <param name="ValidationImages">With <paramref name="TrainImages"/>: each size's validation accuracy, which the proposals
/// are made on, is over up to this many images — the validation split topped up with training images no size trains on
/// (a few hundred images alone leave the sizes' accuracies several points uncertain); null: the split alone.</param>
public sealed record KernelStudyOptions(SnnArchitecture Template, KernelSet Sizes, TrainOptions Training, string OutputDirectory,
    string? Data = null, bool ExplicitShape = false, int? TrainImages = null, long? BudgetParameters = null, int? ValidationImages = null);

/// <summary>What <see cref="KernelStudyStage"/> produced.</summary>
/// <param name="Points">One result per size.</param>
/// <param name="Proposed">Kernel sets proposed from the points (SpiKernel step 2).</param>
/// <param name="ProposedSetsPath">The file the search reads with <c>--kernels @FILE</c>.</param>
public sealed record KernelStudyResult(IReadOnlyList<KernelStudyPoint> Points, IReadOnlyList<ProposedSet> Proposed, string ProposedSetsPath);

/// <summary>
/// SpiKernel steps 1 and 2: the same cell with every convolution at one size k, trained briefly per k (each size a
/// resumable run folder of its own); a CSV, two plots, and kernel sets proposed from the results.
/// </summary>
public sealed class KernelStudyStage : IStage<KernelStudyOptions, KernelStudyResult>
{
    /// <summary>One row per studied size.</summary>
    public const string CsvFile = "kernel-study.csv";

    /// <summary>Kernel sets proposed from the study, in the format <c>search --kernels @FILE</c> reads.</summary>
    public const string ProposedSetsFile = "proposed-sets.txt";

    private readonly TrainStage _train = new();

    /// <inheritdoc />
    public string Name => "kernel-study";

    /// <inheritdoc />
    public bool IsComplete(KernelStudyOptions options) =>
        StageMarker.Matches(options.OutputDirectory, Name, Identity(options));

    /// <inheritdoc />
    public KernelStudyResult Run(KernelStudyOptions options, IProgressObserver progress, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(options);
        DataSplit.RefuseCounts(options.TrainImages, options.ValidationImages); // before the marker goes: a bad count leaves a finished study as it was
        StageMarker.Clear(options.OutputDirectory, Name);
        TrainSizes(options, options.Sizes.Sizes.ToArray(), progress, cancel);
        return Summarize(options, write: true);
    }

    /// <summary>
    /// Trains <paramref name="sizes"/> (some of the study's: one shard's units), each in its own run folder
    /// (<see cref="SizeOptions"/>); a size already trained is left as it is, one cut short continues.
    /// </summary>
    internal void TrainSizes(KernelStudyOptions options, IReadOnlyList<int> sizes, IProgressObserver progress, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(sizes);
        ArgumentNullException.ThrowIfNull(progress);
        options.Training.Validate();
        DataSplit.RefuseCounts(options.TrainImages, options.ValidationImages);
        CellTopology cell = options.Template.EffectiveCell;
        if (!Enumerable.Range(0, CellTopology.Nodes * CellTopology.Nodes).Any(e => options.Template.Kernels.Operation(cell[e / CellTopology.Nodes, e % CellTopology.Nodes]).Kind == CellOpKind.Conv))
            throw new SettingsException($"the study's cell {cell} has no convolution: every kernel size would train the same network");
        int[] unknown = sizes.Except(options.Sizes.Sizes).ToArray();
        if (unknown.Length > 0) throw new ArgumentException($"kernel size {string.Join(", ", unknown)} is not one of the study's ({options.Sizes})", nameof(sizes));
        OutputFolder.EnsureWritable(options.OutputDirectory);
        foreach (int k in sizes)
        {
            TrainStageOptions train = SizeOptions(options, k);
            if (_train.IsComplete(train)) continue;
            progress.Note(string.Create(CultureInfo.InvariantCulture, $"k = {k}: {train.Architecture.Cell} kernels={{{k}}}, {train.Architecture.ParameterCount():N0} parameters"));
            try
            {
                _train.RunOrResume(train, progress, cancel);
            }
            catch (TrainingDivergedException ex) // the size's outcome (its folder records it): the study goes on with the others
            {
                progress.Note(string.Create(CultureInfo.InvariantCulture, $"k = {k}: left out of the proposals: {ex.Message}"));
            }
        }
    }

    /// <summary>Whether size <paramref name="k"/> of the study is done: trained, or its training diverged.</summary>
    internal bool IsSizeComplete(KernelStudyOptions options, int k) => _train.IsSettled(SizeOptions(options, k));

    /// <summary>
    /// The study's result from its trained sizes (every one must be complete). With <paramref name="write"/>, the
    /// stage's outputs too (CSV, plots, proposed sets, then its marker); without, nothing is written — what a task
    /// beside others reads before the study's outputs are merged.
    /// </summary>
    internal KernelStudyResult Summarize(KernelStudyOptions options, bool write)
    {
        ArgumentNullException.ThrowIfNull(options);
        var points = new List<KernelStudyPoint>();
        var answers = new Dictionary<int, IReadOnlyList<bool>?>();
        foreach (int k in options.Sizes.Sizes)
        {
            TrainStageOptions train = SizeOptions(options, k);
            if (_train.Diverged(train) is { } why)
            {
                SnnArchitecture fitted = TrainStage.FolderArchitecture(train.OutputDirectory) ?? train.Architecture;
                points.Add(new KernelStudyPoint(fitted.CandidateId, k, fitted.ParameterCount(), fitted.MacCount(), double.NaN, 0,
                    Status: KernelStudyStatus.Diverged, Reason: why));
                continue;
            }
            if (!_train.IsComplete(train)) throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture, $"{train.OutputDirectory}: kernel size {k} is not trained yet"));
            TrainStageResult result = TrainStage.ReadCompleted(train.OutputDirectory);
            double? val = result.Training.Epochs.Count > 0 && !double.IsNaN(result.Training.Epochs[^1].ValAccuracy) ? result.Training.Epochs[^1].ValAccuracy : null;
            points.Add(new KernelStudyPoint(result.Architecture.CandidateId, k, result.Architecture.ParameterCount(), result.Architecture.MacCount(),
                result.Training.TestAccuracy, result.Training.Epochs.Sum(e => e.Seconds), val, val is null ? null : result.Training.ValCount, result.Training.TestCount));
            answers[k] = val is null ? null : result.Training.ValRight;
        }
        // every size is validated on the same images (same data, seed and counts): each compared with the best, pair by pair
        if (points.Where(p => p.ValAccuracy is not null).OrderByDescending(p => p.ValAccuracy).ThenBy(p => p.Parameters).ThenBy(p => p.Kernel).FirstOrDefault() is { } top)
            points = points.Select(p => p == top || p.Status == KernelStudyStatus.Diverged ? p : p with { ValPairedP = RankStatistics.McNemarP(answers[top.Kernel], answers[p.Kernel]) }).ToList();
        KernelStudyPoint[] trained = [.. points.Where(p => p.Status == KernelStudyStatus.Trained)];
        if (trained.Length == 0)
            throw new SettingsException($"the training of every kernel size of the study diverged; k = {points[0].Kernel}: {points[0].Reason}");
        IReadOnlyList<ProposedSet> proposed = KernelStudy.Propose(points, options.BudgetParameters);
        string setsPath = Path.Combine(options.OutputDirectory, ProposedSetsFile);
        if (write)
        {
            StageMarker.Clear(options.OutputDirectory, Name);
            Core.Csv.CsvFile.WriteAll(Path.Combine(options.OutputDirectory, CsvFile), points);
            Plots.KernelStudy(trained, options.OutputDirectory); // a size that diverged has no accuracy to plot
            AtomicFile.WriteAllText(setsPath, KernelStudy.Format(proposed));
            StageMarker.Write(options.OutputDirectory, Name, Identity(options), outputs: [Path.Combine(options.OutputDirectory, CsvFile), setsPath]);
        }
        return new KernelStudyResult(points, proposed, setsPath);
    }

    /// <summary>Size <paramref name="k"/>'s name: its folder, its unit in shard records and worker notes ("k3").</summary>
    public static string SizeName(int k) => string.Create(CultureInfo.InvariantCulture, $"k{k}");

    /// <summary>The training of size <paramref name="k"/>: the template with every cell convolution at k, in folder k{k}/.</summary>
    public static TrainStageOptions SizeOptions(KernelStudyOptions options, int k)
    {
        ArgumentNullException.ThrowIfNull(options);
        (CellTopology cell, KernelSet single) = KernelStudy.SingleSize(options.Template.Cell, options.Template.Kernels, k);
        SnnArchitecture arch = (options.Template with { Cell = cell, Kernels = single }).Validated();
        return new TrainStageOptions(arch, options.Training, Path.Combine(options.OutputDirectory, SizeName(k)), options.Data,
            ExplicitShape: options.ExplicitShape, TrainImages: options.TrainImages, ValidationImages: options.ValidationImages);
    }

    private static string Identity(KernelStudyOptions o) =>
        $"template={o.Template} sizes={o.Sizes} explicit-shape={o.ExplicitShape} data={o.Data ?? "default"} " +
        (o.TrainImages is { } n ? $"train-images={n} " : "") + // not the budget: it only words the proposals' reasons
        (o.TrainImages is not null && o.ValidationImages is { } v ? $"validation-images={v} " : "") +
        TrainSettingsText.Describe(o.Training, o.Training.Augment ?? Augmentation.None);
}
