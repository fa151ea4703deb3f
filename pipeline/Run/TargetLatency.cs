using System.Globalization;
using SpiKernel.Core;
using SpiKernel.Core.Csv;
using SpiKernel.Evaluators;
using SpiKernel.Evaluators.Results;
using SpiKernel.Exporters;
using SpiKernel.Models.Architecture;
using SpiKernel.Models.Network;
using SpiKernel.Pipeline.Data;
using SpiKernel.Pipeline.Prediction;
using SpiKernel.Pipeline.Ranking;
using SpiKernel.Pipeline.Search;
using SpiKernel.Pipeline.Stages;
using static TorchSharp.torch;

namespace SpiKernel.Pipeline.Run;

/// <summary>
/// Latency of a candidate on the target profile before it is trained: its untrained export (latency does not depend on
/// the weights) measured at batch 1 in ONNX Runtime, time only. Files: selection/untrained/ID.onnx (+ .int8.onnx) and
/// selection/latency.csv (evaluate's columns; a candidate already there is not measured again).
/// </summary>
internal sealed class TargetLatency(RunPlan plan, RunLayout layout, DataSplit data, IProgressObserver progress, CancellationToken cancel)
{
    private readonly string _dir = Path.Combine(layout.Root, "selection");
    private readonly List<PredictedLatencyRow> _predictions = File.Exists(Path.Combine(layout.Search, SearchStage.PredictionsFile))
        ? CsvFile.ReadAll<PredictedLatencyRow>(Path.Combine(layout.Search, SearchStage.PredictionsFile))
        : [];

    private Dictionary<string, EvaluationRow>? _known;
    private string? _unavailable;

    /// <summary>The measured p50 in ms; when the target cannot run here, the search's prediction (if any), or null and why.</summary>
    public (double? Ms, string Note, LatencySource? Source) Measure(CandidateRow candidate)
    {
        if (_unavailable is not null) return Predicted(candidate);
        string csv = Path.Combine(_dir, "latency.csv");
        _known ??= CsvFile.ReadLog<EvaluationRow>(csv).GroupBy(r => r.CandidateId).ToDictionary(g => g.Key, g => g.Last());
        if (!_known.TryGetValue(candidate.CandidateId, out EvaluationRow? row) || row.Status == EvaluationStatus.Failed) // a failure is tried again
        {
            string model = Export(candidate);
            var options = new EvaluateStageOptions(model, csv, [plan.Target!], [1], plan.Latency, Accuracy: false);
            row = new EvaluateStage().Run(options, progress, cancel).Rows.Last();
            _known[candidate.CandidateId] = row;
        }
        if (row.Status == EvaluationStatus.Failed) // the target runs here, but not this candidate: the others are still measured
        {
            string note = $"latency on the target {row.Profile} failed for this candidate (measured again on resume): {row.Reason}";
            progress.Note($"{candidate.CandidateId}: {note}");
            return (null, note, null);
        }
        if (row.Status != EvaluationStatus.Ok) // skipped: the target's provider cannot run on this machine
        {
            _unavailable = $"target {row.Profile} gave no latency here ({CsvFormat.Word(row.Status)}): {row.Reason}";
            progress.Note(_unavailable + (_predictions.Count > 0 ? "; using the search's predicted latencies" : "; candidates not filtered by latency"));
            return Predicted(candidate);
        }
        if (row.LatencyP50Ms is not { } ms) throw new InvalidOperationException($"no latency measured for {candidate.CandidateId}: {row.Reason}");
        progress.Note(string.Create(CultureInfo.InvariantCulture, $"{candidate.CandidateId}: {ms:0.###} ms at batch 1 on {row.Profile} ({row.Precision}, untrained)"));
        return (ms, "", LatencySource.Measured);
    }

    private (double? Ms, string Note, LatencySource? Source) Predicted(CandidateRow candidate)
    {
        string precision = plan.Target!.PreferInt8 && plan.Exports.Any(e => e.Precision == WeightPrecision.Int8) ? "int8" : "fp32";
        PredictedLatencyRow? p = _predictions.Where(r => r.CandidateId == candidate.CandidateId && r.Profile == plan.Target.Name && r.BatchSize == 1)
            .OrderBy(r => r.Precision == precision ? 0 : 1).FirstOrDefault();
        return p is null ? (null, _unavailable!, null) : (p.LatencyP50Ms, $"predicted ({p.Precision}) by {p.Predictor}; {_unavailable}", LatencySource.Predicted);
    }

    private string Export(CandidateRow candidate)
    {
        string dir = Path.Combine(_dir, "untrained");
        Directory.CreateDirectory(dir);
        string fp32 = Path.Combine(dir, candidate.CandidateId + ".onnx");
        var facts = new ModelFacts(data.Train.Mean, data.Train.Std, data.Train.ClassNames, data.Source);
        manual_seed(plan.Config.Seed);
        using var net = new SpikingNetwork(SnnArchitecture.Parse(candidate.Architecture));
        net.eval();
        foreach (ExportOptions export in plan.Exports)
        {
            string path = export.Precision == WeightPrecision.Int8 ? Path.Combine(dir, candidate.CandidateId + ".int8.onnx") : fp32;
            SnnOnnxExporter.Save(SnnOnnxExporter.Export(net, export, facts), path);
        }
        return fp32;
    }
}
