using SpiKernel.Core;
using SpiKernel.Evaluators.Measurement;
using SpiKernel.Evaluators.Providers;
using SpiKernel.Models.Architecture;
using SpiKernel.Models.Search;
using SpiKernel.Pipeline.Stages;

namespace SpiKernel.Pipeline.Tests;

/// <summary>
/// One real latency dataset for the predictor tests, made once per class: eight untrained tiny architectures
/// exported (batched layout) and timed on the CPU profile here (few repeats), and a predictor trained on them.
/// </summary>
public sealed class PredictorFixture : IDisposable
{
    internal static readonly SnnArchitecture Template = SnnArchitecture.Parse(
        "cell=\"0303 0030 2002 0200\" kernels=1,3 input=1x16x16 channels=4 stem-stride=1 hidden=16 classes=10 cluster=2 sap=1 timesteps=2 dropout=0.2");

    internal static readonly IReadOnlyList<(string Name, KernelSet Set)> Sets = KernelSets.Named.Select(n => (n.Name, n.Set)).ToArray();

    private readonly TempDir _dir = new();

    public PredictorFixture()
    {
        Dataset = new LatencyDatasetStage().Run(
            new LatencyDatasetOptions(_dir.File("data"), 8, EvaluationProfile.ParseList("cpu"), [1], Template, Sets, Seed: 3,
                Latency: new LatencyOptions(2, 15), Int8: false, Layouts: [Exporters.TimestepLayout.Batched]),
            NullProgress.Instance, CancellationToken.None);
        Trained = new PredictorTrainStage().Run(Options(_dir.File("latency.zip")), NullProgress.Instance, CancellationToken.None);
    }

    public LatencyDatasetResult Dataset { get; }

    public PredictorTrainResult Trained { get; }

    public string File(string name) => _dir.File(name);

    internal PredictorTrainOptions Options(string zip) => new([Dataset.ResultsPath], zip, Folds: 3, Seed: 7);

    public void Dispose() => _dir.Dispose();
}
