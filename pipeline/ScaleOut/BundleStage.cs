using System.Globalization;
using System.Text.Json;
using SpiKernel.Core;
using SpiKernel.Evaluators.Measurement;
using SpiKernel.Evaluators.Models;
using SpiKernel.Pipeline.Data;
using SpiKernel.Pipeline.Stages;

namespace SpiKernel.Pipeline.ScaleOut;

/// <summary>Settings of <see cref="BundleStage"/>.</summary>
/// <param name="Rid">linux-x64 or linux-arm64.</param>
/// <param name="Providers">cpu and/or cuda (cuda: linux-x64 only, ONNX Runtime's CUDA build).</param>
/// <param name="Models">An .onnx file or a folder of them (int8 siblings come along).</param>
/// <param name="OutputDirectory">The bundle folder (replaced when it holds an earlier bundle; refused when it holds anything else).</param>
/// <param name="Data">Test data for every model's accuracy (embedded or a data folder); null: the data each model's metadata names.</param>
/// <param name="TestImages">Test images bundled per data set (null: all).</param>
public sealed record BundleOptions(string Rid, IReadOnlyList<string> Providers, string Models, string OutputDirectory, string? Data = null, int? TestImages = null);

/// <summary>What <see cref="BundleStage"/> wrote.</summary>
/// <param name="Directory">The bundle.</param>
/// <param name="Profiles">The profiles its evaluate.sh measures by default.</param>
/// <param name="Models">The model files bundled.</param>
/// <param name="Notes">Models without test data, and why.</param>
/// <param name="BinBytes">The self-contained evaluator (runtime, ONNX Runtime).</param>
/// <param name="ModelBytes">The models.</param>
/// <param name="DataBytes">The test data.</param>
public sealed record BundleResult(string Directory, IReadOnlyList<string> Profiles, IReadOnlyList<string> Models, IReadOnlyList<string> Notes,
    long BinBytes, long ModelBytes, long DataBytes)
{
    /// <summary>Everything.</summary>
    public long TotalBytes => BinBytes + ModelBytes + DataBytes;
}

/// <summary>
/// <c>spikernel bundle</c>: a folder that measures models on the machine they ship to — spikernel-evaluate published
/// self-contained for the RID (no .NET SDK, no TorchSharp, no libtorch there), the models, their test data and
/// evaluate.sh. Its CSV rows are evaluate's, so rank and merge take them. Built in a staging folder and moved into
/// place, so a failed build leaves no half bundle.
/// </summary>
public sealed class BundleStage : IStage<BundleOptions, BundleResult>
{
    /// <summary>The marker file of a bundle folder.</summary>
    public const string ManifestFile = "bundle.json";

    /// <inheritdoc />
    public string Name => "bundle";

    /// <inheritdoc />
    public bool IsComplete(BundleOptions options) => false; // the evaluator is rebuilt each time

    /// <inheritdoc />
    public BundleResult Run(BundleOptions options, IProgressObserver progress, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(progress);
        (bool cuda, string[] profiles) = CheckProviders(options);
        IReadOnlyList<ModelGroup> groups = ModelGroup.Discover(options.Models);
        // the bundle's evaluator scores SpiKernel exports on the data it carries: ONNX test folders (model.onnx beside
        // test_data_set_*) are evaluate's, and their model.onnx files would collide in models/
        if (groups.FirstOrDefault(g => g.TestFolder is not null) is { } test)
            throw new SettingsException($"--models {options.Models}: {test.TestFolder} is an ONNX test folder; a bundle takes .onnx files or a folder of them (spikernel evaluate measures test folders)");
        string[] files = groups.SelectMany(g => new[] { g.FloatPath, g.Int8Path }).OfType<string>().ToArray();
        // "board-bundle/" (a shell's completion) would stage inside the folder it then replaces
        string out_ = Path.TrimEndingDirectorySeparator(Path.GetFullPath(options.OutputDirectory));
        if (File.Exists(out_)) throw new SettingsException($"--out {out_} is a file; give an empty or new folder");
        if (Directory.Exists(out_) && Directory.EnumerateFileSystemEntries(out_).Any() && !File.Exists(Path.Combine(out_, ManifestFile)))
            throw new SettingsException($"{out_} is not empty and not a bundle; give an empty or new folder");
        string project = SourceProject();
        // the models and the test data are read before the minutes of publishing: a file that is no model, or a --data
        // that cannot be read, is refused before anything is built
        (List<(string Key, ImageDataset Test)> data, List<string> notes) = ReadData(options, files);
        string staging = out_ + ".partial";
        if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        OutputFolder.EnsureWritable(staging);
        try
        {
            progress.Note($"publishing spikernel-evaluate for {options.Rid} ({(cuda ? "ONNX Runtime with CUDA" : "ONNX Runtime CPU")}), self-contained");
            Publish(project, options.Rid, cuda ? "gpu" : "cpu", Path.Combine(staging, "bin"), progress, cancel);
            cancel.ThrowIfCancellationRequested();
            Directory.CreateDirectory(Path.Combine(staging, "models"));
            foreach (string f in files) File.Copy(f, Path.Combine(staging, "models", Path.GetFileName(f)));
            WriteData(data, Path.Combine(staging, "data"), progress);
            WriteScripts(staging, options, profiles, files);
            var result = new BundleResult(out_, profiles, files.Select(Path.GetFileName).ToArray()!, notes, Bytes(Path.Combine(staging, "bin")),
                Bytes(Path.Combine(staging, "models")), Bytes(Path.Combine(staging, "data")));
            AtomicFile.WriteAllText(Path.Combine(staging, ManifestFile), JsonSerializer.Serialize(new
            {
                tool_version = ToolInfo.Version, rid = options.Rid, providers = options.Providers, profiles, models = result.Models,
                bin_bytes = result.BinBytes, model_bytes = result.ModelBytes, data_bytes = result.DataBytes, total_bytes = result.TotalBytes,
            }, JsonFiles.Options) + Environment.NewLine);
            // a bundle built again keeps the rows an earlier copy measured (evaluate.sh run in place writes results/)
            string results = Path.Combine(out_, "results");
            if (Directory.Exists(results)) Directory.Move(results, Path.Combine(staging, "results"));
            if (Directory.Exists(out_)) Directory.Delete(out_, recursive: true);
            Directory.Move(staging, out_);
            return result;
        }
        finally
        {
            // a failure after the earlier copy's rows moved into the new bundle gives them back before the rest goes
            string moved = Path.Combine(staging, "results"), home = Path.Combine(out_, "results");
            if (Directory.Exists(moved) && !Directory.Exists(home))
            {
                Directory.CreateDirectory(out_);
                Directory.Move(moved, home);
            }
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        }
    }

    private static (bool Cuda, string[] Profiles) CheckProviders(BundleOptions o)
    {
        if (o.Rid is not ("linux-x64" or "linux-arm64")) throw new SettingsException($"--rid '{o.Rid}': expected linux-x64 or linux-arm64");
        if (o.Providers.Count == 0) throw new SettingsException("--providers names no provider; expected cpu and/or cuda");
        if (o.Providers.FirstOrDefault(p => p is not ("cpu" or "cuda")) is { } bad) throw new SettingsException($"--providers: unknown provider '{bad}'; a bundle takes cpu and/or cuda");
        bool cuda = o.Providers.Contains("cuda");
        if (cuda && o.Rid != "linux-x64") throw new SettingsException($"--providers cuda: ONNX Runtime's CUDA build on NuGet is linux-x64 only, not {o.Rid}");
        if (o.TestImages is < 1) throw new SettingsException($"--test-images must be at least 1 (got {o.TestImages})");
        return (cuda, [.. o.Providers.Contains("cpu") ? new[] { "cpu", "edge" } : [], .. cuda ? new[] { "cuda" } : []]);
    }

    // the evaluator's project, found from this installation or the working folder upwards (the bundle builds it from source)
    private static string SourceProject()
    {
        string relative = Path.Combine("evaluators", "Standalone", "SpiKernel.Evaluate.csproj");
        foreach (string start in new[] { Environment.GetEnvironmentVariable("SPIKERNEL_SOURCE"), AppContext.BaseDirectory, Environment.CurrentDirectory }.OfType<string>())
            for (DirectoryInfo? d = new(start); d is not null; d = d.Parent)
                if (File.Exists(Path.Combine(d.FullName, relative))) return Path.Combine(d.FullName, relative);
        throw new SettingsException($"bundle builds spikernel-evaluate from the source tree ({relative}) with the .NET SDK: run it inside a checkout, or set SPIKERNEL_SOURCE to one");
    }

    // the test images of each data set the models name (or --data for all), under their datasets.json keys
    // (BundleDataKeys); a model's own data that is not here is a note, a --data that cannot be read is refused
    internal static (List<(string Key, ImageDataset Test)> Data, List<string> Notes) ReadData(BundleOptions o, string[] files)
    {
        var sets = new List<(string Key, ImageDataset Test)>();
        var notes = new List<string>();
        var models = files.Select(f => ModelInfo.Load(f).Snn)
            .Select(snn => (Source: string.IsNullOrEmpty(snn?.Dataset) ? DatasetCatalog.Embedded : snn.Dataset, Classes: snn?.ClassNames?.Count ?? 0));
        // --data serves every model as "" (and as "|CLASSES" where a model's class count picks other labels of it);
        // else each model's own source, as "SOURCE|CLASSES" where its labels depend on it (a 20-class network on CIFAR-100: the coarse labels)
        // a folder that is no data set is the loop's to note (it was a failure after the minutes of publishing)
        static DatasetKind? KindFor(string source, int classes)
        {
            try
            {
                return DatasetCatalog.KindFor(source, classes);
            }
            catch (IOException)
            {
                return null;
            }
        }
        IEnumerable<(string Key, string Source, DatasetKind? Kind)> wanted = o.Data is { } data
            ? [(BundleDataKeys.Any, data, null), .. models.Select(m => (m.Classes, Kind: KindFor(data, m.Classes))).Where(m => m.Kind is not null)
                .Select(m => (BundleDataKeys.WithClasses(null, m.Classes), data, m.Kind)).Distinct()]
            : models.Select(m => (m.Source, m.Classes, Kind: KindFor(m.Source, m.Classes)))
                .Select(m => (m.Kind is null ? m.Source : BundleDataKeys.WithClasses(m.Source, m.Classes), m.Source, m.Kind))
                .Distinct();
        foreach ((string key, string source, DatasetKind? kind) in wanted)
        {
            try
            {
                ImageDataset test = DatasetCatalog.LoadTest(source, kind);
                if (o.TestImages is { } n && n < test.Count) test = test.Subset(Enumerable.Range(0, n).ToArray(), test.Name);
                sets.Add((key, test));
            }
            catch (Exception ex) when (ex is InvalidDataException or IOException)
            {
                if (o.Data is not null && key == BundleDataKeys.Any)
                    throw new InvalidDataException(ex is DataFormatException { Path: var at } bad && at == o.Data ? $"--data {bad.Message}" : $"--data {o.Data}: {ex.Message}", ex);
                notes.Add($"no test data for '{source}' (models naming it get no accuracy there): {ex.Message}");
            }
        }
        return (sets, notes);
    }

    // one folder of test images per data set, and datasets.json mapping each key to its folder
    internal static void WriteData(List<(string Key, ImageDataset Test)> data, string folder, IProgressObserver progress)
    {
        var map = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach ((string key, ImageDataset test) in data)
        {
            string name = string.Create(CultureInfo.InvariantCulture, $"set{map.Count}");
            LabelledImagesFile.Save(new LabelledImages(test.Name, test.Pixels, test.Labels, test.Channels, test.Height, test.Width), Path.Combine(folder, name));
            map[key] = name;
            progress.Note(string.Create(CultureInfo.InvariantCulture, $"test data {test.Name}: {test.Count} images"));
        }
        Directory.CreateDirectory(folder);
        AtomicFile.WriteAllText(Path.Combine(folder, "datasets.json"), JsonSerializer.Serialize(map, JsonFiles.Options) + Environment.NewLine);
    }

    private static void WriteScripts(string staging, BundleOptions o, string[] profiles, string[] files)
    {
        string script = $$"""
            #!/bin/sh
            # spikernel {{ToolInfo.Version}} evaluator bundle ({{o.Rid}}; {{string.Join(", ", o.Providers)}}): measures the bundled models here.
            # Extra options go to spikernel-evaluate (--batch 1,32, --repeats 100, --out FILE, --help). Rows go to the bundle's results/HOST.csv:
            # copy it (and its .layers.csv) into RUN/evaluations/ and run `spikernel merge RUN`, or pass it to `spikernel rank`.
            set -eu
            here=$(CDPATH= cd -- "$(dirname -- "$0")" >/dev/null && pwd)
            # the bundle's providers and data unless the options name others (an option given twice is refused)
            providers=1 data=1
            for a in "$@"; do
              case "$a" in
                --providers|--providers=*) providers=0 ;;
                --data|--data=*) data=0 ;;
              esac
            done
            if [ $data = 1 ]; then set -- --data "$here/data" "$@"; fi
            if [ $providers = 1 ]; then set -- --providers {{string.Join(',', profiles)}} "$@"; fi
            exec "$here/bin/spikernel-evaluate" "$here/models" "$@"

            """;
        string path = Path.Combine(staging, "evaluate.sh");
        AtomicFile.WriteAllText(path, script.Replace("\r", "", StringComparison.Ordinal));
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, (UnixFileMode)0b111_101_101);
        AtomicFile.WriteAllText(Path.Combine(staging, "README.txt"),
            $"spikernel-evaluate bundle for {o.Rid} ({string.Join(", ", o.Providers)}): {files.Length} models in models/, test data in data/.\n" +
            "Run ./evaluate.sh on the target machine (no .NET or Python needed). docs/scale-out.md#portable-evaluator-spikernel-bundle explains the rows.\n");
    }

    /// <summary>
    /// The build folder of a publish for <paramref name="rid"/> with ONNX Runtime <paramref name="ort"/>, beside the
    /// checkout's own build outputs and apart from them: a publish into the projects' bin/ and obj/ (Release, the RID,
    /// no symbols) would rebuild the library outputs a <c>dotnet run -c Release</c> or a test build beside it uses,
    /// without the .pdb files that build then copies (MSB3030).
    /// </summary>
    internal static string BuildFolder(string project, string rid, string ort) =>
        Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(Path.GetDirectoryName(Path.GetFullPath(project))))!, "obj", "bundle", $"{rid}-{ort}");

    // one publish at a time per build folder: two would write the same intermediate files
    private static void Publish(string project, string rid, string ort, string output, IProgressObserver progress, CancellationToken cancel)
    {
        string build = BuildFolder(project, rid, ort);
        Directory.CreateDirectory(build);
        using UnitLock held = UnitLock.Wait(build + ".lock", () => progress.Note($"waiting for another bundle's build in {build}"), cancel);
        (int code, string text) = Dotnet(["publish", project, "-c", "Release", "-r", rid, "--self-contained", "-p:DebugType=none",
            $"-p:OrtNative={ort}", "--artifacts-path", MsBuildEscape(build), "-o", MsBuildEscape(output)]);
        if (code != 0) throw new IOException($"dotnet publish of {project} failed ({code}): {Tail(text)}");
    }

    // the SDK that runs this (dotnet run / dotnet test set DOTNET_HOST_PATH), else the one on PATH
    private static (int Code, string Output) Dotnet(IReadOnlyList<string> args)
    {
        var psi = new System.Diagnostics.ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (string a in args) psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        try
        {
            using System.Diagnostics.Process p = System.Diagnostics.Process.Start(psi)!;
            Task<string> error = p.StandardError.ReadToEndAsync();
            string output = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            return (p.ExitCode, output + error.Result);
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new SettingsException($"bundle needs the .NET SDK (dotnet) to publish spikernel-evaluate: {ex.Message}");
        }
    }

    // dotnet publish hands -o to MSBuild as a property, where ',' and ';' separate values
    private static string MsBuildEscape(string path) =>
        path.Replace("%", "%25", StringComparison.Ordinal).Replace(";", "%3B", StringComparison.Ordinal).Replace(",", "%2C", StringComparison.Ordinal);

    private static long Bytes(string folder) =>
        Directory.Exists(folder) ? Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length) : 0;

    private static string Tail(string text) => string.Join(" | ", text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).TakeLast(5));
}
