using SpiKernel.Core.Csv;
using SpiKernel.Models.Search;
using SpiKernel.Pipeline.Search;
using SpiKernel.Pipeline.Training;

namespace SpiKernel.Pipeline.Tests;

/// <summary>Files written before the snake_case convention still read back (resume, rank --candidates).</summary>
public class OldCsvTests
{
    [Fact]
    public void Should_ReadOldPascalCaseFiles_When_TheToolReadsItsOwnCsv()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("metrics.csv"),
            "Epoch,TrainLoss,TrainAccuracy,ValLoss,ValAccuracy,LearningRate,Seconds,ImagesPerSecond,ResidentMiB\n1,0.5,0.8,0.6,0.75,0.002,10.5,95,4096\n");
        EpochMetrics m = Assert.Single(CsvFile.ReadAll<EpochMetrics>(dir.File("metrics.csv")));
        Assert.Equal((1, 0.5, 4096.0, ""), (m.Epoch, m.TrainLoss, m.ResidentMib, m.CandidateId));

        File.WriteAllText(dir.File("candidates.csv"),
            "Rank,Architecture,Kernels,KernelSetName,CellType,Cell,Parameters,Macs,Score,Seconds,Status,Reason\n" +
            ",\"cell=\"\"0001 0000 0000 0000\"\"\",\"1,3\",snasnet,forward,0001 0000 0000 0000,1200,5000,,0,over-budget,too big\n");
        CandidateRow c = Assert.Single(CsvFile.ReadAll<CandidateRow>(dir.File("candidates.csv")));
        Assert.Equal((CandidateStatus.OverBudget, 1200L, "too big"), (c.Status, c.Parameters, c.Reason));

        // a positional record (read through its constructor) of a version before its last columns: their defaults
        File.WriteAllText(dir.File("kernel-study.csv"), "candidate_id,kernel,parameters,macs,accuracy,train_seconds\nabc,3,1200,5000,0.75,12.5\n");
        KernelStudyPoint k = Assert.Single(CsvFile.ReadAll<KernelStudyPoint>(dir.File("kernel-study.csv")));
        Assert.Equal((3, 0.75, null, KernelStudyStatus.Trained, ""), (k.Kernel, k.Accuracy, k.ValAccuracy, k.Status, k.Reason));
    }

    [Fact]
    public void Should_WriteSnakeCaseWordsForStatuses_When_AnEnumIsWritten()
    {
        using var dir = new TempDir();
        CsvFile.WriteAll(dir.File("c.csv"), new[] { new CandidateRow { CandidateId = "abc", Status = CandidateStatus.OverBudget } });
        string[] lines = File.ReadAllLines(dir.File("c.csv"));
        Assert.Equal("candidate_id,rank,architecture,kernels,kernel_set_name,cell_type,cell,parameters,macs,score,seconds,status,reason", lines[0]);
        Assert.EndsWith(",over_budget,", lines[1]);
    }
}
