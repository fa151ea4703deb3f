using SpiKernel.Pipeline;
using System.Globalization;
using SpiKernel.Core;
using SpiKernel.Evaluators;
using SpiKernel.Evaluators.Measurement;
using SpiKernel.Evaluators.Providers;
using SpiKernel.Exporters;
using SpiKernel.Models.Architecture;
using SpiKernel.Models.Search;
using SpiKernel.Pipeline.Ranking;
using SpiKernel.Pipeline.Training;

namespace SpiKernel.Pipeline.Run;

/// <summary>
/// A <see cref="RunConfig"/> checked and turned into the settings each stage takes. Every check happens here, before
/// anything is written, so a bad configuration costs one line and no half-made run folder.
/// </summary>
internal sealed record RunPlan
{
    private RunPlan()
    {
    }

    /// <summary>The configuration it came from.</summary>
    public required RunConfig Config { get; init; }

    /// <summary>Macro network and neuron settings (cell and kernels are the search's).</summary>
    public required SnnArchitecture Template { get; init; }

    /// <summary>The kernel sizes of the study (empty when the study is off).</summary>
    public required KernelSet? StudySizes { get; init; }

    /// <summary>Kernel sets named in the configuration (empty: the study's proposals).</summary>
    public required IReadOnlyList<(string Name, KernelSet Set)> KernelSets { get; init; }

    /// <summary>Cell kind of the search.</summary>
    public required CellKind Cell { get; init; }

    /// <summary>The search budget after <see cref="TargetConfig.MaxParameters"/>.</summary>
    public required long BudgetParameters { get; init; }

    /// <summary>Training of each selected candidate.</summary>
    public required TrainOptions Training { get; init; }

    /// <summary>Training of each kernel-study size (as <see cref="Training"/>, fewer epochs).</summary>
    public required TrainOptions StudyTraining { get; init; }

    /// <summary>Exports written per candidate.</summary>
    public required IReadOnlyList<ExportOptions> Exports { get; init; }

    /// <summary>Profiles measured.</summary>
    public required IReadOnlyList<EvaluationProfile> Profiles { get; init; }

    /// <summary>Latency measurement settings.</summary>
    public required LatencyOptions Latency { get; init; }

    /// <summary>The profile whose latency filters candidates before training, if any.</summary>
    public required EvaluationProfile? Target { get; init; }

    /// <summary>Constraints of the ranking (the configuration's and those of the target).</summary>
    public required IReadOnlyList<Constraint> Constraints { get; init; }

    /// <summary>Objectives of the ranking.</summary>
    public required IReadOnlyList<Objective> Objectives { get; init; }

    /// <summary>Checks <paramref name="c"/>; throws <see cref="SettingsException"/> naming the first bad key.</summary>
    public static RunPlan From(RunConfig c)
    {
        ArgumentNullException.ThrowIfNull(c);
        if (c.Preset == RunPresets.Paper && string.IsNullOrWhiteSpace(c.Data))
            throw new SettingsException("data: the paper preset needs a CIFAR-10/100 or TinyImageNet folder (--data DIR)");
        SnnArchitecture template = Key("architecture", () => SnnArchitecture.Parse(c.Architecture));
        KernelStudyConfig ks = c.KernelStudy;
        KernelSet? sizes = null;
        if (ks.Enabled)
        {
            if (ks.Sizes.Length == 0) throw new SettingsException("kernel_study.sizes: name at least one kernel size (or set kernel_study.enabled to false)");
            sizes = Key("kernel_study.sizes", () => KernelSet.Parse(string.Join(',', ks.Sizes)));
            Positive("kernel_study.epochs", ks.Epochs);
        }
        var sets = c.Search.KernelSets.Select((text, i) => (Name: $"set{i + 1}", Set: Key("search.kernel_sets", () => KernelSet.Parse(text)))).ToArray();
        if (sets.Length == 0 && !ks.Enabled)
            throw new SettingsException("search.kernel_sets: name the kernel sets to search when the kernel study is off");
        Search.SearchRunner.RefuseRepeatedSets("search.kernel_sets", sets.Select((x, i) => (c.Search.KernelSets[i], x.Set)));
        CellKind cell = SettingWords.Parse("search.cell", c.Search.Cell, SettingWords.Cells);
        long budget = Math.Min(c.Search.BudgetParameters, c.Target.MaxParameters ?? long.MaxValue);
        Positive("selection.top", c.Selection.Top);
        if (c.Training.TrainImages is { } ti) Positive("training.train_images", ti);
        if (ks.TrainImages is { } kti) Positive("kernel_study.train_images", kti);
        if (ks.ValidationImages is { } kvi) Positive("kernel_study.validation_images", kvi);
        if (c.Selection.Controls < 0) throw new SettingsException($"selection.controls must be 0 or more (got {c.Selection.Controls})");

        TrainOptions training = ParseTraining(c.Training, c.Seed);
        IReadOnlyList<ExportOptions> exports = ParseExports(c.Export);
        if (exports.Select(x => x.WhyNot(template.Macro)).FirstOrDefault(why => why is not null) is { } cannot)
            throw new SettingsException($"export.precisions: {cannot}");
        // the search predicts for the files the run exports: a predictor fitted on another layout is refused now, not after the kernel study
        if (c.Search.Predictor is { } zip)
        {
            try
            {
                Prediction.LatencyPredictor.Load(zip).For(exports[0].Layout, zip, Core.NullProgress.Instance);
            }
            catch (SettingsException ex)
            {
                throw new SettingsException($"search.predictor: {ex.Message}");
            }
        }
        Positive("export.verify_images", c.Export.VerifyImages);
        Positive("scale_out.shards", c.ScaleOut.Shards);
        if (c.ScaleOut.LocalWorkers is { } lw) Positive("scale_out.local_workers", lw);

        EvaluationConfig e = c.Evaluation;
        IReadOnlyList<EvaluationProfile> profiles = Key("evaluation.profiles", () => EvaluationProfile.ParseList(string.Join(',', e.Profiles), "evaluation.profiles"));
        if (e.BatchSizes.Length == 0 || e.BatchSizes.Any(b => b < 1)) throw new SettingsException("evaluation.batch_sizes: give batch sizes of at least 1");
        if (e.Limit is < 1) throw new SettingsException($"evaluation.limit must be at least 1 or null (got {e.Limit})");
        var latency = new LatencyOptions(e.Warmup, e.Repeats);
        Key("evaluation", latency.Validated);

        EvaluationProfile? target = c.Target.Profile is { Length: > 0 } t ? Key("target.profile", () => EvaluationProfile.Find(t)) : null;
        if (target is not null && !profiles.Contains(target))
            throw new SettingsException($"target.profile '{target.Name}' is not among evaluation.profiles ({string.Join(", ", profiles.Select(p => p.Name))}): give --target PROFILE or --target none");
        if (c.Target.MaxLatencyMs is { } ms && !(ms > 0)) throw new SettingsException($"target.max_latency_ms must be positive (got {ms})");
        if (c.Target.MaxLatencyMs is not null && target is null) throw new SettingsException("target.max_latency_ms needs target.profile");
        if (c.Target.MinAccuracy is { } acc && !(acc is >= 0 and <= 1)) throw new SettingsException($"target.min_accuracy is a fraction in [0, 1] (got {acc})");

        return new RunPlan
        {
            Config = c,
            Template = template,
            StudySizes = sizes,
            KernelSets = sets,
            Cell = cell,
            BudgetParameters = budget,
            Training = training,
            StudyTraining = training with { Epochs = ks.Epochs },
            Exports = exports,
            Profiles = profiles,
            Latency = latency,
            Target = target,
            Constraints = ParseConstraints(c, profiles),
            Objectives = c.Ranking.Objectives.Length == 0 ? Objective.Defaults : c.Ranking.Objectives.Select(o => Key("ranking.objectives", () => Objective.Parse(o))).ToArray(),
        };
    }

    /// <summary>
    /// The plan of <paramref name="config"/> checked as a run checks it before it starts (<see cref="FittedTo"/>, on the
    /// training set of its data) where that data can be read here; where it cannot (a cluster's data folder, named on the
    /// machine that writes the launch files), <paramref name="unreadable"/> hears why and the plan is checked without it.
    /// </summary>
    public static RunPlan CheckedAgainstData(RunConfig config, Action<string> unreadable)
    {
        ArgumentNullException.ThrowIfNull(unreadable);
        RunPlan plan = From(config);
        try
        {
            plan.FittedTo(Data.DatasetCatalog.Load(config.Data).Train);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            unreadable(ex.Message);
        }
        return plan;
    }

    /// <summary>
    /// The plan with its template fitted to the data (input shape, classes) and the search settings checked against it,
    /// e.g. a budget below the smallest network of this macro configuration.
    /// </summary>
    public RunPlan FittedTo(Data.ImageDataset train)
    {
        SnnArchitecture template = ArchitectureFit.ToData(Template, explicitShape: false, train);
        IReadOnlyList<(string, KernelSet)> sets = KernelSets.Count > 0 ? KernelSets : [("study", StudySizes!)];
        var search = new Search.SearchOptions(sets, Cell, Config.Search.Candidates, BudgetParameters, Config.Search.Batch, Config.Search.Repeat,
            Config.Selection.Top, Config.Seed);
        try
        {
            Search.SearchRunner.Validate(template, search);
        }
        catch (SettingsException ex)
        {
            throw new SettingsException($"search: {ex.Message}");
        }
        if ((long)Config.Search.Batch * Config.Search.Repeat > train.Count)
            throw new SettingsException($"search: {Config.Search.Repeat} score batches of {Config.Search.Batch} images need more than the {train.Count} training images of {train.Name}");
        return this with { Template = template };
    }

    private static TrainOptions ParseTraining(TrainingConfig t, int seed)
    {
        OptimizerKind optimizer = SettingWords.Parse("training.optimizer", t.Optimizer, SettingWords.Optimizers);
        var options = new TrainOptions(t.Epochs, t.BatchSize, optimizer, t.LearningRate, t.Momentum, t.WeightDecay, Seed: seed,
            ValidationFraction: t.ValidationFraction, Threads: t.Threads);
        options.Validate("training");
        return options;
    }

    private static IReadOnlyList<ExportOptions> ParseExports(ExportConfig x)
    {
        TimestepLayout layout = SettingWords.Parse("export.layout", x.Layout, SettingWords.Layouts);
        if (!x.Precisions.Contains("fp32", StringComparer.OrdinalIgnoreCase))
            throw new SettingsException("export.precisions must include fp32 (the verified reference every other precision is compared with)");
        return x.Precisions.Distinct(StringComparer.OrdinalIgnoreCase)
            .Select(p => new ExportOptions(layout, SettingWords.Parse("export.precisions", p, SettingWords.Precisions))).ToArray();
    }

    private static Constraint[] ParseConstraints(RunConfig c, IReadOnlyList<EvaluationProfile> profiles)
    {
        // each constraint with the key it came from, so a refusal names what the user wrote
        var texts = c.Ranking.Constraints.Select(t => (Key: "ranking.constraints", Text: t)).ToList();
        if (c.Target.MaxLatencyMs is { } ms) texts.Add(("target.max_latency_ms", string.Create(CultureInfo.InvariantCulture, $"latency_p50_ms<={ms:R}@{c.Target.Profile}/1")));
        if (c.Target.MaxParameters is { } p) texts.Add(("target.max_parameters", string.Create(CultureInfo.InvariantCulture, $"parameters<={p}")));
        if (c.Target.MinAccuracy is { } a) texts.Add(("target.min_accuracy", string.Create(CultureInfo.InvariantCulture, $"accuracy_top1>={a:R}")));
        var parsed = texts.Select(t => (t.Key, Constraint: Key(t.Key, () => Constraint.Parse(t.Text)))).ToArray();
        foreach ((string key, Constraint x) in parsed)
        {
            if (x.Profile is { } name && !profiles.Any(pr => pr.Name == name))
                throw new SettingsException($"{key}: '{x.Text}' names profile '{name}', which evaluation.profiles does not measure ({string.Join(", ", profiles.Select(pr => pr.Name))})");
            if (x.Batch is { } b && !c.Evaluation.BatchSizes.Contains(b))
                throw new SettingsException($"{key}: '{x.Text}' is at batch {b}, which evaluation.batch_sizes does not measure ({string.Join(", ", c.Evaluation.BatchSizes)})");
        }
        return parsed.Select(x => x.Constraint).ToArray();
    }

    private static void Positive(string key, int value)
    {
        if (value < 1) throw new SettingsException($"{key} must be at least 1 (got {value})");
    }

    // re-words a stage's own message so it names the configuration key the user wrote
    private static T Key<T>(string key, Func<T> parse)
    {
        try
        {
            return parse();
        }
        catch (ArgumentException ex)
        {
            throw new SettingsException($"{key}: {ex.Message}");
        }
    }
}
