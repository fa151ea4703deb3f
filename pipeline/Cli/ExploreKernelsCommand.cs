using SpiKernel.Core.Csv;
using System.CommandLine;
using System.Globalization;
using CsvHelper;
using SpiKernel.Models.Architecture;
using SpiKernel.Models.Search;
using SpiKernel.Pipeline.Data;
using SpiKernel.Pipeline.Training;
using SpiKernel.Evaluators.Results;
using Spectre.Console;

namespace SpiKernel.Pipeline.Cli;

/// <summary>
/// <c>spikernel explore-kernels</c>: SpiKernel steps 1 and 2 — the same cell with every convolution at one size k,
/// trained briefly per k; a CSV, two plots, and kernel sets proposed from the results in a file the search reads.
/// </summary>
public static class ExploreKernelsCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var archOptions = new ArchitectureOptions();
        var sizes = new Option<string>("--sizes") { Description = "Kernel sizes to study.", DefaultValueFactory = _ => "1,3,5,7" };
        var epochs = new Option<int>("--epochs") { Description = "Training epochs per size.", DefaultValueFactory = _ => 2 };
        var data = new Option<string?>("--data") { Description = "As for train (default: the full Fashion-MNIST when installed, else embedded)." };
        var seed = new Option<int>("--seed") { Description = "Seed (the same for every size).", DefaultValueFactory = _ => 1 };
        var outDir = new Option<string>("--out") { Description = "Output folder.", DefaultValueFactory = _ => "runs/kernels" };
        var cmd = new Command("explore-kernels",
            "Kernel-size study: train the same cell with every convolution at size k, for each k; CSV, plots and proposed kernel sets.");
        archOptions.AddTo(cmd);
        foreach (Option o in new Option[] { sizes, epochs, data, seed, outDir })
            cmd.Options.Add(o);

        cmd.SetAction(r => CommandRunner.Run(cancel =>
        {
            SnnArchitecture template = archOptions.Resolve(r, out bool explicitShape);
            KernelSet study = KernelSet.Parse(r.GetValue(sizes)!);
            var options = new TrainOptions(Epochs: r.GetValue(epochs), Seed: r.GetValue(seed));
            options.Validate();
            string output = r.GetValue(outDir)!;
            TrainCommand.CheckWritable(output);
            DataSplit split = DatasetCatalog.Load(r.GetValue(data));
            template = ArchitectureOptions.FitToData(template, explicitShape, split.Train);

            var points = new List<KernelStudyPoint>();
            IAnsiConsole console = CommandRunner.Out;
            foreach (int k in study.Sizes)
            {
                (CellTopology cell, KernelSet single) = KernelStudy.SingleSize(template.Cell, template.Kernels, k);
                SnnArchitecture arch = (template with { Cell = cell, Kernels = single }).Validated();
                console.MarkupLine($"[bold]k = {k}[/]: {Markup.Escape(arch.Cell.ToString())} kernels={{{k}}}, {arch.ParameterCount():N0} parameters");
                TrainResult result = ProgressObserver.Show(obs => Trainer.Run(arch, split, options, Path.Combine(output, $"k{k}"), observer: obs, cancel: cancel));
                points.Add(new KernelStudyPoint(arch.CandidateId, k, arch.ParameterCount(), arch.MacCount(), result.TestAccuracy, result.Epochs.Sum(e => e.Seconds)));
            }

            WriteCsv(Path.Combine(output, "kernel-study.csv"), points);
            Plots.KernelStudy(points, output);
            IReadOnlyList<ProposedSet> proposed = KernelStudy.Propose(points);
            File.WriteAllText(Path.Combine(output, "proposed-sets.txt"), KernelStudy.Format(proposed));

            var table = new Table().AddColumns("k", "parameters", "MACs/image", "test accuracy", "training s");
            foreach (KernelStudyPoint p in points)
                table.AddRow($"{p.Kernel}", p.Parameters.ToString("N0", CultureInfo.InvariantCulture), p.Macs.ToString("N0", CultureInfo.InvariantCulture), $"{p.Accuracy:P2}", $"{p.TrainSeconds:F0}");
            console.Write(table);
            var sets = new Table().AddColumns("proposed set", "sizes", "why");
            foreach (ProposedSet s in proposed) sets.AddRow(s.Name, s.Set.ToString(), Markup.Escape(s.Why));
            console.Write(sets);
            console.MarkupLine($"wrote kernel-study.csv, accuracy-vs-kernel.png, accuracy-vs-parameters.png and proposed-sets.txt to {Markup.Escape(output)} " +
                               $"(search them with: spikernel search --kernels @{Markup.Escape(Path.Combine(output, "proposed-sets.txt"))})");
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static void WriteCsv(string path, IEnumerable<KernelStudyPoint> points)
    {
        using var log = new CsvLog<KernelStudyPoint>(path, append: false);
        foreach (KernelStudyPoint p in points) log.Append(p);
    }
}
