using System.Globalization;
using SpiKernel.Core;
using SpiKernel.Models.Architecture;
using SpiKernel.Models.Lif;

namespace SpiKernel.Exporters;

// The spikernel.* metadata the model carries about itself.
partial class SnnOnnxExporter
{
    private IEnumerable<KeyValuePair<string, string>> Metadata(ModelFacts facts)
    {
        static string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);
        LifOptions l = _arch.Lif;
        IReadOnlyList<SpikeLayer> spikeLayers = _arch.SpikeLayers();
        if (!spikeLayers.Select(x => x.Path).SequenceEqual(_net.LifLayers().Select(x => x.Path)))
            throw new InvalidOperationException("The analytic spike layers disagree with the built network's LIF layers.");
        var meta = new Dictionary<string, string>
        {
            [MetadataKeys.Architecture] = _arch.ToString(),
            [MetadataKeys.CandidateId] = _arch.CandidateId,
            [MetadataKeys.Kernels] = _arch.Kernels.ToString(),
            [MetadataKeys.Cell] = _arch.Cell.ToString(),
            [MetadataKeys.CellType] = _arch.EffectiveCell.IsBackward ? "backward" : "forward",
            [MetadataKeys.Timesteps] = _t.ToString(CultureInfo.InvariantCulture),
            [MetadataKeys.Parameters] = _arch.ParameterCount().ToString(CultureInfo.InvariantCulture),
            [MetadataKeys.Lif] = $"tau={F(l.Tau)} v_threshold={F(l.VThreshold)} v_reset={F(l.VReset)} reset={l.Reset.ToString().ToLowerInvariant()} surrogate={l.Surrogate.ToString().ToLowerInvariant()} alpha={F(l.Alpha)}",
            [MetadataKeys.Layout] = _options.Layout.ToString().ToLowerInvariant(),
            [MetadataKeys.Precision] = _options.Precision.ToString().ToLowerInvariant(),
            [MetadataKeys.SpikeLayers] = string.Join(',', _net.LifLayers().Select(l => l.Path)),
            [MetadataKeys.SpikeLayerNeurons] = string.Join(',', spikeLayers.Select(l => l.Neurons.ToString(CultureInfo.InvariantCulture))),
            [MetadataKeys.SpikeLayerFanOut] = string.Join(',', spikeLayers.Select(l => F(l.FanOut))),
            [MetadataKeys.SpikeLayerSteps] = string.Join(',', spikeLayers.Select(l => l.Steps.ToString(CultureInfo.InvariantCulture))),
            [MetadataKeys.FirstLayerMacs] = _arch.StemMacCount().ToString(CultureInfo.InvariantCulture),
            [MetadataKeys.AnnMacs] = _arch.AnnMacCount().ToString(CultureInfo.InvariantCulture),
            [MetadataKeys.ToolVersion] = ToolInfo.Version,
            [MetadataKeys.ExportFormat] = FormatVersion.ToString(CultureInfo.InvariantCulture),
            [MetadataKeys.InputLayout] = "NCHW float32, pixel/255 normalised by (x - mean) / std",
        };
        static string F32(float v) => v.ToString("R", CultureInfo.InvariantCulture);
        if (facts.Mean is { } mean) meta[MetadataKeys.NormalizationMean] = string.Join(',', mean.Select(F32));
        if (facts.Std is { } std) meta[MetadataKeys.NormalizationStd] = string.Join(',', std.Select(F32));
        if (facts.ClassNames is { } names) meta[MetadataKeys.ClassNames] = string.Join('\n', names);
        if (facts.Dataset is { } data) meta[MetadataKeys.Dataset] = data;
        if (facts.TestAccuracy is { } acc && !double.IsNaN(acc)) meta[MetadataKeys.TestAccuracy] = F(acc);
        return meta;
    }
}
