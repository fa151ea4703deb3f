using SpiKernel.Cli;
using SpiKernel.Core;
using SpiKernel.Pipeline.Run;

namespace SpiKernel.Pipeline.Tests;

/// <summary><c>spikernel run</c>'s configuration: presets, strict JSON, overrides, and bad input refused before anything is written.</summary>
public class RunConfigTests
{
    [Theory]
    [InlineData("quick")]
    [InlineData("standard")]
    [InlineData("paper")]
    public void Should_ReadBackEveryPreset_When_ItsJsonIsParsed(string preset)
    {
        RunConfig config = RunPresets.Get(preset);
        RunConfig back = RunConfigFile.Parse(RunConfigFile.Format(config, withVersion: true), "run.json");
        Assert.Empty(RunConfigFile.Differences(config, back));
        Assert.Equal(preset, back.Preset);
    }

    [Theory]
    [InlineData("quick")]
    [InlineData("standard")]
    [InlineData("paper", "--data", "/data/cifar-10")]
    public void Should_PlanEveryPreset_When_ItIsUsedAsShipped(string preset, params string[] more)
    {
        var r = CliTests.Run(["run", "--print-config", "--preset", preset, .. more]); // validated like a run
        Assert.True(r.Code == 0, r.Err);
        RunPlan plan = RunPlan.From(RunConfigFile.Parse(r.Out, "stdout"));
        Assert.NotEmpty(plan.Profiles);
    }

    [Fact]
    public void Should_TakeMissingKeysFromThePreset_When_AFileChangesOnlySome()
    {
        RunConfig c = RunConfigFile.Parse("""{ "preset": "standard", "training": { "epochs": 3 } }""", "x.json");
        Assert.Equal(3, c.Training.Epochs);
        Assert.Equal(RunPresets.Get("standard").Training.Optimizer, c.Training.Optimizer);
        Assert.Equal(RunPresets.Get("standard").Search.Candidates, c.Search.Candidates);
        Assert.Equal(["training.epochs"], RunConfigFile.Differences(RunPresets.Get("standard"), c));
    }

    [Theory]
    [InlineData("""{ "search": { "candidate": 3 } }""", "unknown key 'search.candidate'")]
    [InlineData("""{ "serch": {} }""", "unknown key 'serch'")]
    [InlineData("""{ "training": { "epochs": "two" } }""", "wrong type for 'training.epochs'")]
    [InlineData("""{ "preset": "huge" }""", "Unknown preset 'huge'")]
    [InlineData("""{ "search": null }""", "wrong type for 'search'")]
    [InlineData("""{ "export": { "precisions": null } }""", "wrong type for 'export.precisions'")]
    [InlineData("""[1, 2]""", "a run configuration is a JSON object")]
    [InlineData("""{ "seed": 1""", "not valid JSON")]
    [InlineData("""{ "seed": 1, "seed": 2 }""", "the key 'seed' is given twice in one object")]
    [InlineData("""{ "training": { "epochs": 3, "epochs": 4 } }""", "the key 'epochs' is given twice in one object")]
    public void Should_NameTheKey_When_AConfigurationIsBad(string json, string expected)
    {
        var ex = Assert.Throws<SettingsException>(() => RunConfigFile.Parse(json, "bad.json"));
        Assert.Contains(expected, ex.Message);
        Assert.StartsWith("bad.json: ", ex.Message);
    }

    [Theory]
    [InlineData("""{ "evaluation": { "profiles": ["cpu", "tpu"] } }""", "evaluation.profiles: Unknown provider or profile 'tpu'")]
    [InlineData("""{ "ranking": { "constraints": ["latency_p50_ms<=2@cuda"] }, "evaluation": { "profiles": ["cpu"] }, "target": { "profile": null } }""", "names profile 'cuda', which evaluation.profiles does not measure")]
    [InlineData("""{ "ranking": { "constraints": ["speed<=2"] } }""", "ranking.constraints")]
    [InlineData("""{ "search": { "kernel_sets": ["1,3", "3,1"] } }""", "search.kernel_sets: {1,3} is listed 2 times ('1,3', '3,1'); list each set once")]
    [InlineData("""{ "evaluation": { "batch_sizes": [32] }, "target": { "max_latency_ms": 2 } }""", "target.max_latency_ms: 'latency_p50_ms<=2@edge/1' is at batch 1, which evaluation.batch_sizes does not measure (32)")]
    [InlineData("""{ "ranking": { "constraints": ["latency_p50_ms<=2@cpu/64"] } }""", "is at batch 64, which evaluation.batch_sizes does not measure (1, 32)")]
    [InlineData("""{ "target": { "profile": "cuda" }, "evaluation": { "profiles": ["cpu"] } }""", "target.profile 'cuda' is not among evaluation.profiles (cpu): give --target PROFILE or --target none")]
    [InlineData("""{ "kernel_study": { "enabled": false } }""", "search.kernel_sets")]
    [InlineData("""{ "search": { "kernel_sets": ["2,4"] } }""", "search.kernel_sets")]
    [InlineData("""{ "export": { "precisions": ["int8"] } }""", "must include fp32")]
    [InlineData("""{ "architecture": "input=1x96x96 sap=12" }""", "export.precisions: the int8 export multiplies the classifier's pooled spike counts (up to sap² = 144)")]
    [InlineData("""{ "training": { "optimizer": "lion" } }""", "training.optimizer")]
    [InlineData("""{ "selection": { "top": 0 } }""", "selection.top")]
    [InlineData("""{ "preset": "paper" }""", "the paper preset needs")]
    public void Should_RefuseThePlan_When_ASettingCannotWork(string json, string expected)
    {
        RunConfig c = RunConfigFile.Parse(json, "x.json");
        var ex = Assert.Throws<SettingsException>(() => RunPlan.From(c));
        Assert.Contains(expected, ex.Message);
    }

    [Fact]
    public void Should_RefuseWithOneLineAndWriteNothing_When_TheBudgetIsBelowTheSmallestNetwork()
    {
        using var dir = new TempDir();
        string config = dir.File("c.json");
        File.WriteAllText(config, """{ "search": { "budget_parameters": 1000 } }""");
        string run = Path.Combine(dir.Path, "run");
        CliTests.AssertOneLineError(CliTests.Run("run", "--config", config, "--out", run), ExitCodes.Usage, "budget of 1,000 parameters is below the smallest network");
        Assert.False(Directory.Exists(run));
    }

    [Fact]
    public void Should_RefuseWithOneLine_When_TheRunFolderCannotBeWritten()
    {
        using var dir = new TempDir();
        string blocker = dir.File("file");
        File.WriteAllText(blocker, "");
        CliTests.AssertOneLineError(CliTests.Run("run", "--out", Path.Combine(blocker, "run")), ExitCodes.InputError, $"{blocker} is a file, not a folder");
    }

    [Fact]
    public void Should_NameTheDifferingKeys_When_AFolderHoldsARunOfAnotherConfiguration()
    {
        using var dir = new TempDir();
        RunConfigFile.Save(RunPresets.Get(RunPresets.Quick), dir.File("run.json"));
        string before = File.ReadAllText(dir.File("run.json"));
        var r = CliTests.Run("run", "--resume", dir.Path, "--epochs", "9", "--seed", "4");
        CliTests.AssertOneLineError(r, ExitCodes.Usage, "differs in seed, training.epochs");
        Assert.Contains("or start this one in another folder with --out DIR", r.Err, StringComparison.Ordinal); // names the way out
        Assert.Equal(before, File.ReadAllText(dir.File("run.json")));
    }

    [Fact]
    public void Should_Refuse_When_ResumingAFolderWithoutARun()
    {
        using var dir = new TempDir();
        CliTests.AssertOneLineError(CliTests.Run("run", "--resume", dir.Path), ExitCodes.InputError, "nothing to resume");
        // a path that does not exist is unreadable input, whichever command names it
        CliTests.AssertOneLineError(CliTests.Run("run", "--config", dir.File("nowhere.json")), ExitCodes.InputError, "nowhere.json: no such configuration file");
        CliTests.AssertOneLineError(CliTests.Run("merge", dir.Path), ExitCodes.InputError, "no run.json (not a run folder)");
        // a run folder's own run.json that does not parse is a corrupt input file (1), not a bad setting (2), whichever command reads it
        File.WriteAllText(dir.File("run.json"), "{ \"seed\": ");
        foreach (string[] args in new[] { new[] { "run", "--resume", dir.Path }, ["merge", dir.Path], ["run", "--out", dir.Path], ["run", "--stage", "train", "--out", dir.Path] })
            CliTests.AssertOneLineError(CliTests.Run(args), ExitCodes.InputError, "run.json: not valid JSON");
        // a key given twice was a crash (exit 70) wherever a configuration is read
        File.WriteAllText(dir.File("run.json"), "{ \"seed\": 1, \"seed\": 2 }");
        CliTests.AssertOneLineError(CliTests.Run("merge", dir.Path), ExitCodes.InputError, "run.json: the key 'seed' is given twice");
        CliTests.AssertOneLineError(CliTests.Run("run", "--config", dir.File("run.json"), "--print-config"), ExitCodes.Usage, "run.json: the key 'seed' is given twice");
    }

    [Fact]
    public void Should_PrintTheEffectiveConfiguration_When_AskedWithOverrides()
    {
        // (a budget of 100,000 printed, though the run refuses it: the quick network's smallest is 218,548 parameters)
        var r = CliTests.Run("run", "--print-config", "--epochs", "5", "--target", "none", "--max-params", "230000");
        Assert.Equal(0, r.Code);
        RunConfig c = RunConfigFile.Parse(r.Out, "stdout");
        Assert.Equal(5, c.Training.Epochs);
        Assert.Null(c.Target.Profile);
        Assert.Equal(230_000, c.Target.MaxParameters);
        Assert.Equal(230_000, RunPlan.From(c).BudgetParameters);
    }

    [Fact]
    public void Should_RecordAbsolutePaths_When_ANewRunNamesRelativeOnes()
    {
        // the scheduler tasks start in RUN/launch/slurm and a resume may start anywhere: a relative path would move
        var r = CliTests.Run("run", "--print-config", "--data", "data/fmnist");
        Assert.Equal(0, r.Code);
        Assert.Equal(Path.GetFullPath("data/fmnist"), RunConfigFile.Parse(r.Out, "stdout").Data);
        Assert.Equal("embedded", RunConfigFile.Parse(CliTests.Run("run", "--print-config", "--data", "embedded").Out, "stdout").Data);
        // no data (the standard preset's): what it means on this machine, so another node cannot take other data
        Assert.Equal(Data.DatasetCatalog.DefaultSource(), RunConfigFile.Parse(CliTests.Run("run", "--print-config", "--preset", "standard").Out, "stdout").Data);
    }

    [Theory]
    [InlineData(new[] { "run", "--print-config", "--epochs", "0" }, "training.epochs")]
    [InlineData(new[] { "run", "--print-config", "--profiles", "cpu,tpu" }, "Unknown provider or profile 'tpu'")]
    [InlineData(new[] { "run", "--print-config", "--min-accuracy", "85" }, "target.min_accuracy is a fraction in [0, 1] (got 85)")]
    // checked against the data, as the run checks them before it starts (they were printed, exit 0)
    [InlineData(new[] { "run", "--print-config", "--max-params", "10" }, "search: A budget of 10 parameters is below the smallest network")]
    [InlineData(new[] { "run", "--print-config", "--candidates", "0" }, "search: --candidates must be at least 1")]
    public void Should_RefuseToPrintAConfigurationThatCannotRun_When_AnOverrideIsInvalid(string[] args, string expected) =>
        CliTests.AssertOneLineError(CliTests.Run(args), ExitCodes.Usage, expected);

    [Fact]
    public void Should_RefuseAPreset_When_Resuming()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("run.json"), RunConfigFile.Format(RunPresets.Get(RunPresets.Quick)));
        CliTests.AssertOneLineError(CliTests.Run("run", "--resume", dir.Path, "--preset", "standard"), ExitCodes.Usage,
            "--preset chooses a new run's settings; --resume continues a run with those in its run.json");
        CliTests.AssertOneLineError(CliTests.Run("run", "--resume", dir.Path, "--out", dir.File("elsewhere")), ExitCodes.Usage,
            "--resume names the run folder; leave out --out (or give the same folder)");
    }

    [Fact]
    public void Should_ResolveANewRunsConfigurationAndFolder_When_Requested()
    {
        // the library's resolution that run's command calls: overrides over the preset, paths rooted, runs/PRESET by default
        (RunConfig config, string dir) = new RunRequest(null, RunPresets.Quick, null, null, c => c with { Seed = 7, Data = "data/fmnist" })
            .Resolve("/work/here");
        Assert.Equal(7, config.Seed);
        Assert.Equal("/work/here/data/fmnist", config.Data);
        Assert.Equal(Path.Combine("runs", "quick"), dir);
        using var run = new TempDir();
        RunConfigFile.Save(RunPresets.Get(RunPresets.Quick) with { Seed = 3, Data = "data/x" }, run.File("run.json"));
        (config, dir) = new RunRequest(null, null, run.Path, run.Path, c => c).Resolve("/elsewhere");
        Assert.Equal((3, "data/x", run.Path), (config.Seed, config.Data, dir)); // a resume's run.json, not re-rooted where it is resumed from
    }
}
