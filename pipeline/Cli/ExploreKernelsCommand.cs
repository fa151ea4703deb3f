using System.CommandLine;
using System.Globalization;
using SpiKernel.Models.Architecture;
using SpiKernel.Models.Search;
using SpiKernel.Pipeline.Stages;
using SpiKernel.Pipeline.Training;
using Spectre.Console;

namespace SpiKernel.Cli;

/// <summary><c>spikernel explore-kernels</c>: parses, calls <see cref="KernelStudyStage"/>, prints the study and the proposed sets.</summary>
internal static class ExploreKernelsCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var archOptions = new ArchitectureOptions(kernelsOption: false); // --sizes gives every size its turn
        var sizes = new Option<string>("--sizes") { Description = "Kernel sizes to study.", DefaultValueFactory = _ => "1,3,5,7" };
        var epochs = new Option<int>("--epochs") { Description = "Training epochs per size.", DefaultValueFactory = _ => 2 };
        var data = new Option<string?>("--data") { Description = "As for train (default: the full Fashion-MNIST when installed, else embedded)." };
        var seed = new Option<int>("--seed") { Description = "Seed (the same for every size).", DefaultValueFactory = _ => 1 };
        var outDir = new Option<string>("--out") { Description = "Output folder.", DefaultValueFactory = _ => "runs/kernels" };
        var budget = new Option<string?>("--budget-params") { Description = "The search's parameter budget (10M, 500K): a proposed set with sizes whose single-size network exceeds it says so." };
        var trainImages = new Option<int?>("--train-images") { Description = "Train each size on at most this many training images (class-balanced, seeded); default: all." };
        var valImages = new Option<int?>("--val-images") { Description = "With --train-images: validate each size on up to this many images, the validation split topped up with training images no size trains on (the proposals are made on this accuracy)." };
        var cmd = new Command("explore-kernels",
            "Kernel-size study: train the same cell with every convolution at size k, for each k; CSV, plots and proposed kernel sets.");
        archOptions.AddTo(cmd);
        foreach (Option o in new Option[] { sizes, epochs, data, seed, outDir, budget, trainImages, valImages })
            cmd.Options.Add(o);

        cmd.SetAction(r => CommandRunner.Run(cancel =>
        {
            Parse.OnlyWhere(r, valImages, r.GetValue(trainImages) is not null, "with --train-images (the images it leaves out are the ones added)");
            SnnArchitecture template = archOptions.Resolve(r, out bool explicitShape);
            var options = new KernelStudyOptions(template, KernelSet.Parse(r.GetValue(sizes)!), new TrainOptions(Epochs: r.GetValue(epochs), Seed: r.GetValue(seed)),
                r.GetValue(outDir)!, r.GetValue(data), explicitShape,
                TrainImages: r.GetValue(trainImages), BudgetParameters: r.GetValue(budget) is { } b ? Parse.Count("--budget-params", b) : null,
                ValidationImages: r.GetValue(valImages));
            KernelStudyResult result = ConsoleProgress.Run(p => new KernelStudyStage().Run(options, p, cancel));

            IAnsiConsole console = CommandRunner.Out;
            var table = new Table().AddColumns("k", "parameters", "MACs/image", "validation accuracy", "test accuracy", "training s", "candidate id");
            foreach (KernelStudyPoint p in result.Points)
                table.AddRow($"{p.Kernel}", p.Parameters.ToString("N0", CultureInfo.InvariantCulture), p.Macs.ToString("N0", CultureInfo.InvariantCulture),
                    p.ValAccuracy?.ToString("P2", CultureInfo.InvariantCulture) ?? "—", p.Status == KernelStudyStatus.Diverged ? "diverged" : p.Accuracy.ToString("P2", CultureInfo.InvariantCulture),
                    p.TrainSeconds.ToString("F0", CultureInfo.InvariantCulture), p.CandidateId);
            console.Write(table);
            var sets = new Table().AddColumns("proposed set", "sizes", "why");
            foreach (ProposedSet s in result.Proposed) sets.AddRow(s.Name, s.Set.ToString(), Markup.Escape(s.Why));
            console.Write(sets);
            console.MarkupLine($"wrote {KernelStudyStage.CsvFile}, accuracy-vs-kernel.png, accuracy-vs-parameters.png and {KernelStudyStage.ProposedSetsFile} to {Markup.Escape(options.OutputDirectory)} " +
                               $"(search them with: spikernel search --kernels @{Markup.Escape(result.ProposedSetsPath)})");
            return ExitCodes.Ok;
        }));
        return cmd;
    }
}
