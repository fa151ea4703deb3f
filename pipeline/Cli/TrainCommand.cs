using System.CommandLine;
using System.Globalization;
using SpiKernel.Models.Architecture;
using SpiKernel.Pipeline.Data;
using SpiKernel.Pipeline.Training;
using Spectre.Console;

namespace SpiKernel.Pipeline.Cli;

/// <summary><c>spikernel train</c>: trains one network and reports its test accuracy.</summary>
public static class TrainCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var archOptions = new ArchitectureOptions();
        var data = new Option<string?>("--data") { Description = "embedded (the Fashion-MNIST subset in this program), or a data folder. Default: the full Fashion-MNIST at /usr/share/datasets/fashion-mnist when installed, else embedded." };
        var dataset = new Option<string?>("--dataset") { Description = "Force the data folder's kind: fashion-mnist, cifar10, cifar100, cifar100-coarse, tinyimagenet (detected from its files otherwise)." };
        var epochs = new Option<int>("--epochs") { Description = "Epochs.", DefaultValueFactory = _ => new TrainOptions().Epochs };
        var batch = new Option<int>("--batch") { Description = "Batch size.", DefaultValueFactory = _ => new TrainOptions().BatchSize };
        var optimizer = new Option<string>("--optimizer") { Description = "sgd (momentum, L2 decay) or adam (decoupled decay).", DefaultValueFactory = _ => "adam" };
        var lr = new Option<double?>("--lr") { Description = "Peak learning rate (cosine to lr·0.01). Default 0.1 for sgd, 2e-3 for adam." };
        var momentum = new Option<double>("--momentum") { Description = "SGD momentum.", DefaultValueFactory = _ => 0.9 };
        var decay = new Option<double?>("--weight-decay") { Description = "Weight decay of conv/linear weights. Default 5e-4 for sgd, 0 for adam." };
        var val = new Option<double>("--val") { Description = "Fraction of the training images held out for validation.", DefaultValueFactory = _ => new TrainOptions().ValidationFraction };
        var augment = new Option<string?>("--augment") { Description = "none, crop-flip, flip, crop:P, crop:P+flip. Default: crop-flip for colour data, none for Fashion-MNIST." };
        var seed = new Option<int>("--seed") { Description = "Seed of weights, shuffling, augmentation, dropout and the validation split.", DefaultValueFactory = _ => 1 };
        var threads = new Option<int>("--threads") { Description = "Torch threads (0: all cores).", DefaultValueFactory = _ => 0 };
        var outDir = new Option<string>("--out") { Description = "Run folder: checkpoint, metrics.csv, architecture.txt.", DefaultValueFactory = _ => "runs/train" };
        var resume = new Option<bool>("--resume") { Description = "Continue the run in --out from its last completed epoch." };

        var cmd = new Command("train", "Train a spiking network with surrogate gradients (BPTT over T timesteps) and report test accuracy.");
        archOptions.AddTo(cmd);
        foreach (Option o in new Option[] { data, dataset, epochs, batch, optimizer, lr, momentum, decay, val, augment, seed, threads, outDir, resume })
            cmd.Options.Add(o);

        cmd.SetAction(r => CommandRunner.Run(cancel =>
        {
            SnnArchitecture arch = archOptions.Resolve(r, out bool explicitShape);
            OptimizerKind opt = r.GetValue(optimizer)?.ToLowerInvariant() switch
            {
                "sgd" => OptimizerKind.Sgd,
                "adam" => OptimizerKind.Adam,
                var other => throw new UsageException($"--optimizer must be sgd or adam (got '{other}')."),
            };
            var options = new TrainOptions(
                Epochs: r.GetValue(epochs), BatchSize: r.GetValue(batch), Optimizer: opt, LearningRate: r.GetValue(lr),
                Momentum: r.GetValue(momentum), WeightDecay: r.GetValue(decay) ?? (opt == OptimizerKind.Sgd ? 5e-4 : 0.0),
                Seed: r.GetValue(seed), ValidationFraction: r.GetValue(val),
                Augment: r.GetValue(augment) is { } a ? Augmentation.Parse(a) : null, Threads: r.GetValue(threads));
            options.Validate();
            string output = r.GetValue(outDir)!;
            CheckWritable(output);

            DataSplit split = DatasetCatalog.Load(r.GetValue(data), ParseKind(r.GetValue(dataset)));
            arch = ArchitectureOptions.FitToData(arch, explicitShape, split.Train);

            IAnsiConsole console = CommandRunner.Out;
            console.MarkupLine($"[bold]data[/]   {Markup.Escape(split.Source)}: {split.Train.Count} train / {split.Test.Count} test images, {split.Train.ClassNames.Count} classes");
            console.MarkupLine($"[bold]model[/]  {Markup.Escape(arch.ToString())}");
            console.MarkupLine($"[bold]size[/]   {arch.ParameterCount().ToString("N0", CultureInfo.InvariantCulture)} parameters");

            TrainResult result = ProgressObserver.Show(obs => Trainer.Run(arch, split, options, output, r.GetValue(resume), obs, cancel));
            var table = new Table().AddColumns("metric", "value");
            table.AddRow("test accuracy", $"{result.TestAccuracy:P2} ({result.TestCorrect}/{result.TestCount})");
            table.AddRow("parameters", arch.ParameterCount().ToString("N0", CultureInfo.InvariantCulture));
            table.AddRow("training time", $"{result.Epochs.Sum(e => e.Seconds):F1} s over {result.Epochs.Count} epochs");
            table.AddRow("run folder", Markup.Escape(Path.GetFullPath(output)));
            console.Write(table);
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    /// <summary>Fails early, before any work, when <paramref name="dir"/> cannot be created or written.</summary>
    internal static void CheckWritable(string dir)
    {
        try
        {
            Directory.CreateDirectory(dir);
            string probe = Path.Combine(dir, $".write-test-{Environment.ProcessId}");
            File.WriteAllText(probe, "");
            File.Delete(probe);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"{dir}: cannot write the output folder ({ex.Message})", ex);
        }
    }

    private static DatasetKind? ParseKind(string? text) => text?.ToLowerInvariant() switch
    {
        null => null,
        "fashion-mnist" or "fmnist" => DatasetKind.FashionMnist,
        "cifar10" => DatasetKind.Cifar10,
        "cifar100" => DatasetKind.Cifar100,
        "cifar100-coarse" => DatasetKind.Cifar100Coarse,
        "tinyimagenet" => DatasetKind.TinyImageNet,
        _ => throw new UsageException($"--dataset must be fashion-mnist, cifar10, cifar100, cifar100-coarse or tinyimagenet (got '{text}')."),
    };
}
