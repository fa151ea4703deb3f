using SpiKernel.Cli;
using SpiKernel.Core.Csv;

namespace SpiKernel.Pipeline.Tests;

/// <summary>A path that names a file where a folder belongs, or a folder where a file belongs, is named as such in one line.</summary>
public class PathErrorTests
{
    [Fact]
    public void Should_SayTheFileIsNotAFolder_When_AnOutputPathRunsThroughAFile()
    {
        // "the folder /etc/passwd does not exist", or .NET's "Could not find a part of the path"
        using var dir = new TempDir();
        string file = dir.File("plain");
        File.WriteAllText(file, "");
        CsvFile.WriteAll(dir.File("r.csv"), [RankingTests.M("a", "cpu", 0.8, 1.0, 100).Row]);
        CliTests.AssertOneLineError(CliTests.Run("rank", dir.File("r.csv"), "--out", Path.Combine(file, "ranking.csv")), ExitCodes.InputError, $"{file} is a file, not a folder");
        CliTests.AssertOneLineError(CliTests.Run("predictor", "dataset", "--count", "1", "--out", file), ExitCodes.InputError, $"{file} is a file, not a folder");
        Assert.Equal("", File.ReadAllText(file));
    }

    [Fact]
    public void Should_SayTheFolderIsNotAFile_When_AnInputFileIsAFolder()
    {
        using var dir = new TempDir();
        CliTests.AssertOneLineError(CliTests.Run("run", "--config", dir.Path, "--print-config"), ExitCodes.InputError, $"{dir.Path}: is a folder, not a configuration file");
        CliTests.AssertOneLineError(CliTests.Run("search", "--kernels", "@" + dir.Path, "--out", dir.File("s")), ExitCodes.InputError, $"{dir.Path}: is a folder, not a file of kernel sets");
        CliTests.AssertOneLineError(CliTests.Run("arch", "params", "--arch", dir.Path), ExitCodes.Usage, $"--arch {dir.Path}: a folder; give its architecture.txt");
        // and the other way round
        File.WriteAllText(dir.File("notes"), "");
        CliTests.AssertOneLineError(CliTests.Run("report", dir.File("notes")), ExitCodes.InputError, $"{dir.File("notes")}: a file, not a run folder");
    }
}
