using System.CommandLine;
using SpiKernel.Exporters;
using SpiKernel.Pipeline.Data;
using SpiKernel.Pipeline.Training;
using Spectre.Console;
using static TorchSharp.torch;

namespace SpiKernel.Pipeline.Cli;

/// <summary><c>spikernel export</c>: a trained checkpoint as a standard ONNX file, optionally verified.</summary>
public static class ExportCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var checkpoint = new Argument<string>("checkpoint") { Description = "A run folder (from spikernel train) or its checkpoint.dat." };
        var output = new Option<string>("--out") { Description = "The .onnx file to write.", Required = true };
        var layout = new Option<string>("--layout") { Description = "batched (layers outside recurrences run once over all timesteps) or step (one copy per timestep).", DefaultValueFactory = _ => "batched" };
        var quantize = new Option<string?>("--quantize") { Description = "int8: convolution and linear weights as int8 per output channel (about 4× smaller)." };
        var verify = new Option<bool>("--verify") { Description = "Run the file in ONNX Runtime and the checkpoint in TorchSharp on real test images and compare." };
        var images = new Option<int>("--verify-images") { Description = "Test images used by --verify.", DefaultValueFactory = _ => 256 };
        var data = new Option<string?>("--data") { Description = "Data for --verify (default: what the run was trained on)." };

        var cmd = new Command("export", "Export a trained checkpoint as an ONNX graph (IR 8, opset 17) with its timesteps unrolled.");
        cmd.Arguments.Add(checkpoint);
        foreach (Option o in new Option[] { output, layout, quantize, verify, images, data })
            cmd.Options.Add(o);

        cmd.SetAction(r => CommandRunner.Run(cancel =>
        {
            TimestepLayout lay = r.GetValue(layout)?.ToLowerInvariant() switch
            {
                "batched" => TimestepLayout.Batched,
                "step" => TimestepLayout.Step,
                var other => throw new UsageException($"--layout must be batched or step (got '{other}')."),
            };
            WeightPrecision precision = r.GetValue(quantize)?.ToLowerInvariant() switch
            {
                null => WeightPrecision.Float32,
                "int8" => WeightPrecision.Int8,
                var other => throw new UsageException($"--quantize must be int8 (got '{other}')."),
            };
            int verifyImages = r.GetValue(images);
            if (verifyImages < 1) throw new UsageException("--verify-images must be at least 1.");
            string outPath = r.GetValue(output)!;
            CheckWritableFile(outPath);

            using RunCheckpoint run = RunCheckpoint.Load(r.GetValue(checkpoint)!);
            TrainState s = run.State;
            var facts = new ModelFacts(s.Mean, s.Std, s.ClassNames, s.DataSource, s.TestAccuracy);
            SnnOnnxExporter.Save(SnnOnnxExporter.Export(run.Network, new ExportOptions(lay, precision), facts), outPath);
            IAnsiConsole console = CommandRunner.Out;
            console.MarkupLine($"wrote [bold]{Markup.Escape(outPath)}[/] ({new FileInfo(outPath).Length:N0} bytes, layout {lay.ToString().ToLowerInvariant()}, {precision.ToString().ToLowerInvariant()} weights)");
            if (!r.GetValue(verify)) return ExitCodes.Ok;

            ImageDataset test = run.TestData(r.GetValue(data));
            int n = Math.Min(verifyImages, test.Count);
            int[] idx = Enumerable.Range(0, n).ToArray();
            (Tensor x, Tensor y) = BatchLoader.Load(test, idx);
            using (x)
            using (y)
            {
                long[] labels = y.data<long>().ToArray();
                VerificationResult v = ExportVerifier.Verify(run.Network, outPath, x, labels, fused: true);
                VerificationResult u = ExportVerifier.Verify(run.Network, outPath, x, labels, fused: false);
                var table = new Table().AddColumns("ONNX Runtime vs TorchSharp", "deployed form (BN as exported) — the check", "training form (Conv → BN)");
                table.AddRow("images", $"{v.Samples} test images of {Markup.Escape(test.Name)}", "same");
                table.AddRow("max |Δlogits|", $"{v.MaxAbsLogitDiff:E2} (limit {VerificationResult.LogitTolerance:E0})", $"{u.MaxAbsLogitDiff:E2}");
                table.AddRow("differing spike counts", $"{v.DifferingSpikeCounts} of {v.TotalSpikeCounts} (in {v.ImagesWithSpikeDifferences} images)",
                    $"{u.DifferingSpikeCounts} of {u.TotalSpikeCounts} (in {u.ImagesWithSpikeDifferences} images)");
                table.AddRow("max |Δlogits|, images with equal spikes", $"{v.MaxAbsLogitDiffSameSpikes:E2}", $"{u.MaxAbsLogitDiffSameSpikes:E2}");
                table.AddRow("accuracy ONNX Runtime / TorchSharp", $"{(double)v.OnnxCorrect!.Value / n:P2} / {(double)v.TorchCorrect!.Value / n:P2}",
                    $"{(double)u.OnnxCorrect!.Value / n:P2} / {(double)u.TorchCorrect!.Value / n:P2}");
                console.Write(table);
                if (precision == WeightPrecision.Int8)
                {
                    console.MarkupLine($"int8 weights change accuracy by {(v.OnnxCorrect.Value - v.TorchCorrect.Value) * 100.0 / n:+0.00;-0.00;0.00} points on these images.");
                    return ExitCodes.Ok;
                }
                if (!v.Passed)
                    return CommandRunner.Fail($"verification failed: max |Δlogits| {v.MaxAbsLogitDiff:E2}, {v.DifferingSpikeCounts} differing spike counts", ExitCodes.VerificationFailed);
                console.MarkupLine("[green]verified[/]: ONNX Runtime and TorchSharp agree.");
            }
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    /// <summary>Fails before any work when the output file's folder cannot be written.</summary>
    internal static void CheckWritableFile(string path)
    {
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is null || !Directory.Exists(dir))
            throw new IOException($"{path}: the folder {dir} does not exist");
        TrainCommand.CheckWritable(dir);
        if (Directory.Exists(path)) throw new IOException($"{path}: is a folder, not a file name");
    }
}
