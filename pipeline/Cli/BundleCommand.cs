using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using SpiKernel.Pipeline.ScaleOut;

namespace SpiKernel.Cli;

/// <summary><c>spikernel bundle</c>: parses, calls <see cref="BundleStage"/>, prints what went where and its size.</summary>
internal static class BundleCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var rid = new Option<string>("--rid") { Description = "Target: linux-x64 or linux-arm64.", DefaultValueFactory = _ => "linux-x64" };
        var providers = new Option<string>("--providers") { Description = "cpu and/or cuda (cuda: linux-x64 only).", DefaultValueFactory = _ => "cpu" };
        var models = new Option<string>("--models") { Description = "An .onnx file or a folder of them (e.g. RUN/models).", Required = true };
        var output = new Option<string>("--out") { Description = "The bundle folder (new, empty, or an earlier bundle).", Required = true };
        var data = new Option<string?>("--data") { Description = "Test data for every model (embedded or a data folder); default: what each model's metadata names." };
        var images = new Option<int?>("--test-images") { Description = "Test images bundled per data set (default: all)." };
        var cmd = new Command("bundle", "Write a self-contained folder that evaluates models on another machine (no .NET SDK, no TorchSharp there): spikernel-evaluate for the RID, the models, their test data, evaluate.sh. Run it from this source checkout: it publishes spikernel-evaluate with the .NET SDK.");
        foreach (Option o in new Option[] { rid, providers, models, output, data, images }) cmd.Options.Add(o);
        cmd.SetAction(r => CommandRunner.Run(cancel =>
        {
            var options = new BundleOptions(r.GetValue(rid)!, r.GetValue(providers)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                r.GetValue(models)!, r.GetValue(output)!, r.GetValue(data), r.GetValue(images));
            BundleResult b = ConsoleProgress.Run(p => new BundleStage().Run(options, p, cancel));
            static string MiB(long bytes) => (bytes / 1048576.0).ToString("F1", CultureInfo.InvariantCulture) + " MiB";
            foreach (string note in b.Notes) CommandRunner.Out.MarkupLine(Markup.Escape(note));
            CommandRunner.Out.MarkupLine(Markup.Escape($"{b.Directory}: {b.Models.Count} models, profiles {string.Join(",", b.Profiles)}; " +
                $"evaluator {MiB(b.BinBytes)}, models {MiB(b.ModelBytes)}, data {MiB(b.DataBytes)}, total {MiB(b.TotalBytes)}. Run {Path.Combine(b.Directory, "evaluate.sh")} there."));
            return ExitCodes.Ok;
        }));
        return cmd;
    }
}
