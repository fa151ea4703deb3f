using System.CommandLine;
using SpiKernel.Models.Architecture;
using SpiKernel.Models.Lif;
using SpiKernel.Core;
using SpiKernel.Pipeline.Training;

namespace SpiKernel.Cli;

/// <summary>
/// The options that describe a network, shared by every command that builds one. Resolution order: the preset,
/// then <c>--arch</c> (text or a file holding it), then each single knob.
/// </summary>
internal sealed class ArchitectureOptions
{
    /// <summary>Named starting points.</summary>
    public static IReadOnlyDictionary<string, SnnArchitecture> Presets { get; } = new Dictionary<string, SnnArchitecture>
    {
        ["default"] = SnnArchitecture.Default,
        ["fmnist-small"] = SnnArchitecture.FashionMnistSmall,
        ["snasnet-cifar10"] = SnnArchitecture.SnasnetCifar10,
        ["fmnist-found"] = SnnArchitecture.FashionMnistFound,
    };

    private readonly Option<string> _preset;
    private readonly bool _cellOption;
    private readonly bool _kernelsOption;

    /// <summary>
    /// Creates the options; <paramref name="defaultPreset"/> is used when --preset is not given. Without
    /// <paramref name="cellOption"/> there is no --cell and no --kernels (a search samples cells over its own kernel
    /// sets); without <paramref name="kernelsOption"/> no --kernels (the kernel study gives every size its turn).
    /// </summary>
    public ArchitectureOptions(string defaultPreset = "default", bool cellOption = true, bool kernelsOption = true)
    {
        _cellOption = cellOption;
        _kernelsOption = cellOption && kernelsOption;
        _preset = new Option<string>("--preset")
        {
            Description = "Starting architecture: default (quick Fashion-MNIST network), fmnist-small (method.md, 1,002,372 parameters), fmnist-found (the full-data network a search found, 997,060) or snasnet-cifar10 (19,520,356).",
            DefaultValueFactory = _ => defaultPreset,
        };
    }

    private readonly Option<string?> _arch = new("--arch") { Description = "Architecture text (cell=\"0303 0030 2002 0200\" kernels=1,3 …) or a file holding it (e.g. a run's architecture.txt)." };
    private readonly Option<string?> _cell = new("--cell") { Description = "Cell connection matrix, four rows of codes, e.g. \"0303 0030 2002 0200\"." };
    private readonly Option<string?> _kernels = new("--kernels") { Description = "Kernel-size set, odd sizes, e.g. 1,3 or 3,5,7." };
    private readonly Option<string?> _input = new("--input") { Description = "Input shape CxHxW, e.g. 3x32x32 (train: taken from the data when not given)." };
    private readonly Option<int?> _channels = new("--channels") { Description = "Base channels C." };
    private readonly Option<int?> _ratio = new("--ratio") { Description = "Channel ratio r (cell 1 runs at C·r channels)." };
    private readonly Option<int?> _stemStride = new("--stem-stride") { Description = "Stride of the stem convolution." };
    private readonly Option<int?> _hidden = new("--hidden") { Description = "Hidden spiking layer width of the classifier." };
    private readonly Option<int?> _classes = new("--classes") { Description = "Output classes (train: taken from the data when not given)." };
    private readonly Option<int?> _cluster = new("--cluster") { Description = "Output neurons per class (population vote)." };
    private readonly Option<int?> _sap = new("--sap") { Description = "Second average pooling before the classifier." };
    private readonly Option<int?> _timesteps = new("--timesteps", "-T") { Description = "Timesteps T." };
    private readonly Option<double?> _dropout = new("--dropout") { Description = "Dropout before the classifier, one mask for all timesteps." };
    private readonly Option<double?> _tau = new("--tau") { Description = "LIF membrane time constant (default 4/3)." };
    private readonly Option<double?> _vth = new("--v-threshold") { Description = "LIF firing threshold (default 1)." };
    private readonly Option<string?> _surrogate = new("--surrogate") { Description = "Surrogate gradient: atan or sigmoid." };
    private readonly Option<double?> _alpha = new("--alpha") { Description = "Surrogate sharpness (default 2)." };

    private Option[] All => [_preset, _arch, _cell, _kernels, _input, _channels, _ratio, _stemStride, _hidden, _classes, _cluster, _sap, _timesteps, _dropout, _tau, _vth, _surrogate, _alpha];

    /// <summary>Whether the command line names any part of the network (a default preset does not count).</summary>
    public bool AnyGiven(ParseResult r) => All.Any(o => r.GetResult(o) is { Implicit: false });

    /// <summary>Adds the options to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        foreach (Option o in All)
        {
            if ((!_cellOption && o == _cell) || (!_kernelsOption && o == _kernels)) continue;
            command.Options.Add(o);
        }
    }

    /// <summary>
    /// The architecture the options describe. <paramref name="explicitShape"/> tells whether the user fixed the
    /// input shape and class count (through --input/--classes or keys of --arch); otherwise a command may adapt them.
    /// </summary>
    public SnnArchitecture Resolve(ParseResult r, out bool explicitShape)
    {
        string presetName = r.GetValue(_preset) ?? "default";
        if (!Presets.TryGetValue(presetName, out SnnArchitecture? arch))
            throw new SettingsException($"Unknown preset '{presetName}'; choose one of {string.Join(", ", Presets.Keys)}.");

        explicitShape = r.GetValue(_input) is not null || r.GetValue(_classes) is not null;
        string? archText = r.GetValue(_arch);
        if (archText is not null)
        {
            string text = ArchitectureFile.ReadOrText(archText);
            arch = SnnArchitecture.Parse(text, arch);
            explicitShape |= text.Contains("input=", StringComparison.Ordinal) || text.Contains("classes=", StringComparison.Ordinal);
        }

        MacroConfig m = arch.Macro;
        LifOptions lif = arch.Lif;
        CellTopology cell = _cellOption && r.GetValue(_cell) is { } c ? CellTopology.Parse(c) : arch.Cell;
        KernelSet kernels = _kernelsOption && r.GetValue(_kernels) is { } k ? KernelSet.Parse(k) : arch.Kernels;
        if (r.GetValue(_input) is { } input)
        {
            int[] dims = input.Split('x').Select(p => int.TryParse(p, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int v) ? v : -1).ToArray();
            if (dims.Length != 3 || dims.Any(d => d < 1))
                throw new SettingsException($"--input must be CxHxW, e.g. 3x32x32 (got '{input}').");
            m = m with { InChannels = dims[0], Height = dims[1], Width = dims[2] };
        }
        m = m with
        {
            BaseChannels = r.GetValue(_channels) ?? m.BaseChannels,
            ChannelRatio = r.GetValue(_ratio) ?? m.ChannelRatio,
            StemStride = r.GetValue(_stemStride) ?? m.StemStride,
            Hidden = r.GetValue(_hidden) ?? m.Hidden,
            Classes = r.GetValue(_classes) ?? m.Classes,
            Cluster = r.GetValue(_cluster) ?? m.Cluster,
            SecondPool = r.GetValue(_sap) ?? m.SecondPool,
            Timesteps = r.GetValue(_timesteps) ?? m.Timesteps,
            Dropout = r.GetValue(_dropout) ?? m.Dropout,
        };
        lif = lif with
        {
            Tau = r.GetValue(_tau) ?? lif.Tau,
            VThreshold = r.GetValue(_vth) ?? lif.VThreshold,
            Alpha = r.GetValue(_alpha) ?? lif.Alpha,
        };
        if (r.GetValue(_surrogate) is { } s)
        {
            lif = lif with
            {
                Surrogate = Enum.TryParse(s, ignoreCase: true, out SurrogateKind kind) && Enum.IsDefined(kind) && !int.TryParse(s, out _)
                    ? kind : throw new SettingsException($"--surrogate must be atan or sigmoid (got '{s}')."),
            };
        }
        return new SnnArchitecture(cell, kernels, m, lif).Validated();
    }
}
