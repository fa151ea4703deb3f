using SpiKernel.Core;
using SpiKernel.Models.Architecture;
using SpiKernel.Models.Network;
using SpiKernel.Pipeline.Data;

namespace SpiKernel.Pipeline.Training;

/// <summary>A trained network loaded back from a run folder (or its checkpoint.dat) with what the run recorded.</summary>
internal sealed class RunCheckpoint : IDisposable
{
    private RunCheckpoint(SpikingNetwork net, TrainState state, string weightsPath)
    {
        Network = net;
        State = state;
        WeightsPath = weightsPath;
    }

    /// <summary>The network, weights loaded, in eval mode.</summary>
    public SpikingNetwork Network { get; }

    /// <summary>What the run recorded (architecture, normalisation, class names, accuracies).</summary>
    public TrainState State { get; }

    /// <summary>The weights file that was loaded.</summary>
    public string WeightsPath { get; }

    /// <summary>
    /// Loads <paramref name="path"/>: a run folder, or a weights file with <c>checkpoint.json</c> beside it.
    /// Throws <see cref="InvalidDataException"/> or <see cref="FileNotFoundException"/> with one sentence naming the file.
    /// </summary>
    public static RunCheckpoint Load(string path)
    {
        bool folder = Directory.Exists(path);
        if (!folder && !File.Exists(path)) throw new FileNotFoundException($"{path}: no such checkpoint or run folder");
        string dir = folder ? path : Path.GetDirectoryName(Path.GetFullPath(path))!;
        string statePath = Path.Combine(dir, Trainer.StateFile);
        if (!File.Exists(statePath)) throw new FileNotFoundException($"{statePath}: missing; a checkpoint needs the checkpoint.json its run wrote");
        TrainState state = TrainState.Load(statePath);
        string weights = folder ? Trainer.CommittedWeights(dir, state) : path;
        if (!File.Exists(weights)) throw new FileNotFoundException($"{weights}: no such checkpoint file");
        SnnArchitecture arch;
        try
        {
            arch = SnnArchitecture.Parse(state.Architecture);
        }
        catch (SettingsException ex)
        {
            throw new InvalidDataException($"{statePath}: its architecture does not parse ({ex.Message})", ex);
        }
        var net = new SpikingNetwork(arch);
        try
        {
            Trainer.LoadWeights(net, weights);
            if (NotFinite(net) is { } name)
                throw new InvalidDataException($"{weights}: {name} holds NaN or infinite values: the training diverged (train again, with a lower learning rate)");
        }
        catch
        {
            net.Dispose();
            throw;
        }
        net.eval();
        return new RunCheckpoint(net, state, weights);
    }

    // the first parameter or buffer with a value that is not finite: a diverged training's weights, whose float export
    // would "differ" from TorchSharp by NaN and whose int8 export would round the NaNs to 0 and pass
    internal static string? NotFinite(SpikingNetwork net)
    {
        using var scope = TorchSharp.torch.NewDisposeScope();
        foreach ((string name, TorchSharp.torch.Tensor t) in net.named_parameters().Select(p => (p.name, (TorchSharp.torch.Tensor)p.parameter)).Concat(net.named_buffers()))
            if (t.is_floating_point() && !TorchSharp.torch.isfinite(t).all().item<bool>()) return name;
        return null;
    }

    /// <summary>The test split of the data the run was trained on (or <paramref name="dataOverride"/>).</summary>
    public ImageDataset TestData(string? dataOverride)
    {
        string? source = dataOverride ?? State.DataSource;
        string data = source == DatasetCatalog.Embedded || string.IsNullOrEmpty(source) ? DatasetCatalog.Embedded : source;
        ImageDataset test = DatasetCatalog.LoadTest(data, DatasetCatalog.KindFor(data, Network.Architecture.Macro.Classes));
        Trainer.CheckCompatible(Network.Architecture, test);
        return test;
    }

    /// <inheritdoc />
    public void Dispose() => Network.Dispose();
}
