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
        Assert.Contains("not an evaluation CSV the tool can read (row 2: status: 'feasible' is not one of ok, skipped, failed)", ex.Message);
    }

    [Fact]
    public void Should_NameTheColumnAndValue_When_APositionalRecordsFieldDoesNotRead()
    {
        // a record read through its constructor: CsvHelper may give the parameter without its type
        using var dir = new TempDir();
        string csv = dir.File("k.csv");
        CsvFile.WriteAll(csv, [new SpiKernel.Models.Search.KernelStudyPoint("abc", 3, 100, 200, 0.75, 1.5)]);
        File.WriteAllText(csv, File.ReadAllText(csv).Replace("0.75", "\"0,75\"", StringComparison.Ordinal));
        var ex = Assert.Throws<InvalidDataException>(() => CsvFile.ReadAll<SpiKernel.Models.Search.KernelStudyPoint>(csv));
        Assert.Contains("(row 2: accuracy: '0,75' ", ex.Message);
    }

    [Theory]
    // a comma-decimal spreadsheet's 0,841 was read as 841 (CsvHelper allows thousands separators in numbers by default)
    [InlineData("0.8405", "\"0,841\"", "row 2: accuracy_top1: '0,841' is not a number (a '.' decimal point, no thousands separators)")]
    [InlineData("0.8405", "abc", "row 2: accuracy_top1: 'abc' is not a number")]
    [InlineData(",12,", ",1x2,", "row 2: batch_size: '1x2' is not a whole number")]
    [InlineData(",ok,", ",o\"k,", "row 2: a stray quote: inside a field that does not start with one, or after the closing one (o\"k)")]
    [InlineData(",ok,", ",,", "row 2: status: an empty field is not one of ok, skipped, failed")]
    public void Should_NameTheColumnAndValue_When_AFieldDoesNotRead(string from, string to, string expected)
    {
        using var dir = new TempDir();
        string csv = dir.File("r.csv");
        CsvFile.WriteAll(csv, [new EvaluationRow { Model = "a", Profile = "cpu", BatchSize = 12, AccuracyTop1 = 0.8405 }]);
        File.WriteAllText(csv, File.ReadAllText(csv).Replace(from, to, StringComparison.Ordinal));
        var ex = Assert.Throws<InvalidDataException>(() => CsvFile.ReadAll<EvaluationRow>(csv));
        Assert.Contains($"not an evaluation CSV the tool can read ({expected}", ex.Message);
    }
}
