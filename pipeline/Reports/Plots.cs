using SpiKernel.Models.Search;

namespace SpiKernel.Pipeline.Reports;

/// <summary>PNG plots (ScottPlot) of results a person would rather look at than read.</summary>
internal static class Plots
{
    /// <summary>Accuracy against kernel size and against parameters, one point per studied size.</summary>
    public static void KernelStudy(IReadOnlyList<KernelStudyPoint> points, string dir)
    {
        double[] k = points.Select(p => (double)p.Kernel).ToArray();
        double[] acc = points.Select(p => p.Accuracy * 100).ToArray();
        double[] parameters = points.Select(p => p.Parameters / 1e6).ToArray();

        var byK = new ScottPlot.Plot();
        byK.Add.Scatter(k, acc);
        byK.Title("Test accuracy vs kernel size");
        byK.XLabel("kernel size k (every cell convolution k×k)");
        byK.YLabel("test accuracy (%)");
        byK.SavePng(Path.Combine(dir, "accuracy-vs-kernel.png"), 720, 440);

        var byParams = new ScottPlot.Plot();
        var scatter = byParams.Add.ScatterPoints(parameters, acc);
        scatter.MarkerSize = 9;
        for (int i = 0; i < points.Count; i++)
            byParams.Add.Text($"k={points[i].Kernel}", parameters[i], acc[i]);
        byParams.Title("Test accuracy vs parameters");
        byParams.XLabel("parameters (millions)");
        byParams.YLabel("test accuracy (%)");
        byParams.SavePng(Path.Combine(dir, "accuracy-vs-parameters.png"), 720, 440);
    }
}
