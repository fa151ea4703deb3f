using SpiKernel.Evaluators.Inputs;
using SpiKernel.Evaluators.Measurement;
using SpiKernel.Evaluators.Models;
using SpiKernel.Evaluators.Providers;
using SpiKernel.Evaluators.Results;

namespace SpiKernel.Evaluators.Tests;

/// <summary>Short evaluations for tests: few runs, no labelled images.</summary>
internal static class Evaluations
{
    public static EvaluationRequest Request(string providers, int[] batches, InputOptions? inputs = null, int warmup = 1, int repeats = 5) =>
        new(EvaluationProfile.ParseList(providers), batches, new LatencyOptions(warmup, repeats), PrecisionChoice.Auto, _ => TestData.None("test"), inputs);

    public static List<EvaluationRow> Run(EvaluationRequest request, IReadOnlyList<ModelGroup> models, out int failed)
    {
        var rows = new List<EvaluationRow>();
        failed = new Evaluator(request).Run(models, rows.Add);
        return rows;
    }

    public static List<EvaluationRow> Run(EvaluationRequest request, string path) => Run(request, ModelGroup.Discover(path), out _);
}
