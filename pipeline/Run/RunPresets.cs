using SpiKernel.Core;
using SpiKernel.Models.Architecture;

namespace SpiKernel.Pipeline.Run;

/// <summary>
/// Named starting configurations of <c>spikernel run</c>. What each costs on 2 cores is measured in docs/run.md.
/// </summary>
public static class RunPresets
{
    /// <summary>The default: the whole method on the embedded data in about four minutes on 2 cores.</summary>
    public const string Quick = "quick";

    /// <summary>About a week on 2 cores: the full Fashion-MNIST when installed, method.md's small network, a larger search.</summary>
    public const string Standard = "standard";

    /// <summary>The paper's scale: CIFAR-10/100 or TinyImageNet, thousands of candidates under 10M parameters, 300 epochs.</summary>
    public const string Paper = "paper";

    /// <summary>The preset names, in order of cost.</summary>
    public static IReadOnlyList<string> Names { get; } = [Quick, Standard, Paper];

    /// <summary>The configuration of preset <paramref name="name"/>; throws <see cref="SettingsException"/> for an unknown name.</summary>
    public static RunConfig Get(string name) => name switch
    {
        Quick => QuickConfig,
        Standard => StandardConfig,
        Paper => PaperConfig,
        _ => throw new SettingsException($"Unknown preset '{name}'; choose one of {string.Join(", ", Names)}."),
    };

    private static RunConfig QuickConfig { get; } = new()
    {
        Preset = Quick,
        Data = "embedded",
        Architecture = SnnArchitecture.Default.ToString(),
        KernelStudy = new KernelStudyConfig { Sizes = [1, 3, 5, 7], Epochs = 1, TrainImages = 5000, ValidationImages = 5000 },
        Search = new SearchConfig { Candidates = 32, BudgetParameters = 250_000, Batch = 32, Repeat = 1 },
        Selection = new SelectionConfig { Top = 3, Controls = 2 },
        Training = new TrainingConfig { Epochs = 3 },
        Evaluation = new EvaluationConfig { Limit = null },
    };

    private static RunConfig StandardConfig { get; } = new()
    {
        Preset = Standard,
        Data = null,
        Architecture = SnnArchitecture.FashionMnistSmall.ToString(),
        KernelStudy = new KernelStudyConfig { Sizes = [1, 3, 5, 7], Epochs = 5 },
        Search = new SearchConfig { Candidates = 200, BudgetParameters = 2_000_000, Batch = 64, Repeat = 2 },
        Selection = new SelectionConfig { Top = 5, Controls = 3 },
        Training = new TrainingConfig { Epochs = 30, Optimizer = "sgd", LearningRate = 0.1, WeightDecay = 5e-4 },
        Evaluation = new EvaluationConfig { Profiles = ["cpu", "edge", "cuda"], BatchSizes = [1, 64], Warmup = 10, Repeats = 100, Limit = null },
    };

    private static RunConfig PaperConfig { get; } = new()
    {
        Preset = Paper,
        Data = null,
        Architecture = SnnArchitecture.SnasnetCifar10.ToString(),
        KernelStudy = new KernelStudyConfig { Sizes = [1, 3, 5, 7], Epochs = 30 },
        Search = new SearchConfig { Candidates = 1000, BudgetParameters = 10_000_000, Batch = 64, Repeat = 2 },
        Selection = new SelectionConfig { Top = 10, Controls = 5 },
        Training = new TrainingConfig { Epochs = 300, Optimizer = "sgd", LearningRate = 0.1, WeightDecay = 5e-4, ValidationFraction = 0 },
        Evaluation = new EvaluationConfig { Profiles = ["cpu", "edge", "cuda", "tensorrt"], BatchSizes = [1, 64], Warmup = 10, Repeats = 100, Limit = null },
    };
}
