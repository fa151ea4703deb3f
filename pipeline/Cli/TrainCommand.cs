using SpiKernel.Pipeline;
using System.CommandLine;
using System.Globalization;
using SpiKernel.Pipeline.Data;
using SpiKernel.Pipeline.Stages;
using SpiKernel.Pipeline.Training;
using Spectre.Console;
using SpiKernel.Models.Architecture;

namespace SpiKernel.Cli;

/// <summary><c>spikernel train</c>: parses, calls <see cref="TrainStage"/>, prints the test accuracy.</summary>
internal static class TrainCommand
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
        var resume = new Option<bool>("--resume") { Description = "Continue the run in --out from its last completed epoch with its own network and settings (refused when there is nothing to resume); --epochs N trains on to N epochs." };

        var cmd = new Command("train", "Train a spiking network with surrogate gradients (BPTT over T timesteps) and report test accuracy.");
        archOptions.AddTo(cmd);
        foreach (Option o in new Option[] { data, dataset, epochs, batch, optimizer, lr, momentum, decay, val, augment, seed, threads, outDir, resume })
            cmd.Options.Add(o);

        cmd.SetAction(r => CommandRunner.Run(cancel =>
        {
            T? Given<T>(Option<T> o) where T : struct => r.GetResult(o) is { Implicit: false } ? r.GetValue(o) : null;
            var given = new TrainSettingsGiven(Given(epochs), Given(batch),
                r.GetResult(optimizer) is { Implicit: false } ? SettingWords.Parse("--optimizer", r.GetValue(optimizer), SettingWords.Optimizers) : null,
                r.GetValue(lr), Given(momentum), r.GetValue(decay), Given(seed), Given(val),
                r.GetValue(augment) is { } a ? Augmentation.Parse(a) : null, Given(threads));
            TrainStageOptions options = TrainStage.ForFolder(r.GetValue(outDir)!, given, archOptions.AnyGiven(r),
                () => (archOptions.Resolve(r, out bool explicitShape), explicitShape), r.GetValue(data), Parse.Dataset(r.GetValue(dataset)), r.GetValue(resume));

            TrainStageResult result = ConsoleProgress.Run(p => new TrainStage().Run(options, p, cancel));
            TrainResult t = result.Training;
            var table = new Table().AddColumns("metric", "value");
            table.AddRow("test accuracy", $"{t.TestAccuracy.ToString("P2", CultureInfo.InvariantCulture)} ({t.TestCorrect}/{t.TestCount})");
            table.AddRow("parameters", result.Architecture.ParameterCount().ToString("N0", CultureInfo.InvariantCulture));
            table.AddRow("candidate id", result.Architecture.CandidateId);
            table.AddRow("training time", string.Create(CultureInfo.InvariantCulture, $"{t.Epochs.Sum(e => e.Seconds):F1} s over {t.Epochs.Count} epochs"));
            table.AddRow("run folder", Markup.Escape(Path.GetFullPath(options.OutputDirectory)));
            CommandRunner.Out.Write(table);
            return ExitCodes.Ok;
        }, interrupted: () => File.Exists(Path.Combine(r.GetValue(outDir)!, Trainer.StateFile))
            ? "interrupted; the last completed epoch's checkpoint is kept (resume with --resume)"
            : "interrupted before the first epoch ended: there is no checkpoint to resume; train again"));
        return cmd;
    }
}
