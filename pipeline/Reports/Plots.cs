using System.Globalization;
using SpiKernel.Models.Search;

namespace SpiKernel.Pipeline.Reports;

/// <summary>PNG plots (ScottPlot) of results a person would rather look at than read.</summary>
internal static class Plots
{
    /// <summary>Accuracy against kernel size and against parameters, one point per studied size.</summary>
    public static void KernelStudy(IReadOnlyList<KernelStudyPoint> points, string dir) => Invariant(() =>
    {
        ReportPlots.AccuracyByKernel(points).SavePng(Path.Combine(dir, "accuracy-vs-kernel.png"), 720, 440);
        ReportPlots.AccuracyByParameters(points).SavePng(Path.Combine(dir, "accuracy-vs-parameters.png"), 720, 440);
        return 0;
    });

    /// <summary>
    /// <paramref name="render"/> under the invariant culture: ScottPlot formats tick labels with the current one, so
    /// under de-DE an axis would read 0,05 and 85,5.
    /// </summary>
    public static T Invariant<T>(Func<T> render)
    {
        CultureInfo culture = CultureInfo.CurrentCulture, ui = CultureInfo.CurrentUICulture;
        try
        {
            CultureInfo.CurrentCulture = CultureInfo.CurrentUICulture = CultureInfo.InvariantCulture;
            return render();
        }
        finally
        {
            CultureInfo.CurrentCulture = culture;
            CultureInfo.CurrentUICulture = ui;
        }
    }
}
