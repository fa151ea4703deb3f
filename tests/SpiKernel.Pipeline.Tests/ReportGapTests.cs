using SpiKernel.Core;
using SpiKernel.Core.Csv;
using SpiKernel.Models.Search;
using SpiKernel.Pipeline.Reports;
using SpiKernel.Pipeline.Run;
using SpiKernel.Pipeline.Stages;
using SpiKernel.Pipeline.Training;

namespace SpiKernel.Pipeline.Tests;

/// <summary>The report says what is wrong with an input that is there but says nothing: a header alone, a training's lost epochs.</summary>
public class ReportGapTests(TrainedRunFixture fixture) : IClassFixture<TrainedRunFixture>
{
    [Fact]
    public void Should_SayTheFileIsEmptyAndTheCurvesAreMissing_When_InputsAreThereWithoutRows()
    {
        using TempDir dir = ReportTests.ResultsOnlyFolder();
        var layout = new RunLayout(dir.Path);
        // a header alone was reported as "No selection.csv in the run folder", though it is there
        CsvFile.WriteAll(layout.Selection, Array.Empty<SelectionRow>());
        Directory.CreateDirectory(layout.KernelStudy);
        CsvFile.WriteAll(ReportInputs.KernelStudyPath(layout), Array.Empty<KernelStudyPoint>());
        // a finished training without its metrics.csv disappeared from the training section without a word
        string trained = Path.Combine(layout.Train, "0123456789ab");
        Directory.CreateDirectory(trained);
        File.Copy(Path.Combine(fixture.RunPath, Trainer.StateFile), Path.Combine(trained, Trainer.StateFile));

        ReportStageResult result = new ReportStage().Run(new ReportStageOptions(dir.Path), NullProgress.Instance, default);
        string md = File.ReadAllText(result.MarkdownPath);
        Assert.Contains(result.Missing, m => m.StartsWith("score-vs-accuracy: selection.csv has no rows", StringComparison.Ordinal));
        Assert.Contains(result.Missing, m => m.StartsWith("kernel-study: kernel-study/kernel-study.csv has no rows", StringComparison.Ordinal));
        Assert.Contains("training", result.Present);
        Assert.Contains("No epochs to draw for 0123456789ab: train/", md);
        Assert.Contains("metrics.csv is missing or empty, though the training finished", md);
    }
}
