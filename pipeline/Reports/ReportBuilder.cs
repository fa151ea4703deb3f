using System.Text.RegularExpressions;
using SpiKernel.Evaluators.Measurement;
using SpiKernel.Evaluators.Results;
using SpiKernel.Pipeline.Ranking;
using static SpiKernel.Pipeline.Reports.ReportText;

namespace SpiKernel.Pipeline.Reports;

/// <summary>
/// Turns <see cref="ReportInputs"/> into the report's sections, in reading order: what to deploy first (recommendations,
/// trade-offs, latency, size, spikes), then how the run got there (score vs accuracy, search, kernel study, training),
/// then how to use the model and what made the run. A section whose inputs are missing is a one-line note naming the
/// file and the command that makes it.
/// </summary>
internal sealed partial class ReportBuilder(ReportInputs inputs, string outputDirectory, string? commandLine)
{
    private const string Run = "RUN";

    /// <summary>Every section.</summary>
    public IReadOnlyList<ReportSection> Sections() =>
    [
        Recommendations(), Tradeoffs(), Latency(), Size(), Layers(),
        ScoreVsAccuracy(), Search(), KernelStudy(), Training(), MlNet(), Configuration(),
    ];

    private List<RankingRow> Recommended => inputs.Ranking?.Where(r => r.Recommended).OrderBy(r => r.Profile, StringComparer.Ordinal).ToList() ?? [];

    private static string NoRanking => $"No ranking.csv in the run folder: run `spikernel rank {Run}/results.csv --out {Run}/ranking.csv` (after `spikernel evaluate`).";

    private static string NoResults => $"No results.csv in the run folder: run `spikernel evaluate {Run}/models --out {Run}/results.csv`.";

    private ReportSection Recommendations()
    {
        const string id = "recommendations", title = "Recommended model per profile";
        if (inputs.Ranking is not { Count: > 0 } ranking) return ReportSection.Absent(id, title, NoRanking);
        var rows = new List<IReadOnlyList<Cell>>();
        foreach (string profile in ranking.Select(r => r.Profile).Distinct().Order(StringComparer.Ordinal))
        {
            RankingRow? best = ranking.FirstOrDefault(r => r.Profile == profile && r.Recommended);
            if (best is null)
            {
                int measured = ranking.Count(r => r.Profile == profile && r.Status != RankStatus.Unmeasured);
                string why = measured > 0
                    ? $"no model meets the constraints on {profile} ({Plural(measured, "measured row")})"
                    : $"nothing measured on {profile}: {Ranker.CommonReason(ranking.Where(r => r.Profile == profile))}";
                rows.Add([profile, "–", "", "", "", "", "", "", why]);
                continue;
            }
            string? file = ModelFile(best);
            rows.Add([profile, file is null ? new Cell(best.Model + " (file not found)") : new Cell(best.Model, Link(outputDirectory, file)), best.Precision,
                Int(best.BatchSize), Percent(best.AccuracyTop1) + Interval(best.AccuracyCi95Low, best.AccuracyCi95High),
                best.LatencySource == LatencySource.Predicted ? $"{Ms(best.LatencyP50Ms)} (predicted)" : Ms(best.LatencyP50Ms),
                Ms(best.LatencyP95Ms), Count(best.Parameters), Why(best, ranking)]);
        }
        return new ReportSection(id, title,
        [
            new TextBlock("One model per profile from ranking.csv: the first feasible model at batch 1 (else the smallest batch with one), " +
                "ordered by Pareto front and then by the objectives in order. The model name links to its .onnx file. " +
                "The interval is where the accuracy on the data the test images were drawn from lies, as far as that many images tell (Wilson, 95 %)."),
            new TableBlock(["profile", "model", "precision", "batch", "top-1 (95 % interval)", "p50 ms", "p95 ms", "parameters", "why"], rows),
        ]);
    }

    /// <summary>The sentence of the ranking for <paramref name="best"/>, rebuilt from ranking.csv's fronts, positions and objective values.</summary>
    private string Why(RankingRow best, IReadOnlyList<RankingRow> ranking)
    {
        List<RankingRow> group = ranking.Where(r => r.Profile == best.Profile && r.BatchSize == best.BatchSize).ToList();
        List<RankingRow> feasible = group.Where(r => r.Status == RankStatus.Feasible).OrderBy(r => r.Position).ToList();
        int onFront = feasible.Count(r => r.Front == 1);
        string why = $"position 1 of {Plural(feasible.Count, "feasible model")}; ";
        if (onFront <= 1 || feasible.Count < 2) why += "the only model on the Pareto front";
        else
        {
            string[] a = best.Objectives.Split(';'), b = feasible[1].Objectives.Split(';');
            int i = Enumerable.Range(0, Math.Min(a.Length, b.Length)).FirstOrDefault(k => a[k] != b[k], -1);
            why += i < 0
                ? $"tied with {feasible[1].Model} on every objective among the {onFront} on the Pareto front, first by name"
                : $"decided by {a[i].Split('=')[0]} ({a[i].Split('=')[^1]} vs {b[i].Split('=')[^1]} of {feasible[1].Model}) among the {onFront} on the Pareto front" +
                  (a[i].StartsWith("accuracy_top1=", StringComparison.Ordinal) ? Ranker.AccuracyCaveat(Answered(best), Answered(feasible[1])) : "");
        }
        IEnumerable<string> excluded = group.Where(r => r.Status == RankStatus.Infeasible)
            .GroupBy(r => r.Reason.Split(" (")[0]).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key} excluded {g.Count()}");
        string ex = string.Join(", ", excluded);
        return ex.Length == 0 ? why : $"{why}; {ex}";
    }

    // a ranking row with the per-image answers of the results row it ranks (ranking.csv does not carry them), so that the
    // report compares two accuracies as rank did
    private RankingRow Answered(RankingRow r) => inputs.Results is { } results
        && (_okResults ??= Ok(results)).LastOrDefault(x => x.Model == r.Model && x.Precision == r.Precision && x.Profile == r.Profile && x.BatchSize == r.BatchSize) is { } row
            ? r with { Answers = RankingRow.AnswersOf(row) } : r;

    private List<EvaluationRow>? _okResults; // the results rows that count, worked out once for every sentence

    /// <summary>The .onnx file of a ranking row: its model_path (absolute, or relative to the run folder), else models/&lt;candidate_id&gt;[.int8].onnx.</summary>
    private string? ModelFile(RankingRow row)
    {
        var tries = new List<string>();
        if (row.ModelPath.Length > 0) tries.Add(Path.IsPathRooted(row.ModelPath) ? row.ModelPath : Path.Combine(inputs.Layout.Root, row.ModelPath));
        if (row.CandidateId.Length > 0) tries.Add(row.Precision == "int8" ? inputs.Layout.Int8Model(row.CandidateId) : inputs.Layout.Model(row.CandidateId));
        tries.Add(Path.Combine(inputs.Layout.Models, row.Model + (row.Precision == "int8" ? ".int8.onnx" : ".onnx")));
        return tries.Select(Path.GetFullPath).FirstOrDefault(File.Exists);
    }

    private ReportSection Tradeoffs()
    {
        const string id = "tradeoffs", title = "Accuracy vs latency per profile (Pareto front)";
        if (inputs.Ranking is not { Count: > 0 } ranking) return ReportSection.Absent(id, title, NoRanking);
        var blocks = new List<ReportBlock>
        {
            new TextBlock("Each point is a model × precision measured on the profile. The front is ranking.csv's first Pareto front on all the " +
                "ranking's objectives, so a front point may look dominated in these two dimensions when it wins on another (e.g. parameters)."),
        };
        // a profile nothing was measured on says so, rather than vanishing from the section
        foreach (IGrouping<string, RankingRow> none in ranking.GroupBy(r => r.Profile).Where(g => g.All(r => r.Status == RankStatus.Unmeasured)).OrderBy(g => g.Key, StringComparer.Ordinal))
            blocks.Add(new NoteBlock($"{none.Key}: nothing measured — {Ranker.CommonReason(none)}"));
        foreach (IGrouping<string, RankingRow> profile in ranking.Where(r => r.Status != RankStatus.Unmeasured).GroupBy(r => r.Profile).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            RankingRow? rec = profile.FirstOrDefault(r => r.Recommended);
            int batch = rec?.BatchSize ?? profile.Select(r => r.BatchSize).Min();
            List<RankingRow> rows = profile.Where(r => r.BatchSize == batch && r.AccuracyTop1 is not null && r.LatencyP50Ms is not null).ToList();
            if (rows.Count == 0)
            {
                blocks.Add(new NoteBlock($"{profile.Key}: no row with both accuracy and latency at batch {batch} (evaluated with --no-accuracy?)."));
                continue;
            }
            static XY P(RankingRow r) => new(r.LatencyP50Ms!.Value, r.AccuracyTop1!.Value * 100);
            List<RankingRow> front = rows.Where(r => r.Status == RankStatus.Feasible && r.Front == 1).ToList();
            int infeasible = rows.Count(r => r.Status == RankStatus.Infeasible);
            blocks.Add(new FigureBlock($"Accuracy vs latency on {profile.Key}",
                ReportPlots.Svg(ReportPlots.Tradeoff(profile.Key, batch, front.Select(P).ToList(),
                    rows.Where(r => r.Status == RankStatus.Feasible && r.Front != 1).Select(P).ToList(),
                    rows.Where(r => r.Status == RankStatus.Infeasible).Select(P).ToList(), rec is null || rec.AccuracyTop1 is null ? null : P(rec),
                    rows.Where(r => r.AccuracyCi95Low is not null && r.AccuracyCi95High is not null)
                        .Select(r => (r.LatencyP50Ms!.Value, r.AccuracyCi95Low!.Value * 100, r.AccuracyCi95High!.Value * 100)).ToList())),
                $"{Plural(rows.Count, "model")} at batch {batch}: {front.Count} on the first front, {infeasible} failing a constraint. " +
                (rows.Any(r => r.AccuracyCi95Low is not null) ? "Vertical bars: each accuracy's 95 % interval over the test images. " : "") +
                (rec is null ? "No model meets the constraints here." : $"Recommended: {rec.Model} ({rec.Precision}), {Percent(rec.AccuracyTop1)} at {Ms(rec.LatencyP50Ms)} ms{(rec.LatencySource == LatencySource.Predicted ? " (predicted)" : "")}.")));
        }
        return new ReportSection(id, title, blocks);
    }

    private ReportSection Latency()
    {
        const string id = "latency", title = "Latency distributions per profile";
        if (inputs.Results is not { } results) return ReportSection.Absent(id, title, NoResults);
        var blocks = new List<ReportBlock> { new TextBlock("Percentiles of the timed runs of each model (results.csv), fastest median first.") };
        foreach (IGrouping<string, EvaluationRow> profile in Ok(results).GroupBy(r => r.Profile).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            int batch = profile.Any(r => r.BatchSize == 1) ? 1 : profile.Min(r => r.BatchSize!.Value);
            List<EvaluationRow> rows = Latest(profile.Where(r => r.BatchSize == batch && r.LatencyP50Ms is not null && r.LatencyP99Ms is not null))
                .OrderBy(r => r.LatencyP50Ms).ThenBy(r => r.Model, StringComparer.Ordinal).ToList();
            if (rows.Count == 0) continue;
            List<EvaluationRow> shown = rows.Take(15).ToList();
            var models = shown.Select(r => ($"{r.Model} {r.Precision}",
                new[] { r.LatencyP50Ms!.Value, r.LatencyP90Ms ?? double.NaN, r.LatencyP95Ms ?? double.NaN, r.LatencyP99Ms!.Value })).ToList();
            blocks.Add(new FigureBlock($"Latency percentiles on {profile.Key}",
                ReportPlots.Svg(ReportPlots.LatencyPercentiles(profile.Key, batch, models), ReportPlots.Width, Math.Max(300, 120 + 42 * shown.Count)),
                $"{(rows.Count > shown.Count ? $"The {shown.Count} fastest of {rows.Count} models" : Plural(rows.Count, "model"))} at batch {batch} " +
                $"({rows[0].Provider}); fastest median {Ms(rows[0].LatencyP50Ms)} ms ({rows[0].Model} {rows[0].Precision}). {Where(rows[0])}" +
                (shown.Any(r => r.MeasuredRuns < 100) ? " p99 of fewer than 100 timed runs lies between the slowest few: read it as a rough tail." : "")));
            blocks.Add(new TableBlock(["model", "precision", "p50 ms", "p90 ms", "p95 ms", "p99 ms", "runs"],
                shown.Select(r => (IReadOnlyList<Cell>)[r.Model, r.Precision, Ms(r.LatencyP50Ms), Ms(r.LatencyP90Ms), Ms(r.LatencyP95Ms), Ms(r.LatencyP99Ms),
                    Count(r.MeasuredRuns)]).ToList()));
        }
        if (blocks.Count == 1) blocks.Add(new NoteBlock("results.csv has no measured (status ok) row with latency percentiles."));
        return new ReportSection(id, title, blocks);
    }

    // what a latency was measured on: a profile is a setting of ONNX Runtime on this host, not a device of its own
    private static string Where(EvaluationRow r) => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"Measured on {(r.DeviceName.Length > 0 && r.DeviceName != r.CpuModel ? r.DeviceName + " on " : "")}{(r.CpuModel.Length > 0 ? r.CpuModel : "this host")} ({Plural(r.Cores, "logical processor")}, {r.Os}), " +
        $"ONNX Runtime {r.OrtVersion}, {Plural(r.IntraOpThreads, "intra-op thread")}.");

    private ReportSection Size()
    {
        const string id = "size", title = "Accuracy vs parameters";
        IEnumerable<(string Model, string Precision, long? Parameters, double? Accuracy)> all =
            inputs.Results is { } results ? Latest(Ok(results).Where(r => r.AccuracyTop1 is not null)).Select(r => (r.Model, r.Precision, r.Parameters, r.AccuracyTop1))
            : inputs.Ranking is { } ranking ? ranking.Select(r => (r.Model, r.Precision, r.Parameters, r.AccuracyTop1))
            : [];
        var points = all.Where(p => p.Parameters is not null && p.Accuracy is not null).DistinctBy(p => (p.Model, p.Precision))
            .OrderBy(p => p.Precision, StringComparer.Ordinal).ThenBy(p => p.Model, StringComparer.Ordinal).ToList();
        if (inputs.Results is null && inputs.Ranking is null) return ReportSection.Absent(id, title, NoResults);
        if (points.Count == 0) return ReportSection.Absent(id, title, "No measured row has both accuracy and parameters (was evaluate run with --no-accuracy?).");
        var series = points.GroupBy(p => p.Precision).Select(g => (g.Key, (IReadOnlyList<XY>)g.Select(p => new XY(p.Parameters!.Value / 1e3, p.Accuracy!.Value * 100)).ToList())).ToList();
        var best = points.MaxBy(p => p.Accuracy)!;
        return new ReportSection(id, title,
        [
            new FigureBlock(title, ReportPlots.Svg(ReportPlots.AccuracyVsParameters(series)),
                $"{Plural(points.Select(p => p.Model).Distinct().Count(), "model")} in {Plural(points.Select(p => p.Precision).Distinct().Count(), "precision")} ({Plural(points.Count, "point")}; accuracy through ONNX Runtime); most accurate {best.Model} ({best.Precision}): {Percent(best.Accuracy)} with {Count(best.Parameters)} parameters."),
        ]);
    }

    private ReportSection Layers()
    {
        const string id = "layers", title = "Spikes and energy per layer (recommended models)";
        if (inputs.Layers is not { } layers) return ReportSection.Absent(id, title, $"No results.layers.csv beside results.csv: `spikernel evaluate {Run}/models --out {Run}/results.csv` writes it (not with --no-accuracy).");
        if (Recommended.Count == 0) return ReportSection.Absent(id, title, inputs.Ranking is null ? NoRanking : "ranking.csv recommends no model, so there is no model to show.");
        var blocks = new List<ReportBlock> { new TextBlock($"Mean spikes per test sample of each LIF layer over all timesteps, and the arithmetic energy of the synaptic operations those spikes cause ({EnergyModel.Source}; the first layer's multiply-accumulates on pixels are in the model total, not per layer).") };
        foreach (RankingRow rec in Recommended.DistinctBy(r => (r.Model, r.CandidateId, r.Precision)))
        {
            IEnumerable<LayerRow> mine = layers.Where(l => l.Model == rec.Model && l.CandidateId == rec.CandidateId && l.Precision == rec.Precision);
            List<LayerRow> rows = mine.Where(l => CurrentRows.OnDevice(l).Profile == rec.Profile).ToList(); // two GPUs' layers apart, as their rows
            if (rows.Count == 0) rows = mine.GroupBy(l => CurrentRows.OnDevice(l).Profile).OrderBy(g => g.Key, StringComparer.Ordinal).FirstOrDefault()?.ToList() ?? [];
            if (rows.Select(l => l.ModelSha256).Distinct().Count() > 1) rows = rows.GroupBy(l => l.ModelSha256).Last().ToList(); // the network trained again and measured in turn: the last
            if (rows.Count == 0)
            {
                blocks.Add(new NoteBlock($"{rec.Model} ({rec.Precision}): no rows in results.layers.csv."));
                continue;
            }
            // a model evaluated again appends its layer rows (they carry no time): the last of each layer is the newest
            rows = [.. rows.GroupBy(l => l.LayerIndex).Select(g => g.Last()).OrderBy(l => l.LayerIndex)];
            string[] names = [.. rows.Select(l => l.Layer)];
            string who = $"{rec.Model} ({rec.Precision}, recommended on {string.Join(", ", Recommended.Where(r => r.Model == rec.Model && r.Precision == rec.Precision).Select(r => r.Profile))})";
            double[] nj = [.. rows.Select(l => (l.SynopsPerSample ?? 0) * EnergyModel.AcPicojoules / 1e3)];
            blocks.Add(new FigureBlock($"Spikes per layer of {rec.Model}", ReportPlots.Svg(ReportPlots.PerLayer($"Spikes per layer: {rec.Model} {rec.Precision}", "spikes per sample", names, [.. rows.Select(l => l.SpikesPerSample)], false)),
                $"{who}: {Num(rows.Sum(l => l.SpikesPerSample), "0.#")} spikes per sample in {Plural(rows.Count, "layer")}."));
            blocks.Add(new FigureBlock($"Energy per layer of {rec.Model}", ReportPlots.Svg(ReportPlots.PerLayer($"Synaptic energy per layer: {rec.Model} {rec.Precision}", "energy per sample (nJ)", names, nj, true)),
                $"{Num(nj.Sum(), "0.###")} nJ per sample in synaptic operations; the model's total estimate is {Num(rec.EnergySnnUj, "0.####")} µJ" +
                (rec.Precision == "int8" ? " — priced at fp32 arithmetic (the estimate's figures are for 32-bit operations; 8-bit ones cost less)." : ".")));
            blocks.Add(new TableBlock(["layer", "neurons", "firing rate", "spikes/sample", "synops/sample", "energy nJ"],
                rows.Select((l, i) => (IReadOnlyList<Cell>)[l.Layer, Count(l.Neurons), Num(l.FiringRate, "0.0000"), Num(l.SpikesPerSample, "0.0"), Num(l.SynopsPerSample, "0"), Num(nj[i], "0.###")]).ToList()));
        }
        return new ReportSection(id, title, blocks);
    }

    private ReportSection MlNet()
    {
        RankingRow? rec = Recommended.FirstOrDefault(r => r.Precision != "int8") ?? Recommended.FirstOrDefault();
        string model = rec is not null && ModelFile(rec) is { } f ? Link(outputDirectory, f) : "model.onnx";
        string arch = rec is null ? "" : inputs.Selection?.FirstOrDefault(s => s.CandidateId == rec.CandidateId)?.Architecture
            ?? inputs.Candidates?.FirstOrDefault(c => c.CandidateId == rec.CandidateId)?.Architecture ?? "";
        Match m = InputShape().Match(arch);
        string shape = m.Success ? $"{m.Groups[1].Value}, {m.Groups[2].Value}, {m.Groups[3].Value}" : "1, 28, 28";
        string code = $$"""
            // Program.cs of a console app: dotnet add package Microsoft.ML; dotnet add package Microsoft.ML.OnnxTransformer
            using Microsoft.ML;
            using Microsoft.ML.Data;

            // your images as pixel/255, normalised with the model's spikernel.normalization.mean/std metadata
            Image[] images = [new() { Pixels = new float[{{shape.Replace(", ", " * ", StringComparison.Ordinal)}}] }];
            var ml = new MLContext();
            IDataView data = ml.Data.LoadFromEnumerable(images);
            var pipeline = ml.Transforms.ApplyOnnxModel(outputColumnNames: ["logits"], inputColumnNames: ["input"],
                modelFile: "{{model}}", // relative to this report: give the path your program sees
                shapeDictionary: new Dictionary<string, int[]> { ["input"] = [1, {{shape}}] }, gpuDeviceId: null, fallbackToCpu: false, recursionLimit: 100);
            ITransformer model = pipeline.Fit(data);
            float[][] logits = ml.Data.CreateEnumerable<Scores>(model.Transform(data), reuseRowObject: false).Select(s => s.Logits).ToArray();
            Console.WriteLine($"class {Array.IndexOf(logits[0], logits[0].Max())}");

            sealed class Image { [ColumnName("input"), VectorType(1, {{shape}})] public float[] Pixels { get; set; } = []; }
            sealed class Scores { [ColumnName("logits")] public float[] Logits { get; set; } = []; }
            """;
        return new ReportSection("mlnet", "Use it in ML.NET",
        [
            new TextBlock((rec is null ? "For any exported model" : $"For {rec.Model} (recommended on {rec.Profile})") +
                ": the model drops into an existing ML.NET pipeline with ApplyOnnxModel and gives the same logits as ONNX Runtime (docs/export.md)."),
            new CodeBlock("csharp", code),
        ]);
    }

    private ReportSection Configuration()
    {
        var blocks = new List<ReportBlock>();
        if (commandLine is { Length: > 0 }) blocks.AddRange([new TextBlock("The command that made this report:"), new CodeBlock("text", commandLine)]);
        if (inputs.Config is { } json)
            blocks.AddRange([new TextBlock("The effective configuration of the run (run.json), as written by spikernel run:"), new CodeBlock("json", json)]);
        if (blocks.Count == 0) return ReportSection.Absent("configuration", "Command and configuration", "No run.json in the run folder: `spikernel run` writes it; a folder made with the single commands has none.");
        return new ReportSection("configuration", "Command and configuration", blocks);
    }

    // the rows that count, as the ranking has them (a later failed row voids an earlier ok one)
    private static List<EvaluationRow> Ok(IEnumerable<EvaluationRow> rows) => CurrentRows.Ok(rows);

    // of the rows that count, each model and precision's newest (over profiles and batch sizes)
    private static IEnumerable<EvaluationRow> Latest(IEnumerable<EvaluationRow> rows) =>
        rows.GroupBy(r => (r.Model, r.Precision)).Select(g => CurrentRows.Newest(g, r => r)!);

    [GeneratedRegex(@"\binput=(\d+)x(\d+)x(\d+)")]
    private static partial Regex InputShape();
}
