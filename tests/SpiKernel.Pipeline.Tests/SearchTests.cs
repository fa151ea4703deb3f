using SpiKernel.Models.Architecture;
using SpiKernel.Models.Search;
using SpiKernel.Cli;
using SpiKernel.Pipeline.Data;
using SpiKernel.Pipeline.Search;
using SpiKernel.Pipeline.Stages;
using SpiKernel.Pipeline.Training;

namespace SpiKernel.Pipeline.Tests;

public class SearchTests
{
    private static SearchOptions Options(long budget = 10_000_000) =>
        new([("snasnet", KernelSet.Snasnet), ("k357", KernelSets.Resolve("k357"))], CellKind.Backward, Candidates: 8,
            BudgetParameters: budget, Batch: 8, Repeat: 2, Top: 2, Seed: 3);

    [Fact]
    public void Should_ProduceSameCandidatesScoresAndRanking_When_SeedIsSame()
    {
        using var a = new TempDir();
        using var b = new TempDir();
        ImageDataset train = TrainerTests.Small().Train;
        SearchResult ra = SearchRunner.Run(TrainerTests.Tiny, train, Options(), a.Path);
        SearchRunner.Run(TrainerTests.Tiny, train, Options(), b.Path);

        string Strip(string path) => string.Join('\n', File.ReadLines(path).Select(l => string.Join(',', l.Split(',').SkipLast(3)))); // drop seconds
        Assert.Equal(Strip(a.File(SearchRunner.CandidatesFile)), Strip(b.File(SearchRunner.CandidatesFile)));
        Assert.Contains(ra.Rows, r => r.Status == CandidateStatus.Scored);
        Assert.Equal(Enumerable.Range(1, ra.Rows.Count(r => r.Rank is not null)), ra.Rows.Where(r => r.Rank is not null).Select(r => r.Rank!.Value));
        Assert.True(ra.Rows.Where(r => r.Score is not null).Zip(ra.Rows.Where(r => r.Score is not null).Skip(1)).All(p => p.First.Score >= p.Second.Score));
        Assert.Equal(ra.Rows.Count, ra.Rows.Select(r => r.Architecture).Distinct().Count());
        Assert.Equal(2 * 8, ra.Rows.Count); // --candidates counts distinct cells per set: duplicates are drawn again
        // the top files are architectures train accepts
        string top = Directory.GetFiles(Path.Combine(a.Path, "top")).Order().First();
        Assert.Equal(TrainerTests.Tiny.Macro, SnnArchitecture.Parse(File.ReadAllText(top)).Macro);
    }

    [Fact]
    public void Should_RejectOverBudgetCandidatesWithoutBuilding_When_BudgetIsTight()
    {
        using var dir = new TempDir();
        long smallest = (TrainerTests.Tiny with { Cell = CellTopology.Parse("0001 0000 0000 0000") }).ParameterCount();
        SearchResult r = SearchRunner.Run(TrainerTests.Tiny, TrainerTests.Small().Train, Options(smallest + 400), dir.Path);
        Assert.Contains(r.Rows, x => x.Status == CandidateStatus.OverBudget && x.Reason.Contains("exceed the budget"));
        Assert.All(r.Rows.Where(x => x.Status == CandidateStatus.Scored), x => Assert.True(x.Parameters <= smallest + 400));
    }

    [Theory]
    [InlineData(new[] { "--budget-params", "100" }, "below the smallest network")]
    [InlineData(new[] { "--candidates", "0" }, "--candidates must be at least 1")]
    [InlineData(new[] { "--kernels", "huge" }, "Unknown kernel set 'huge'")]
    [InlineData(new[] { "--kernels", "2,4" }, "Kernel size 2 is not allowed")]
    [InlineData(new[] { "--cell", "0303 0030" }, "--cell must be forward or backward")]
    [InlineData(new[] { "--budget-params", "lots" }, "--budget-params must be a positive count")]
    [InlineData(new[] { "--budget-params", "99999999999999999999" }, "--budget-params must be a positive count")]
    [InlineData(new[] { "--arch", "cell=\"03\"" }, "must be 4 rows")]
    [InlineData(new[] { "--kernels", "snasnet", "--kernels", "3,1" }, "--kernels: {1,3} is listed 2 times ('snasnet', '3,1'); list each set once")]
    public void Should_PrintOneLineAndExit2_When_SearchArgumentsAreBad(string[] args, string expected)
    {
        using var dir = new TempDir();
        CliTests.AssertOneLineError(CliTests.Run(["search", "--out", dir.Path, .. args]), ExitCodes.Usage, expected);
    }

    [Theory]
    [InlineData("efficient-2: 1,3\n", ExitCodes.Usage, "below the smallest network")] // the file read: the search went on to the budget
    [InlineData("oops\n", ExitCodes.InputError, "line 1: expected 'name: sizes'")]
    [InlineData("k-3: 3\nk_3: 1,3\n", ExitCodes.Usage, "the names 'k-3' and 'k_3' both make the file names top/k_3-N.arch.txt; rename one")] // one top list over the other
    public void Should_ReadKernelSetsFromAFile_When_KernelsIsAtFile(string sets, int code, string expected)
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("proposed-sets.txt"), sets);
        // @FILE is ours, not System.CommandLine's response file
        CliTests.AssertOneLineError(CliTests.Run(["search", "--out", dir.File("out"), "--kernels", "@" + dir.File("proposed-sets.txt"), "--budget-params", "100"]),
            code, expected);
    }

    [Fact]
    public void Should_ReplaceTheTopLists_When_SearchingIntoTheSameFolderAgain()
    {
        using var dir = new TempDir();
        var one = Options() with { KernelSets = [("snasnet", KernelSet.Snasnet)], Candidates = 3, Top = 3 };
        SearchRunner.Run(TrainerTests.Tiny, TrainerTests.Small().Train, one with { KernelSets = [("k35", KernelSets.Resolve("k35"))] }, dir.Path);
        SearchRunner.Run(TrainerTests.Tiny, TrainerTests.Small().Train, one with { Top = 1 }, dir.Path);
        Assert.Equal(["snasnet-1.arch.txt"], Directory.GetFiles(Path.Combine(dir.Path, "top")).Select(f => Path.GetFileName(f)));
    }

    [Fact]
    public void Should_ContinueAnInterruptedSearchOnlyWhenAskedAndWithItsSettings_When_CandidatesCsvExists()
    {
        using var data = new TempDir();
        IdxWriter.FashionMnistFolder(data.Path, 64, 16, gzip: false);
        using var dir = new TempDir();
        var search = new SearchOptions([("snasnet", KernelSet.Snasnet)], CellKind.Forward, Candidates: 6, BudgetParameters: 10_000_000, Batch: 8, Repeat: 1, Top: 2, Seed: 3);
        var options = new SearchStageOptions(TrainerTests.Tiny, search, dir.Path, data.Path, Threads: 1);
        string csv = dir.File(SearchRunner.CandidatesFile);
        IReadOnlyList<CandidateRow> whole = new SearchStage().Run(options, Core.NullProgress.Instance, default).Search.Rows;
        // interrupted after three candidates: the file as the search appends it, unranked
        Core.Csv.CsvFile.WriteAll(csv, whole.OrderBy(r => r.CandidateId, StringComparer.Ordinal).Take(3).Select(r => r with { Rank = null, Seconds = 99 }));

        var again = Assert.Throws<Core.SettingsException>(() => new SearchStage().Run(options, Core.NullProgress.Instance, default)); // used to truncate it
        Assert.Contains("exists: give --resume to continue that search", again.Message);
        var other = Assert.Throws<Core.SettingsException>(() => new SearchStage().Run(options with { Search = search with { Seed = 4 }, Resume = true }, Core.NullProgress.Instance, default));
        Assert.Contains("was scored with other settings", other.Message);
        Assert.Equal(4, File.ReadAllLines(csv).Length); // refused before anything was written

        // the same data spelt another way: the rows depend on the data as loaded, not on how --data was typed
        Directory.CreateDirectory(Path.Combine(data.Path, "sub"));
        IReadOnlyList<CandidateRow> resumed = new SearchStage().Run(options with { Resume = true, Data = Path.Combine(data.Path, "sub", ".."), Search = search with { Top = 1 } },
            Core.NullProgress.Instance, default).Search.Rows;
        Assert.Equal(3, resumed.Count(r => r.Seconds == 99)); // kept, not scored again (--top only reads the scores)
        Assert.Equal(whole.Select(r => (r.CandidateId, r.Score, r.Rank)), resumed.Select(r => (r.CandidateId, r.Score, r.Rank)));
    }

    [Fact]
    public void Should_TakeTheNamesAndSizesOfTheFile_When_KernelsIsAtFile()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("proposed-sets.txt"), "efficient-2: 1,3\nwide: 3,5,7\n");
        var sets = Parse.KernelSets(["@" + dir.File("proposed-sets.txt")]);
        Assert.Equal([("efficient-2", "1,3"), ("wide", "3,5,7")], sets.Select(s => (s.Name, s.Set.ToString())));
    }

    [Theory]
    [InlineData("10M", 10_000_000)]
    [InlineData("500K", 500_000)]
    [InlineData("1.5M", 1_500_000)]
    [InlineData("1200000", 1_200_000)]
    public void Should_ParseBudget_When_GivenWithSuffix(string text, long expected) =>
        Assert.Equal(expected, Parse.Count("--budget-params", text));

    [Fact]
    public void Should_WriteInvariantNumbers_When_TheProcessCultureIsGerman()
    {
        using var dir = new TempDir();
        System.Globalization.CultureInfo before = System.Globalization.CultureInfo.CurrentCulture;
        System.Globalization.CultureInfo.CurrentCulture = new System.Globalization.CultureInfo("de-DE");
        try
        {
            long smallest = (TrainerTests.Tiny with { Cell = CellTopology.Parse("0001 0000 0000 0000") }).ParameterCount();
            SearchResult r = SearchRunner.Run(TrainerTests.Tiny, TrainerTests.Small().Train, Options(smallest + 400), dir.Path);
            CandidateRow over = r.Rows.First(x => x.Status == CandidateStatus.OverBudget);
            Assert.Matches(@"^\d{1,3}(,\d{3})* parameters exceed the budget of \d{1,3}(,\d{3})*$", over.Reason);
            Assert.Contains("over_budget", File.ReadAllText(dir.File(SearchRunner.CandidatesFile)));
            // the settings text a resume compares
            string settings = TrainSettingsText.Describe(new TrainOptions(LearningRate: 0.0025, ValidationFraction: 0.05), Augmentation.None);
            Assert.Contains("lr=0.0025 ", settings);
            Assert.Contains("val=0.05 ", settings);
        }
        finally
        {
            System.Globalization.CultureInfo.CurrentCulture = before;
        }
    }
}
