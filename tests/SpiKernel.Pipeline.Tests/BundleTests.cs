using System.Diagnostics;
using SpiKernel.Core.Csv;
using SpiKernel.Evaluators.Results;
using SpiKernel.Pipeline.Ranking;

namespace SpiKernel.Pipeline.Tests;

/// <summary>
/// <c>spikernel bundle</c> writes a folder that runs on a machine without the .NET SDK or TorchSharp: the linux-x64
/// bundle is run from a temporary folder with a PATH holding no dotnet, and its rows go through <c>spikernel rank</c>;
/// the linux-arm64 bundle carries aarch64 binaries and no libtorch.
/// </summary>
public class BundleTests(TrainedRunFixture run) : IClassFixture<TrainedRunFixture>
{
    [Fact]
    public void Should_EvaluateOnAMachineWithoutTheSdk_When_TheBundleIsCopiedThere()
    {
        using var work = new TempDir();
        string bundle = Path.Combine(work.Path, "bundle");
        // --out as a shell completes it, with a trailing '/': staged inside the folder it replaced, the bundle was lost
        var made = CliTests.Run("bundle", "--rid", "linux-x64", "--providers", "cpu", "--models", Path.GetDirectoryName(run.Model)!,
            "--out", bundle + "/", "--data", "embedded", "--test-images", "200");
        Assert.True(made.Code == 0, made.Out + made.Err);
        Assert.Contains("total", made.Out, StringComparison.Ordinal);
        NoTorch(bundle);
        Assert.Equal(["tiny.int8.onnx", "tiny.onnx"], Directory.GetFiles(Path.Combine(bundle, "models")).Select(Path.GetFileName).Order(StringComparer.Ordinal));

        // a machine with no .NET: a PATH holding only what evaluate.sh uses, no DOTNET_* variables, a folder outside the repository
        string tools = Path.Combine(work.Path, "tools");
        Directory.CreateDirectory(tools);
        File.CreateSymbolicLink(Path.Combine(tools, "dirname"), "/usr/bin/dirname");
        string target = Path.Combine(work.Path, "target");
        Directory.CreateDirectory(target);
        ProcessStartInfo Evaluate(string csv)
        {
            var psi = new ProcessStartInfo("/bin/sh", [Path.Combine(bundle, "evaluate.sh"), "--repeats", "3", "--warmup", "1", "--out", csv, "--device", "board"])
            {
                WorkingDirectory = target, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            };
            foreach (string key in psi.Environment.Keys.Where(k => k.StartsWith("DOTNET", StringComparison.Ordinal) || k == "PATH").ToArray()) psi.Environment.Remove(key);
            psi.Environment["PATH"] = tools;
            return psi;
        }
        ProcessStartInfo psi = Evaluate("results/board.csv");
        using (Process p = Process.Start(psi)!)
        {
            var error = new System.Text.StringBuilder();
            p.ErrorDataReceived += (_, e) => error.AppendLine(e.Data);
            p.BeginErrorReadLine();
            string stdout = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, $"evaluate.sh exited {p.ExitCode}: {stdout} {error}");
        }

        string csv = Path.Combine(target, "results", "board.csv");
        List<EvaluationRow> rows = CsvFile.ReadAll<EvaluationRow>(csv);
        Assert.True(rows.Count == 2, string.Join("\n", rows)); // fp32 on cpu, int8 on edge (the profiles' own precision choice)
        Assert.Equal([("cpu@board", "fp32"), ("edge@board", "int8")], rows.Select(r => (r.Profile, r.Precision))); // apart from this machine's rows

        // a rerun (say after a kill) measures nothing twice
        using (Process again = Process.Start(psi)!)
        {
            again.BeginErrorReadLine();
            again.StandardOutput.ReadToEnd();
            again.WaitForExit();
            Assert.Equal(0, again.ExitCode);
        }
        Assert.Equal(2, CsvFile.ReadAll<EvaluationRow>(Path.Combine(target, "results", "board.csv")).Count);
        // the bundle's providers are a default: --providers names others (given twice, the evaluator refused it);
        // started as bundle/evaluate.sh under a CDPATH that finds bundle/ (cd printed the folder, which became part of its path)
        psi = Evaluate(Path.Combine(target, "results", "cpu-only.csv"));
        psi.ArgumentList[0] = Path.Combine("bundle", "evaluate.sh");
        psi.WorkingDirectory = work.Path;
        psi.Environment["CDPATH"] = work.Path;
        psi.ArgumentList.Add("--providers");
        psi.ArgumentList.Add("cpu");
        using (Process some = Process.Start(psi)!)
        {
            var someErr = new System.Text.StringBuilder();
            some.ErrorDataReceived += (_, e) => someErr.AppendLine(e.Data);
            some.BeginErrorReadLine();
            some.StandardOutput.ReadToEnd();
            some.WaitForExit();
            Assert.True(some.ExitCode == 0, someErr.ToString());
        }
        Assert.Equal(["cpu@board"], CsvFile.ReadAll<EvaluationRow>(Path.Combine(target, "results", "cpu-only.csv")).Select(r => r.Profile));
        // without --out, into the bundle's results/ whatever the working folder (a bundle built again keeps that folder)
        psi = Evaluate("unused.csv");
        psi.ArgumentList.Remove("--out");
        psi.ArgumentList.Remove("unused.csv");
        psi.ArgumentList.Add("--providers");
        psi.ArgumentList.Add("edge");
        using (Process plain = Process.Start(psi)!)
        {
            plain.BeginErrorReadLine();
            plain.StandardOutput.ReadToEnd();
            plain.WaitForExit();
            Assert.Equal(0, plain.ExitCode);
        }
        Assert.Equal(["edge@board"], CsvFile.ReadAll<EvaluationRow>(Path.Combine(bundle, "results", Environment.MachineName + ".csv")).Select(r => r.Profile));
        Assert.False(File.Exists(Path.Combine(target, "results", Environment.MachineName + ".csv")));
        Assert.All(rows, r => Assert.Equal(EvaluationStatus.Ok, r.Status));
        Assert.All(rows, r => Assert.InRange(r.AccuracyTop1 ?? -1, 0.05, 1.0)); // measured on the bundled test images
        Assert.True(File.Exists(Path.Combine(target, "results", "board.layers.csv")));

        string ranking = Path.Combine(work.Path, "ranking.csv");
        var ranked = CliTests.Run("rank", csv, "--out", ranking);
        Assert.True(ranked.Code == 0, ranked.Out + ranked.Err);
        Assert.Contains(CsvFile.ReadAll<RankingRow>(ranking), r => r.CandidateId == rows[0].CandidateId);

        // a damaged test-data file costs its accuracy, not the run: every model is still measured (it ended the run, exit 1)
        File.WriteAllBytes(Directory.GetFiles(Path.Combine(bundle, "data"), "labels.idx", SearchOption.AllDirectories).Single(), [0, 0, 12]);
        using (Process damaged = Process.Start(Evaluate("results/damaged.csv"))!)
        {
            damaged.BeginErrorReadLine();
            damaged.StandardOutput.ReadToEnd();
            damaged.WaitForExit();
            Assert.Equal(0, damaged.ExitCode);
        }
        List<EvaluationRow> measured = CsvFile.ReadAll<EvaluationRow>(Path.Combine(target, "results", "damaged.csv"));
        Assert.Equal(2, measured.Count);
        Assert.All(measured, r => Assert.Equal(EvaluationStatus.Ok, r.Status));
        Assert.All(measured, r => Assert.Null(r.AccuracyTop1));
        Assert.All(measured, r => Assert.Contains("no accuracy: the bundle's test data for ", r.Note)); // was empty: nothing said why
    }

    [Fact]
    public void Should_CarryAarch64Binaries_When_TheRidIsLinuxArm64()
    {
        using var work = new TempDir();
        string bundle = Path.Combine(work.Path, "arm");
        DateTime started = DateTime.UtcNow.AddSeconds(-1);
        var made = CliTests.Run("bundle", "--rid", "linux-arm64", "--models", run.Model, "--out", bundle, "--data", "embedded", "--test-images", "50");
        Assert.True(made.Code == 0, made.Out + made.Err);
        NoTorch(bundle);
        // built apart from the checkout's own outputs: a publish into core/bin/Release rebuilt them without the .pdb a
        // Release build beside it (another test project, a dotnet run) then failed to copy (MSB3030)
        string root = Checkout();
        string own = Path.Combine(root, "core", "bin", "Release", "net10.0", "linux-arm64");
        Assert.DoesNotContain(Directory.Exists(own) ? Directory.GetFiles(own) : [], f => File.GetLastWriteTimeUtc(f) >= started);
        Assert.True(File.Exists(Path.Combine(root, "obj", "bundle", "linux-arm64-cpu", "bin", "SpiKernel.Core", "release_linux-arm64", "SpiKernel.Core.dll")));
        foreach (string binary in new[] { "spikernel-evaluate", "libonnxruntime.so", "libcoreclr.so" })
            Assert.Equal(183, ElfMachine(Path.Combine(bundle, "bin", binary))); // EM_AARCH64

        CliTests.AssertOneLineError(CliTests.Run("bundle", "--rid", "linux-arm64", "--providers", "cpu,cuda", "--models", run.Model, "--out", Path.Combine(work.Path, "x")),
            2, "linux-x64 only");
        CliTests.AssertOneLineError(CliTests.Run("bundle", "--models", run.Model, "--out", work.Path), 2, "not empty"); // holds arm/, not a bundle
        Assert.False(Directory.Exists(Path.Combine(work.Path, "x")));
    }

    [Fact]
    public void Should_RefuseBeforePublishing_When_AModelTheDataOrTheFolderIsBad()
    {
        // each was found only after the minutes of publishing, and a --data that could not be read gave a bundle without test data
        using var work = new TempDir();
        File.WriteAllText(work.File("notes.onnx"), "these are my notes\n");
        File.WriteAllText(work.File("file"), "");
        foreach ((string[] args, int code, string expected) in new[]
        {
            (new[] { "--models", work.File("notes.onnx") }, 1, "not an ONNX model"),
            (["--models", run.Model, "--data", work.Path], 1, $"--data {work.Path}: "),
            (["--models", run.Model, "--out", work.File("file")], 2, $"--out {work.File("file")} is a file"),
        })
        {
            var r = CliTests.Run(["bundle", .. args, .. args.Contains("--out") ? Array.Empty<string>() : ["--out", work.File("b")]]);
            CliTests.AssertOneLineError(r, code, expected);
            Assert.DoesNotContain("publishing", r.Out + r.Err, StringComparison.Ordinal);
            Assert.False(Directory.Exists(work.File("b")) || Directory.Exists(work.File("b") + ".partial"));
        }
    }

    private static string Checkout()
    {
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "SpiKernel.Onnx.sln"))) return d.FullName;
        throw new InvalidOperationException("the tests run outside the checkout");
    }

    private static void NoTorch(string bundle) =>
        Assert.DoesNotContain(Directory.GetFiles(bundle, "*", SearchOption.AllDirectories), f => Path.GetFileName(f).Contains("torch", StringComparison.OrdinalIgnoreCase));

    private static int ElfMachine(string path)
    {
        byte[] header = File.ReadAllBytes(path)[..20];
        Assert.Equal("\u007fELF"u8.ToArray(), header[..4]);
        return BitConverter.ToUInt16(header, 18);
    }
}
