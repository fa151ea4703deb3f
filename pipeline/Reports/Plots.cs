using SpiKernel.Core;
using SpiKernel.Models.Search;

namespace SpiKernel.Pipeline.Reports;

/// <summary>PNG plots (ScottPlot) of results a person would rather look at than read.</summary>
internal static class Plots
{
    /// <summary>Accuracy against kernel size and against parameters, one point per studied size (those that trained).</summary>
    public static void KernelStudy(IReadOnlyList<KernelStudyPoint> points, string dir) => InvariantScope.Run(() =>
    {
        ReportPlots.AccuracyByKernel(points).SavePng(Path.Combine(dir, "accuracy-vs-kernel.png"), 720, 440);
        ReportPlots.AccuracyByParameters(points).SavePng(Path.Combine(dir, "accuracy-vs-parameters.png"), 720, 440);
        return 0;
    });
}
