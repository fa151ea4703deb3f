using SpiKernel.Core.Csv;
using SpiKernel.Evaluators.Results;
using SpiKernel.Pipeline.Search;

namespace SpiKernel.Pipeline.Tests;

/// <summary>A CSV the tool cannot read is named with what is wrong with it, in words, not CsvHelper's.</summary>
public class CsvReadErrorTests
{
    [Fact]
    public void Should_SayNoColumnMatches_When_TheFileIsAnotherKindOfCsv()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("g.csv"), "x,y\n1,2\n");
        var ex = Assert.Throws<InvalidDataException>(() => CsvFile.ReadAll<CandidateRow>(dir.File("g.csv")));
        Assert.Equal($"{dir.File("g.csv")}: not a candidate CSV the tool can read (none of its columns is one of a candidate CSV's (candidate_id, rank, architecture, kernels, …))", ex.Message);
    }

    [Fact]
    public void Should_SayTheLastRowIsCutShort_When_AWriteWasInterrupted()
    {
        using var dir = new TempDir();
        string csv = dir.File("r.csv");
        CsvFile.WriteAll(csv, [new EvaluationRow { Model = "a", Profile = "cpu", BatchSize = 1, LatencyP50Ms = 0.5 }]);
        File.AppendAllText(csv, "2026-12-02T00:00:00.000Z,b,id,x.onnx,abc,cpu,CPUExecutionProvider,fp32,1,ok,,12,3");
        var ex = Assert.Throws<InvalidDataException>(() => CsvFile.ReadAll<EvaluationRow>(csv));
        Assert.Contains("not an evaluation CSV the tool can read (row 3 is cut short", ex.Message);
    }

    [Fact]
    public void Should_NameTheRowAndValue_When_AValueIsNotOneTheColumnTakes()
    {
        using var dir = new TempDir();
        string csv = dir.File("r.csv");
        CsvFile.WriteAll(csv, [new EvaluationRow { Model = "a", Profile = "cpu", BatchSize = 1 }]);
        File.WriteAllText(csv, File.ReadAllText(csv).Replace(",ok,", ",feasible,", StringComparison.Ordinal));
        var ex = Assert.Throws<InvalidDataException>(() => CsvFile.ReadAll<EvaluationRow>(csv));
        Assert.Contains("not an evaluation CSV the tool can read (row 2: 'feasible' is not one of ok, skipped, failed)", ex.Message);
    }
}
