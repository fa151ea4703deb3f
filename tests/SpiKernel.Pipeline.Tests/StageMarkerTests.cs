using SpiKernel.Pipeline.Stages;

namespace SpiKernel.Pipeline.Tests;

public class StageMarkerTests
{
    [SkippableFact]
    public void Should_WritePathsInTheRunFolderRelatively_When_AMarkerIsWritten()
    {
        Skip.If(!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS(), "POSIX paths: the identities' text is what is compared");
        const string identity = "checkpoint=/w/runs/quick/train/a1/checkpoint.dat@63 models=/w/runs/quick/models run=/w/runs/quick " +
            "data=/w/runs/quick2/d other=/w/runs/quick.csv,/data/fmnist mounted=/mnt/w/runs/quick/d";
        Assert.Equal("checkpoint={up}/train/a1/checkpoint.dat@63 models={here} run={up} data=/w/runs/quick2/d other=/w/runs/quick.csv,/data/fmnist mounted=/mnt/w/runs/quick/d",
            StageMarker.Portable("/w/runs/quick/models", identity)); // whole paths only, at the start of a value
        Assert.Equal("a={here}/x b={up}/y c=/ d={here},{up}/z", StageMarker.Portable("/w/r", "a=/w/r/x b=/w/y c=/ d=/w/r,/w/z"));
        Assert.Equal("a={here}/x b=/y", StageMarker.Portable("/w", "a=/w/x b=/y")); // never the file system's root
    }

    [Fact]
    public void Should_KeepAStageComplete_When_ItsFolderMoves()
    {
        using var dir = new TempDir();
        string before = Path.Combine(dir.Path, "a", "run"), after = Path.Combine(dir.Path, "b", "copy");
        Directory.CreateDirectory(Path.Combine(before, "models"));
        StageMarker.Write(Path.Combine(before, "models"), "export-x", $"checkpoint={before}/train/c.dat models={before}/models data=/data/x");
        Directory.CreateDirectory(Path.GetDirectoryName(after)!);
        Directory.Move(before, after);

        Assert.True(StageMarker.Matches(Path.Combine(after, "models"), "export-x", $"checkpoint={after}/train/c.dat models={after}/models data=/data/x"));
        Assert.False(StageMarker.Matches(Path.Combine(after, "models"), "export-x", $"checkpoint={after}/train/c.dat models={after}/models data=/data/y"));
        Assert.False(StageMarker.Matches(Path.Combine(after, "models"), "export-x", $"checkpoint={before}/train/c.dat models={after}/models data=/data/x"));
    }
}
