namespace SpiKernel.Pipeline.Run;

/// <summary>
/// Every setting of <c>spikernel run</c>, one JSON file (snake_case keys, docs/run.md lists them). Start from a preset
/// (<see cref="RunPresets"/>) and change what you need; the effective configuration is written to the run folder as
/// run.json, and <c>run --resume DIR</c> reads it back.
/// </summary>
public sealed record RunConfig
{
    /// <summary>The preset the other values started from (quick, standard, paper).</summary>
    public string Preset { get; init; } = RunPresets.Quick;

    /// <summary>Seeds the search's cells, the control draw, training and the score batches.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>
    /// <c>embedded</c> (Fashion-MNIST subset in the program), a data folder (Fashion-MNIST IDX, CIFAR-10/100,
    /// TinyImageNet), or null: the full Fashion-MNIST when Debian's dataset-fashion-mnist is installed, else embedded.
    /// </summary>
    public string? Data { get; init; } = "embedded";

    /// <summary>Macro network and neuron settings as architecture text; the search replaces cell and kernels, input and classes follow the data.</summary>
    public string Architecture { get; init; } = "";

    /// <summary>SpiKernel steps 1–2: one cell at one kernel size k, trained briefly per k.</summary>
    public KernelStudyConfig KernelStudy { get; init; } = new();

    /// <summary>SpiKernel step 3: the training-free search.</summary>
    public SearchConfig Search { get; init; } = new();

    /// <summary>Which candidates are trained.</summary>
    public SelectionConfig Selection { get; init; } = new();

    /// <summary>How each selected candidate is trained.</summary>
    public TrainingConfig Training { get; init; } = new();

    /// <summary>How each trained candidate is exported.</summary>
    public ExportConfig Export { get; init; } = new();

    /// <summary>Where and how the exports are measured.</summary>
    public EvaluationConfig Evaluation { get; init; } = new();

    /// <summary>The deployment target that steers selection and ranking.</summary>
    public TargetConfig Target { get; init; } = new();

    /// <summary>Constraints and objectives of the ranking.</summary>
    public RankingConfig Ranking { get; init; } = new();

    /// <summary>How the run is split over scheduler tasks (docs/scale-out.md); results do not depend on it.</summary>
    public ScaleOutConfig ScaleOut { get; init; } = new();

    /// <summary>
    /// This configuration with its file paths (<see cref="Data"/>, <see cref="SearchConfig.Predictor"/>) made absolute
    /// against <paramref name="directory"/>, and no data resolved to what it means on this machine: a new run records
    /// them so, as its scheduler tasks start in its launch folder, and a resume, or a task on another node, may start
    /// anywhere (and on a machine with other data installed).
    /// </summary>
    public RunConfig Rooted(string directory)
    {
        static string? Full(string? path, string dir) => path is null || path == SpiKernel.Pipeline.Data.DatasetCatalog.Embedded ? path : Path.GetFullPath(path, dir);
        return this with { Data = Full(Data ?? SpiKernel.Pipeline.Data.DatasetCatalog.DefaultSource(), directory), Search = Search with { Predictor = Full(Search.Predictor, directory) } };
    }
}

/// <summary>Scale-out settings.</summary>
public sealed record ScaleOutConfig
{
    /// <summary>Shards of each sharded stage (search, train, export, evaluate); the count a Kubernetes completion index is taken against.</summary>
    public int Shards { get; init; } = 1;

    /// <summary>
    /// Processes that train the kernel study's sizes, and then the selected candidates, side by side when
    /// <c>spikernel run</c> does every stage on this machine (each one shard of that stage); null: one per core, at most
    /// one per size or candidate; 1: one after the other in the run's own process.
    /// </summary>
    public int? LocalWorkers { get; init; }
}

/// <summary>Kernel-size study settings.</summary>
public sealed record KernelStudyConfig
{
    /// <summary>Run the study (false: the search needs <see cref="SearchConfig.KernelSets"/>).</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>Kernel sizes studied (odd).</summary>
    public int[] Sizes { get; init; } = [1, 3, 5, 7];

    /// <summary>Epochs of training per size.</summary>
    public int Epochs { get; init; } = 1;

    /// <summary>Training images per size (class-balanced, seeded); null: all.</summary>
    public int? TrainImages { get; init; }

    /// <summary>
    /// With <see cref="TrainImages"/>: the validation each size's proposals are judged on holds up to this many images,
    /// its split topped up with training images no size trains on; null: the split alone.
    /// </summary>
    public int? ValidationImages { get; init; }
}

/// <summary>Search settings.</summary>
public sealed record SearchConfig
{
    /// <summary>Kernel sets searched, e.g. "1,3"; empty: the sets the kernel study proposes.</summary>
    public string[] KernelSets { get; init; } = [];

    /// <summary>backward (cells with feedback) or forward.</summary>
    public string Cell { get; init; } = "backward";

    /// <summary>Distinct cells scored per kernel set.</summary>
    public int Candidates { get; init; } = 16;

    /// <summary>Parameter budget: larger candidates are not scored.</summary>
    public long BudgetParameters { get; init; } = 250_000;

    /// <summary>Images per score batch.</summary>
    public int Batch { get; init; } = 32;

    /// <summary>Score batches averaged.</summary>
    public int Repeat { get; init; } = 1;

    /// <summary>A latency predictor (predictor train): scored candidates get predicted latencies, used for the target when it cannot run here.</summary>
    public string? Predictor { get; init; }
}

/// <summary>Selection settings.</summary>
public sealed record SelectionConfig
{
    /// <summary>Candidates trained because their score is among the best.</summary>
    public int Top { get; init; } = 3;

    /// <summary>Candidates drawn at random from the rest of the scored pool and trained as controls.</summary>
    public int Controls { get; init; } = 2;
}

/// <summary>Training settings of each selected candidate.</summary>
public sealed record TrainingConfig
{
    /// <summary>Passes over the training split.</summary>
    public int Epochs { get; init; } = 2;

    /// <summary>Training images (class-balanced, seeded); null: all.</summary>
    public int? TrainImages { get; init; }

    /// <summary>Images per step.</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>adam or sgd.</summary>
    public string Optimizer { get; init; } = "adam";

    /// <summary>Peak learning rate; null: 2e-3 for Adam, 0.1 for SGD.</summary>
    public double? LearningRate { get; init; }

    /// <summary>SGD momentum.</summary>
    public double Momentum { get; init; } = 0.9;

    /// <summary>Weight decay of convolution and linear weights.</summary>
    public double WeightDecay { get; init; }

    /// <summary>Share of training images held out for validation.</summary>
    public double ValidationFraction { get; init; } = 0.05;

    /// <summary>Torch threads (0: every core).</summary>
    public int Threads { get; init; }
}

/// <summary>Export settings.</summary>
public sealed record ExportConfig
{
    /// <summary>step (one node group per timestep) or batched (timesteps stacked in the batch).</summary>
    public string Layout { get; init; } = "step";

    /// <summary>Weight precisions written: fp32 (models/ID.onnx) and int8 (models/ID.int8.onnx).</summary>
    public string[] Precisions { get; init; } = ["fp32", "int8"];

    /// <summary>Test images compared between ONNX Runtime and TorchSharp by the verification.</summary>
    public int VerifyImages { get; init; } = 128;
}

/// <summary>Evaluation settings.</summary>
public sealed record EvaluationConfig
{
    /// <summary>Profiles measured (cpu, edge, cuda, …); those that cannot run here become skipped rows.</summary>
    public string[] Profiles { get; init; } = ["cpu", "edge", "cuda"];

    /// <summary>Batch sizes timed.</summary>
    public int[] BatchSizes { get; init; } = [1, 32];

    /// <summary>Untimed runs before timing.</summary>
    public int Warmup { get; init; } = 5;

    /// <summary>Timed runs per measurement.</summary>
    public int Repeats { get; init; } = 30;

    /// <summary>Test images scored for accuracy (null: all).</summary>
    public int? Limit { get; init; } = 1000;
}

/// <summary>The deployment target.</summary>
public sealed record TargetConfig
{
    /// <summary>Profile whose latency steers selection (measured on untrained exports before training); null: none.</summary>
    public string? Profile { get; init; } = "edge";

    /// <summary>Candidates slower than this at batch 1 on the target (p50) are not trained, and fail it in the ranking.</summary>
    public double? MaxLatencyMs { get; init; }

    /// <summary>Parameter bound: tightens the search budget and constrains the ranking.</summary>
    public long? MaxParameters { get; init; }

    /// <summary>Top-1 accuracy bound (fraction) of the ranking.</summary>
    public double? MinAccuracy { get; init; }
}

/// <summary>Ranking settings (the syntax of <c>spikernel rank</c>).</summary>
public sealed record RankingConfig
{
    /// <summary>Constraints such as "latency_p95_ms&lt;=2@edge" or "parameters&lt;=1M".</summary>
    public string[] Constraints { get; init; } = [];

    /// <summary>Objectives such as "accuracy_top1:max"; empty: accuracy max, latency p50 min, parameters min.</summary>
    public string[] Objectives { get; init; } = [];
}
