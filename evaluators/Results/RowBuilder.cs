using System.Globalization;
using SpiKernel.Core;
using SpiKernel.Evaluators.Measurement;
using SpiKernel.Evaluators.Models;
using SpiKernel.Evaluators.Providers;

namespace SpiKernel.Evaluators.Results;

/// <summary>The parts of result rows that do not come from a timing: the model's facts, the profile, the machine; accuracy and spike figures.</summary>
internal sealed partial class RowBuilder(HostInfo host, bool isolated)
{
    /// <summary>A row of <paramref name="name"/> on <paramref name="profile"/>, status <c>failed</c> until a measurement says otherwise.</summary>
    public EvaluationRow Base(string name, ModelInfo? model, EvaluationProfile profile, int? batch, string precision)
    {
        SnnFacts? snn = model?.Snn;
        return new EvaluationRow
        {
            TimestampUtc = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture),
            Model = name,
            CandidateId = snn?.CandidateId ?? "",
            ModelPath = model?.Path ?? "",
            ModelSha256 = model?.Sha256 ?? "",
            Profile = profile.Name,
            Provider = ProviderRegistry.OrtName(profile.Provider),
            Precision = precision,
            BatchSize = batch,
            Status = EvaluationStatus.Failed,
            FileBytes = model?.FileBytes,
            Parameters = model?.Parameters,
            WeightBytes = model?.WeightBytes,
            ReferenceAccuracy = snn?.TestAccuracy is { } a ? Round(a, 6) : null,
            Timesteps = snn?.Timesteps,
            FirstLayerMacs = snn?.FirstLayerMacs,
            AnnMacs = snn?.AnnMacs,
            EnergyAnnUj = snn?.AnnMacs is { } macs ? Round(EnergyModel.AnnMicrojoules(macs), 3) : null,
            IntraOpThreads = profile.IntraOpThreads,
            InterOpThreads = profile.InterOpThreads,
            ExecutionMode = profile.ModeText,
            GraphOptimization = profile.OptimizationText,
            MemoryArena = profile.MemoryArena,
            MemoryPattern = profile.MemoryPattern,
            DeviceId = profile.DeviceId,
            OutputsOnDevice = profile.OutputsOnDevice,
            ProviderOptions = profile.ProviderOptionsText,
            Isolated = isolated,
            OrtVersion = host.OrtVersion,
            DeviceName = host.DeviceName(profile.Provider, profile.DeviceId),
            CpuModel = host.CpuModel,
            Cores = host.Cores,
            Os = host.Os,
            ToolVersion = ToolInfo.Version,
        };
    }

    /// <summary><paramref name="row"/> with the accuracy, spike and energy figures of a test-set pass.</summary>
    public static EvaluationRow WithAccuracy(EvaluationRow row, ModelInfo model, AccuracyResult acc, LabelledImages data)
    {
        row = row with
        {
            AccuracyTop1 = Round(acc.Top1, 6),
            AccuracyTop5 = acc.Top5 is { } top5 ? Round(top5, 6) : null,
            CorrectTop1 = acc.Top1Correct,
            TestSamples = acc.Samples,
            TestData = data.Name,
            CorrectBits = AnswerBits.Pack(acc.Top1Right),
        };
        if (acc.MeanSpikesPerLayer is not { } spikes || model.Snn is not { } snn) return row;
        row = row with { SpikesPerSample = Round(spikes.Sum(), 2) };
        if (snn.FanOut is { } fan && fan.Length == spikes.Length)
        {
            double synops = spikes.Select((s, i) => s * fan[i]).Sum();
            row = row with { SynopsPerSample = Math.Round(synops) };
            if (snn.FirstLayerMacs is { } first)
                row = row with { EnergySnnUj = Round(EnergyModel.SpikingMicrojoules(first, synops), 3) };
        }
        return row;
    }

    /// <summary>The per-layer rows of a test-set pass.</summary>
    public static IEnumerable<LayerRow> Layers(string name, EvaluationProfile profile, ModelInfo model, double[] spikes)
    {
        SnnFacts? snn = model.Snn;
        for (int l = 0; l < spikes.Length; l++)
        {
            long? neurons = snn?.Neurons is { } n && n.Length == spikes.Length ? n[l] : null;
            double? fan = snn?.FanOut is { } f && f.Length == spikes.Length ? f[l] : null;
            int t = snn is null ? 1 : l < snn.Steps.Length ? snn.Steps[l] : snn.Timesteps;
            yield return new LayerRow
            {
                Model = name,
                CandidateId = snn?.CandidateId ?? "",
                Profile = profile.Name,
                DeviceId = profile.DeviceId,
                Precision = model.Precision,
                ModelSha256 = model.Sha256,
                LayerIndex = l,
                Layer = snn is not null && l < snn.SpikeLayers.Count ? snn.SpikeLayers[l] : $"layer{l}",
                Neurons = neurons,
                Timesteps = t,
                SpikesPerSample = Round(spikes[l], 3),
                FiringRate = neurons is { } nn && t > 0 ? Round(spikes[l] / (nn * (double)t), 6) : null,
                FanOut = fan,
                SynopsPerSample = fan is { } ff ? Math.Round(spikes[l] * ff) : null,
            };
        }
    }

    /// <summary>Figures rounded to <paramref name="digits"/> decimals (4: 0.1 µs of a millisecond).</summary>
    public static double Round(double v, int digits = 4) => Math.Round(v, digits);

    /// <summary>
    /// A message on one line, without the place in ONNX Runtime's own sources it may start with ("[ErrorCode:Fail]
    /// /onnxruntime_src/…/provider_bridge_ort.cc:2043 onnxruntime::Provider&amp; …Get() [ONNXRuntimeError] : 1 : FAIL : "):
    /// what is left says what failed ("Failed to load library … libcublasLt.so.13: cannot open shared object file").
    /// Used for every reason a row gives, skipped or failed.
    /// </summary>
    public static string OneLine(string s) => OrtLocation().Replace(Messages.OneLine(s), "", 1);

    [System.Text.RegularExpressions.GeneratedRegex(@"^\[ErrorCode:\w+\]\s.*?\[ONNXRuntimeError\]\s*:\s*\d+\s*:\s*\w+\s*:\s*")]
    private static partial System.Text.RegularExpressions.Regex OrtLocation();
}
