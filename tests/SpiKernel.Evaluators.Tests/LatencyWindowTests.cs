using System.Diagnostics;
using SpiKernel.Evaluators.Measurement;
using SpiKernel.Evaluators.Providers;

namespace SpiKernel.Evaluators.Tests;

/// <summary><c>evaluate --duration</c>: the timed runs go on until the window closes, whatever <c>--repeats</c> says.</summary>
public class LatencyWindowTests
{
    [Fact]
    public void Should_TimeRunsUntilTheWindowCloses_When_ADurationIsGiven()
    {
        using var dir = new TempFolder();
        EvaluationProfile cpu = EvaluationProfile.ParseList("cpu")[0];
        using ProfileSession s = SessionFactory.Create(ForeignModels.ReluMaxPool(dir.File("m.onnx")), cpu);
        var reports = new List<(int Done, int Planned)>();
        var window = TimeSpan.FromSeconds(0.3);
        var clock = Stopwatch.StartNew();
        LatencyResult r = LatencyMeter.Measure(s.Session, cpu, "x", new float[64], [1, 1, 8, 8], new LatencyOptions(Warmup: 1, Repeats: 3, Duration: window),
            (done, planned) => reports.Add((done, planned)));
        TimeSpan wall = clock.Elapsed;

        // a run of this model takes microseconds: far more than the 3 repeats fit in the window, and the last run began
        // before it closed (the window is not cut short, nor the runs counted past it)
        Assert.True(r.Samples.Count > 3, $"{r.Samples.Count} runs in {window.TotalSeconds} s");
        Assert.Equal(r.Samples.Count, r.Stats.Runs);
        Assert.True(wall >= window, $"returned after {wall.TotalSeconds} s");
        Assert.True(r.Samples.Sum() <= wall.TotalMilliseconds);
        Assert.All(reports, p => Assert.Equal(0, p.Planned)); // nothing planned: the progress counts runs only
        Assert.Equal(r.Samples.Count, reports[^1].Done);
    }
}
