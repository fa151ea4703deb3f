using SpiKernel.Pipeline;
using System.CommandLine;
using System.Globalization;
using SpiKernel.Exporters;
using SpiKernel.Pipeline.Stages;
using Spectre.Console;

namespace SpiKernel.Cli;

/// <summary><c>spikernel export</c>: parses, calls <see cref="ExportStage"/>, prints the file and the verification table.</summary>
internal static class ExportCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var checkpoint = new Argument<string>("checkpoint") { Description = "A run folder (from spikernel train) or its checkpoint.dat." };
        var output = new Option<string>("--out") { Description = "The .onnx file to write.", Required = true };
        var layout = new Option<string>("--layout") { Description = "batched (layers outside recurrences run once over all timesteps) or step (one copy per timestep).", DefaultValueFactory = _ => "batched" };
        var quantize = new Option<string?>("--quantize") { Description = "int8: every convolution and linear layer that reads spikes as an integer operation (uint8 spikes, int8 weights; faster, about 3.5× smaller)." };
        var verify = new Option<bool>("--verify") { Description = "Run the file in ONNX Runtime and the checkpoint in TorchSharp on real test images and compare." };
        var images = new Option<int>("--verify-images") { Description = "Test images used by --verify.", DefaultValueFactory = _ => 256 };
        var data = new Option<string?>("--data") { Description = "Data for --verify (default: what the run was trained on)." };

        var cmd = new Command("export", "Export a trained checkpoint as an ONNX graph (IR 8, opset 17) with its timesteps unrolled.");
        cmd.Arguments.Add(checkpoint);
        foreach (Option o in new Option[] { output, layout, quantize, verify, images, data })
            cmd.Options.Add(o);

        cmd.SetAction(r => CommandRunner.Run(cancel =>
        {
            Parse.OnlyWhere(r, images, r.GetValue(verify), "with --verify");
            Parse.OnlyWhere(r, data, r.GetValue(verify), "with --verify");
            TimestepLayout lay = SettingWords.Parse("--layout", r.GetValue(layout), SettingWords.Layouts);
            WeightPrecision precision = r.GetValue(quantize) is { } q ? SettingWords.Parse("--quantize", q, [("int8", WeightPrecision.Int8)]) : WeightPrecision.Float32;
            var options = new ExportStageOptions(r.GetValue(checkpoint)!, r.GetValue(output)!, new ExportOptions(lay, precision),
                r.GetValue(verify), r.GetValue(images), r.GetValue(data));
            ExportStageResult result;
            try
            {
                result = ConsoleProgress.Run(p => new ExportStage().Run(options, p, cancel));
            }
            catch (SpiKernel.Core.VerificationException)
            {
                CommandRunner.Out.MarkupLine($"wrote [bold]{Markup.Escape(options.OutputPath + ExportStage.UnverifiedSuffix)}[/] (kept for inspection; {Markup.Escape(options.OutputPath)} not written)");
                throw;
            }
            IAnsiConsole console = CommandRunner.Out;
            console.MarkupLine($"wrote [bold]{Markup.Escape(result.Path)}[/] ({result.Bytes.ToString("N0", CultureInfo.InvariantCulture)} bytes, layout {lay.ToString().ToLowerInvariant()}, " +
                               $"{precision.ToString().ToLowerInvariant()} weights, candidate {result.CandidateId})");
            if (result.Verification is not { } check) return ExitCodes.Ok;

            console.Write(VerificationTable(check));
            if (ExportStage.RoundingNote(check.Deployed) is { } note) console.MarkupLine(Markup.Escape(note));
            console.MarkupLine(precision == WeightPrecision.Int8
                ? "[green]verified[/]: ONNX Runtime and TorchSharp's integer form agree."
                : "[green]verified[/]: ONNX Runtime and TorchSharp agree.");
            if (precision == WeightPrecision.Int8 && check.AccuracyChangePoints is { } change)
                console.MarkupLine(string.Create(CultureInfo.InvariantCulture,
                    $"int8 changes accuracy by {change:+0.00;-0.00;0.00} points against the float32 network on these images."));
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Table VerificationTable(ExportVerification check)
    {
        static string E(double x) => x.ToString("E2", CultureInfo.InvariantCulture);
        static string P(int correct, int n) => ((double)correct / n).ToString("P2", CultureInfo.InvariantCulture);
        VerificationResult v = check.Deployed, u = check.Training;
        var table = new Table().AddColumns("ONNX Runtime vs TorchSharp", "deployed form (BN as exported; int8: the integer form) — the check", "training form (float Conv → BN)");
        table.AddRow("images", $"{v.Samples} test images of {Markup.Escape(check.TestData)}", "same");
        table.AddRow("max |Δlogits|", $"{E(v.MaxAbsLogitDiff)} (limit {VerificationResult.LogitTolerance.ToString("E0", CultureInfo.InvariantCulture)})", E(u.MaxAbsLogitDiff));
        table.AddRow("differing spike counts", $"{v.DifferingSpikeCounts} of {v.TotalSpikeCounts} (in {v.ImagesWithSpikeDifferences} images)",
            $"{u.DifferingSpikeCounts} of {u.TotalSpikeCounts} (in {u.ImagesWithSpikeDifferences} images)");
        table.AddRow("max |Δlogits|, images with equal spikes", E(v.MaxAbsLogitDiffSameSpikes), E(u.MaxAbsLogitDiffSameSpikes));
        table.AddRow("accuracy ONNX Runtime / TorchSharp", $"{P(v.OnnxCorrect!.Value, v.Samples)} / {P(v.TorchCorrect!.Value, v.Samples)}",
            $"{P(u.OnnxCorrect!.Value, u.Samples)} / {P(u.TorchCorrect!.Value, u.Samples)}");
        return table;
    }
}
