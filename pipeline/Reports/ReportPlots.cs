using ScottPlot;
using SpiKernel.Models.Search;

namespace SpiKernel.Pipeline.Reports;

/// <summary>A point of a scatter plot with its series.</summary>
/// <param name="X">Horizontal value.</param>
/// <param name="Y">Vertical value.</param>
internal readonly record struct XY(double X, double Y);

/// <summary>
/// The report's plots (ScottPlot): each a titled <see cref="Plot"/> with axes labelled in units, rendered to SVG by
/// <see cref="Svg"/>. Same data, same plot: nothing random (strip-plot jitter is a fixed sequence).
/// </summary>
internal static class ReportPlots
{
    public const int Width = 760, Height = 430;

    private static readonly Color Blue = Color.FromHex("#1f77b4"), Orange = Color.FromHex("#ff7f0e"), Red = Color.FromHex("#d62728"),
        Grey = Color.FromHex("#9aa3b2"), Green = Color.FromHex("#2ca02c"), Purple = Color.FromHex("#9467bd");

    /// <summary>Colours of series in order (Category10).</summary>
    public static Color Series(int i) => new ScottPlot.Palettes.Category10().GetColor(i);

    /// <summary>The SVG of <paramref name="plot"/> at <paramref name="width"/> × <paramref name="height"/> pixels.</summary>
    public static string Svg(Plot plot, int width = Width, int height = Height) => plot.GetSvgXml(width, height);

    private static Plot New(string title, string x, string y)
    {
        var plot = new Plot();
        plot.Font.Set("DejaVu Sans");
        plot.Title(title);
        plot.XLabel(x);
        plot.YLabel(y);
        return plot;
    }

    private static void Points(Plot plot, IReadOnlyList<XY> points, string legend, Color color, MarkerShape shape = MarkerShape.FilledCircle, float size = 9)
    {
        if (points.Count == 0) return;
        var m = plot.Add.Markers(points.Select(p => p.X).ToArray(), points.Select(p => p.Y).ToArray(), shape, size, color);
        m.LegendText = legend;
    }

    /// <summary>Kernel study: test accuracy against kernel size.</summary>
    public static Plot AccuracyByKernel(IReadOnlyList<KernelStudyPoint> points)
    {
        Plot plot = New("Test accuracy vs kernel size", "kernel size k (every cell convolution k×k)", "test accuracy (%)");
        KernelStudyPoint[] sorted = points.OrderBy(p => p.Kernel).ToArray();
        var line = plot.Add.Scatter(sorted.Select(p => (double)p.Kernel).ToArray(), sorted.Select(p => p.Accuracy * 100).ToArray(), Blue);
        line.MarkerSize = 9;
        line.LineWidth = 2;
        plot.Axes.Bottom.SetTicks(sorted.Select(p => (double)p.Kernel).ToArray(), sorted.Select(p => $"k={p.Kernel}").ToArray());
        return plot;
    }

    /// <summary>
    /// Kernel study: test accuracy against parameters, each point labelled with its k; with the validation accuracy the
    /// sets are proposed on as open markers, and the legend outside the axes.
    /// </summary>
    public static Plot AccuracyByParameters(IReadOnlyList<KernelStudyPoint> points)
    {
        bool validation = points.Count > 0 && points.All(p => p.ValAccuracy is not null);
        Plot plot = New("Accuracy vs parameters (kernel study)", "parameters (millions)", validation ? "accuracy (%)" : "test accuracy (%)");
        // the 95 % interval of the accuracy the sets are chosen on, drawn first (under the points)
        (double X, double Low, double High)[] intervals = [.. points
            .Select(p => (X: p.Parameters / 1e6, Ci: validation ? Ranking.RankStatistics.Wilson95(p.ValAccuracy, p.ValSamples) : Ranking.RankStatistics.Wilson95(p.Accuracy, p.TestSamples)))
            .Where(b => b.Ci is not null).Select(b => (b.X, b.Ci!.Value.Low * 100, b.Ci.Value.High * 100))];
        bool bars = IntervalBars(plot, intervals, $"95 % interval ({(validation ? "validation" : "test")} images)");
        Points(plot, points.Select(p => new XY(p.Parameters / 1e6, p.Accuracy * 100)).ToList(), "test", Blue);
        if (validation)
        {
            Points(plot, points.Select(p => new XY(p.Parameters / 1e6, p.ValAccuracy!.Value * 100)).ToList(), "validation (sets chosen on it)", Blue, MarkerShape.OpenCircle);
            plot.ShowLegend(Edge.Right);
        }
        else if (bars) plot.ShowLegend(Edge.Right);
        else plot.HideLegend(); // one series, each point labelled: a legend inside the axes would cover the costliest size
        double most = points.Max(p => p.Parameters) / 1e6, least = points.Min(p => p.Parameters) / 1e6;
        plot.Axes.SetLimitsX(least - 0.08 * (most - least + 0.01), most + 0.15 * (most - least + 0.01)); // room for the last label
        foreach (KernelStudyPoint p in points)
        {
            var t = plot.Add.Text($"k={p.Kernel}", p.Parameters / 1e6, p.Accuracy * 100);
            t.LabelFontSize = 13;
            t.OffsetX = 7;
            t.OffsetY = -7;
        }
        return plot;
    }

    /// <summary>Search scores per kernel set: a box (quartiles, whiskers at min and max) with every candidate as a dot.</summary>
    public static Plot ScoreDistribution(IReadOnlyList<(string Set, double[] Scores)> sets)
    {
        Plot plot = New("Training-free score per kernel set", "kernel set", "score (mean log|det K|, higher is better)");
        for (int i = 0; i < sets.Count; i++)
        {
            double[] s = [.. sets[i].Scores.Order()];
            var box = plot.Add.Box(new Box
            {
                Position = i, BoxMin = Quantile(s, 0.25), BoxMax = Quantile(s, 0.75), BoxMiddle = Quantile(s, 0.5),
                WhiskerMin = s[0], WhiskerMax = s[^1], Width = 0.5,
            });
            box.FillColor = Series(i).WithAlpha(0.2);
            box.LineColor = Series(i);
            box.LineWidth = 2;
            // a fixed jitter (golden-ratio sequence) spreads the dots without randomness
            Points(plot, s.Select((v, j) => new XY(i + ((j * 0.6180339887) % 1 - 0.5) * 0.4, v)).ToList(), "", Series(i), size: 6);
        }
        string[] labels = [.. sets.Select(s => $"{s.Set} (n={s.Scores.Length})")];
        plot.Axes.Bottom.SetTicks(Enumerable.Range(0, sets.Count).Select(i => (double)i).ToArray(), labels);
        // side by side the labels of more than a few sets run into each other: slanted, with room below for the longest
        if (sets.Count > 3)
        {
            plot.Axes.Bottom.TickLabelStyle.Rotation = -30; // each label ends at its box and runs down to the left
            plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.UpperRight;
            plot.Axes.Bottom.MinimumSize = 30 + 0.5f * 8 * labels.Max(l => l.Length);
            plot.Axes.Left.MinimumSize = 0.87f * 7.5f * labels[0].Length; // room for the first label to the left of its box
        }
        return plot;
    }

    /// <summary>Score against trained accuracy, top-by-score and control candidates apart.</summary>
    public static Plot ScoreVsAccuracy(IReadOnlyList<XY> top, IReadOnlyList<XY> control, string tau)
    {
        Plot plot = New($"Score vs trained accuracy (Kendall τ = {tau})", "training-free score (higher is better)", "test accuracy after training (%)");
        Points(plot, top, "top by score", Blue, MarkerShape.FilledCircle, 11);
        Points(plot, control, "random control", Orange, MarkerShape.FilledDiamond, 12);
        plot.ShowLegend(Edge.Right);
        return plot;
    }

    /// <summary>Accuracy against median latency on one profile, the first Pareto front joined and the recommended model starred.</summary>
    public static Plot Tradeoff(string profile, int batch, IReadOnlyList<XY> front, IReadOnlyList<XY> other, IReadOnlyList<XY> infeasible, XY? recommended,
        IReadOnlyList<(double X, double Low, double High)> intervals)
    {
        Plot plot = New($"Accuracy vs latency on {profile} (batch {batch})", "median latency p50 (ms)", "top-1 accuracy (%)");
        IntervalBars(plot, intervals, "95 % interval (test images)"); // drawn first, under the points
        Points(plot, other, "feasible, behind the front", Grey);
        Points(plot, infeasible, "fails a constraint", Red, MarkerShape.Eks, 10);
        if (front.Count > 0)
        {
            XY[] f = [.. front.OrderBy(p => p.X)];
            var line = plot.Add.Scatter(f.Select(p => p.X).ToArray(), f.Select(p => p.Y).ToArray(), Blue);
            line.MarkerSize = 10;
            line.LineWidth = 2;
            line.LegendText = "Pareto front 1";
        }
        if (recommended is { } r) Points(plot, [r], "recommended", Orange, MarkerShape.FilledDiamond, 18);
        plot.ShowLegend(Edge.Right);
        return plot;
    }

    // grey vertical bars from Low to High at X, with one legend entry; whether there were any
    private static bool IntervalBars(Plot plot, IReadOnlyList<(double X, double Low, double High)> bars, string legend)
    {
        for (int i = 0; i < bars.Count; i++)
        {
            var bar = plot.Add.Line(bars[i].X, bars[i].Low, bars[i].X, bars[i].High);
            bar.Color = Grey;
            bar.LineWidth = 1.5f;
            bar.MarkerSize = 0;
            bar.LegendText = i == 0 ? legend : "";
        }
        return bars.Count > 0;
    }

    /// <summary>Accuracy against parameters, one series per precision.</summary>
    public static Plot AccuracyVsParameters(IReadOnlyList<(string Precision, IReadOnlyList<XY> Points)> series)
    {
        Plot plot = New("Accuracy vs parameters", "parameters (thousands)", "top-1 accuracy (%)");
        for (int i = 0; i < series.Count; i++)
            Points(plot, series[i].Points, series[i].Precision, Series(i), i == 0 ? MarkerShape.FilledCircle : MarkerShape.FilledSquare, i == 0 ? 13 : 7); // later series smaller, on top: equal points stay visible
        plot.ShowLegend(Edge.Right);
        return plot;
    }

    /// <summary>Latency percentiles p50, p90, p95, p99 of each model as grouped horizontal bars.</summary>
    public static Plot LatencyPercentiles(string profile, int batch, IReadOnlyList<(string Model, double[] Ms)> models)
    {
        Plot plot = New($"Latency percentiles on {profile} (batch {batch})", "latency (ms)", "");
        string[] names = ["p50", "p90", "p95", "p99"];
        Color[] colors = [Color.FromHex("#9ecae1"), Color.FromHex("#6baed6"), Color.FromHex("#3182bd"), Color.FromHex("#08519c")];
        var bars = new List<Bar>();
        for (int m = 0; m < models.Count; m++)
            for (int q = 0; q < names.Length; q++)
                bars.Add(new Bar { Position = models.Count - 1 - m + (1.5 - q) * 0.2, Value = models[m].Ms[q], Size = 0.19, FillColor = colors[q], LineWidth = 0 });
        var plotted = plot.Add.Bars(bars);
        plotted.Horizontal = true;
        plot.Axes.Left.SetTicks(Enumerable.Range(0, models.Count).Select(i => (double)(models.Count - 1 - i)).ToArray(), models.Select(m => m.Model).ToArray());
        for (int q = 0; q < names.Length; q++) plot.Legend.ManualItems.Add(new LegendItem { LabelText = names[q], FillColor = colors[q] });
        plot.ShowLegend(Edge.Right);
        plot.Axes.Margins(left: 0);
        return plot;
    }

    /// <summary>One value per layer as vertical bars (spikes or energy of one model).</summary>
    public static Plot PerLayer(string title, string yLabel, IReadOnlyList<string> layers, IReadOnlyList<double> values, bool energy)
    {
        Plot plot = New(title, "LIF layer (module path)", yLabel);
        plot.Add.Bars(values.Select((v, i) => new Bar { Position = i, Value = v, FillColor = energy ? Green : Purple, Size = 0.7, LineWidth = 0 }).ToList());
        plot.Axes.Bottom.SetTicks(Enumerable.Range(0, layers.Count).Select(i => (double)i).ToArray(), [.. layers]);
        if (layers.Count > 6)
        {
            plot.Axes.Bottom.TickLabelStyle.Rotation = 40;
            plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleLeft;
            plot.Axes.Bottom.TickLabelStyle.OffsetY = 5; // clear of the tick mark
            plot.Axes.Bottom.MinimumSize = 110;
        }
        plot.Axes.Margins(bottom: 0);
        return plot;
    }

    /// <summary>
    /// One line per curve of a per-epoch figure (loss or accuracy), coloured by <c>Colour</c> (one per candidate, so its
    /// training and validation lines share it); where <c>Dashed</c> (validation), a thin line with open markers; whole
    /// epochs on the axis.
    /// </summary>
    public static Plot Curves(string title, string yLabel, IReadOnlyList<(string Name, int Colour, bool Dashed, IReadOnlyList<XY> Points)> curves)
    {
        Plot plot = New(title, "epoch", yLabel);
        foreach ((string name, int colour, bool dashed, IReadOnlyList<XY> points) in curves)
        {
            var line = plot.Add.Scatter(points.Select(p => p.X).ToArray(), points.Select(p => p.Y).ToArray(), Series(colour));
            line.MarkerSize = 8;
            line.LineWidth = 2;
            if (dashed)
            {
                // the SVG canvas draws no dash patterns (Skia: "unsupported path effect"): open markers and a thin line instead
                line.MarkerShape = MarkerShape.OpenCircle;
                line.LineWidth = 1;
            }
            line.LegendText = name;
        }
        int last = (int)curves.SelectMany(c => c.Points).Select(p => p.X).DefaultIfEmpty(1).Max();
        int step = Math.Max(1, (int)Math.Ceiling(last / 10.0));
        double[] ticks = [.. Enumerable.Range(1, last).Where(e => (e - 1) % step == 0).Select(e => (double)e)];
        plot.Axes.Bottom.SetTicks(ticks, [.. ticks.Select(t => ((int)t).ToString(System.Globalization.CultureInfo.InvariantCulture))]);
        plot.ShowLegend(Edge.Right);
        return plot;
    }

    /// <summary>The <paramref name="q"/>-quantile of sorted values, linear between neighbours.</summary>
    public static double Quantile(double[] sorted, double q)
    {
        double at = q * (sorted.Length - 1);
        int lo = (int)Math.Floor(at), hi = Math.Min(lo + 1, sorted.Length - 1);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo);
    }
}
