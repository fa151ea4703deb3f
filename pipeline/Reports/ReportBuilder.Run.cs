using SpiKernel.Models.Search;
using SpiKernel.Pipeline.Ranking;
using SpiKernel.Pipeline.Run;
using SpiKernel.Pipeline.Search;
using SpiKernel.Pipeline.Training;
using static SpiKernel.Pipeline.Reports.ReportText;
using SpiKernel.Core.Csv;

namespace SpiKernel.Pipeline.Reports;

/// <summary>The sections about how the run got to its models: score vs accuracy, search, kernel study, training.</summary>
internal sealed partial class ReportBuilder
{
    private ReportSection ScoreVsAccuracy()
    {
        const string id = "score-vs-accuracy", title = "Did the training-free score help? Score vs trained accuracy";
        if (inputs.Selection is not { Count: > 0 } selection)
            return ReportSection.Absent(id, title, inputs.Selection is null
                ? "No selection.csv in the run folder: `spikernel run` writes it (the top candidates by score and random controls, trained)."
                : "selection.csv has no rows: no candidate was selected.");
        var rows = selection.Select(s => (Row: s, Accuracy: Accuracy(s))).ToList();
        var trained = rows.Where(r => r.Row.Score is not null && r.Accuracy.Value is not null).ToList();
        XY P((SelectionRow Row, (double? Value, string Source) Accuracy) r) => new(r.Row.Score!.Value, r.Accuracy.Value!.Value * 100);
        ScoreCheck check = ScoreCheck.Of(rows.Select(r => r.Row with { AccuracyTop1 = r.Accuracy.Value }).ToList());
        double? tau = check.KendallTau;
        string Mean(SelectionRole role) => (role == SelectionRole.Top ? (check.TopMeanAccuracy, check.TopTrained) : (check.ControlMeanAccuracy, check.ControlTrained)) switch
        {
            (double mean, int n) => $"{Percent(mean)} mean over {n}",
            _ => "none trained",
        };
        var blocks = new List<ReportBlock>
        {
            new TextBlock($"Kendall's τ between score and accuracy over {Plural(trained.Count, "trained candidate")}: {Num(tau, "0.00")}{check.Significance} " +
                "(1: the score orders them as training does; 0: no relation; −1: the reverse order; undefined with fewer than two). " +
                $"Top by score: {Mean(SelectionRole.Top)}; random control: {Mean(SelectionRole.Control)}.{Noise(trained.Select(r => r.Accuracy.Value!.Value))}"),
        };
        if (trained.Count > 0)
            blocks.Add(new FigureBlock("Score vs trained accuracy",
                ReportPlots.Svg(ReportPlots.ScoreVsAccuracy(trained.Where(r => r.Row.Role == SelectionRole.Top).Select(P).ToList(),
                    trained.Where(r => r.Row.Role == SelectionRole.Control).Select(P).ToList(), Num(tau, "0.00"))),
                "Blue circles: the top candidates by score; orange diamonds: candidates drawn at random from the same scored pool."));
        blocks.Add(new TableBlock(["candidate", "role", "score rank", "score", "parameters", "status", "test accuracy", "accuracy from"],
            rows.Select(r => (IReadOnlyList<Cell>)[r.Row.CandidateId, r.Row.Role == SelectionRole.Top ? "top" : "control", Count(r.Row.ScoreRank),
                Num(r.Row.Score, "0.00"), Count(r.Row.Parameters), CsvFormat.Word(r.Row.Status) + (r.Row.Reason.Length > 0 ? $": {r.Row.Reason}" : ""),
                Percent(r.Accuracy.Value), r.Accuracy.Source]).ToList()));
        return new ReportSection(id, title, blocks);
    }

    // how far one test accuracy can move by the draw of the test images: the 95 % interval's half-width at the mean
    private string Noise(IEnumerable<double> accuracies)
    {
        double[] a = [.. accuracies];
        int? n = inputs.Training?.Select(t => t.TestCount).FirstOrDefault(c => c is > 0);
        if (a.Length == 0 || RankStatistics.Wilson95(a.Average(), n) is not { } ci) return "";
        return $" Each accuracy is over {Count(n)} test images: its 95 % interval is about ±{Num((ci.High - ci.Low) * 50, "0.0")} points, " +
            "so differences of that size may be the draw of the test images rather than the networks.";
    }

    /// <summary>A selected candidate's test accuracy: selection.csv, else its train folder's checkpoint.json.</summary>
    private (double? Value, string Source) Accuracy(SelectionRow s)
    {
        if (s.AccuracyTop1 is { } a) return (a, "selection.csv");
        if (inputs.Training?.FirstOrDefault(t => t.CandidateId == s.CandidateId)?.TestAccuracy is { } t) return (t, "train/" + s.CandidateId);
        return (null, "");
    }

    private ReportSection Search()
    {
        const string id = "search", title = "Search: score distribution per kernel set";
        if (inputs.Candidates is not { } candidates)
            return ReportSection.Absent(id, title, $"No search/candidates.csv in the run folder: run `spikernel search --out {Run}/search`.");
        List<CandidateRow> scored = candidates.Where(c => c.Status == CandidateStatus.Scored && c.Score is { } s && double.IsFinite(s)).ToList();
        if (scored.Count == 0) return ReportSection.Absent(id, title, "search/candidates.csv has no scored candidate.");
        var sets = scored.GroupBy(c => c.KernelSetName.Length > 0 ? $"{c.KernelSetName} {{{c.Kernels}}}" : $"{{{c.Kernels}}}")
            .OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => (g.Key, g.Select(c => c.Score!.Value).ToArray())).ToList();
        int failed = candidates.Count(c => c.Status == CandidateStatus.Failed), over = candidates.Count(c => c.Status == CandidateStatus.OverBudget);
        CandidateRow best = scored.OrderBy(c => c.Rank ?? int.MaxValue).First();
        return new ReportSection(id, title,
        [
            new FigureBlock("Score per kernel set", ReportPlots.Svg(ReportPlots.ScoreDistribution(sets)),
                $"{Plural(scored.Count, "scored candidate")} ({failed} failed, {over} over the parameter budget). Boxes: quartiles and median; whiskers: lowest and highest."),
            new TableBlock(["kernel set", "scored", "median score", "best score"],
                sets.Select(s => (IReadOnlyList<Cell>)[s.Key, Int(s.Item2.Length), Num(ReportPlots.Quantile([.. s.Item2.Order()], 0.5), "0.00"), Num(s.Item2.Max(), "0.00")]).ToList()),
            new TextBlock($"Best by score: {best.CandidateId} ({best.Kernels}, {Count(best.Parameters)} parameters, score {Num(best.Score, "0.00")})."),
        ]);
    }

    private ReportSection KernelStudy()
    {
        const string id = "kernel-study", title = "Kernel-size study";
        if (inputs.KernelStudy is not { Count: > 0 } all)
            return ReportSection.Absent(id, title, inputs.KernelStudy is null
                ? $"No kernel-study/kernel-study.csv in the run folder: run `spikernel explore-kernels --out {Run}/kernel-study`."
                : "kernel-study/kernel-study.csv has no rows: no kernel size was studied.");
        List<KernelStudyPoint> points = all.Where(p => p.Status == KernelStudyStatus.Trained).ToList();
        string diverged = string.Concat(all.Where(p => p.Status == KernelStudyStatus.Diverged).OrderBy(p => p.Kernel)
            .Select(p => $" k={Int(p.Kernel)} is left out of the proposals: {p.Reason}"));
        if (points.Count == 0) return new ReportSection(id, title, [new TextBlock("No kernel size trained." + diverged)]);
        KernelStudyPoint best = points.MaxBy(p => p.Accuracy)!;
        bool validation = points.All(p => p.ValAccuracy is not null);
        return new ReportSection(id, title,
        [
            new FigureBlock("Accuracy vs kernel size", ReportPlots.Svg(ReportPlots.AccuracyByKernel(points)),
                $"The same cell with every convolution k×k, trained briefly; most accurate k={best.Kernel}: {Percent(best.Accuracy)}."),
            new FigureBlock("Accuracy vs parameters (kernel study)", ReportPlots.Svg(ReportPlots.AccuracyByParameters(points)),
                "What each kernel size costs in weights for the accuracy it reaches. The proposed sets (kernel-study/proposed-sets.txt) were chosen on " +
                (validation ? "the validation accuracy, not the test accuracy that judges the searched networks." : "the test accuracy: the study's training held no validation split.") +
                StudyNoise(points, validation) + diverged),
            new TableBlock(["k", "parameters", "MACs", "validation accuracy", "test accuracy", "train s"],
                points.OrderBy(p => p.Kernel).Select(p => (IReadOnlyList<Cell>)[Int(p.Kernel), Count(p.Parameters), Count(p.Macs), Percent(p.ValAccuracy), Percent(p.Accuracy), Num(p.TrainSeconds, "0.0")]).ToList()),
        ]);
    }

    // how far the accuracies the sets were chosen on can move by the draw of the images, and whether the two best sizes
    // (what most-accurate and within-1pt turn on) differ clearly, by the test rank uses
    private static string StudyNoise(IReadOnlyList<KernelStudyPoint> points, bool validation)
    {
        var chosen = points.Select(p => (p.Kernel, Accuracy: validation ? p.ValAccuracy!.Value : p.Accuracy, N: validation ? p.ValSamples : p.TestSamples,
                Paired: validation ? p.ValPairedP : null))
            .OrderByDescending(p => p.Accuracy).ToList();
        // image by image where the study recorded each size's answers (the same validation images), else the two counts
        if (chosen.Count < 2 || RankStatistics.Wilson95(chosen[0].Accuracy, chosen[0].N) is not { } ci
            || (chosen[1].Paired ?? RankStatistics.DifferenceP(chosen[0].Accuracy, chosen[0].N, chosen[1].Accuracy, chosen[1].N)) is not { } p) return "";
        string images = validation ? "validation images" : "test images";
        string pair = $"k={Int(chosen[0].Kernel)} and k={Int(chosen[1].Kernel)}";
        string pText = RankStatistics.PText(p) + (chosen[1].Paired is null ? ", two-proportion z-test" : ", McNemar's test on the images both answered");
        return $" On {Count(chosen[0].N)} {images} one accuracy is uncertain by about ±{Num((ci.High - ci.Low) * 50, "0.0")} points (95 %, the grey bars); " +
            (p >= 0.05
                ? $"the two best sizes, {pair}, are no clear difference ({pText}): the proposals turn on a few images, and more of them would settle them (kernel_study.validation_images, or a larger validation fraction)."
                : $"the two best sizes, {pair}, differ clearly ({pText}).");
    }

    private ReportSection Training()
    {
        const string id = "training", title = "Training curves";
        if (inputs.Training is not { } curves)
            return ReportSection.Absent(id, title, $"No train/<candidate_id>/metrics.csv in the run folder: run `spikernel train --out {Run}/train/<candidate_id>`.");
        static IReadOnlyList<XY> Of(TrainCurve c, Func<EpochMetrics, double> y) =>
            c.Epochs.Where(e => double.IsFinite(y(e))).Select(e => new XY(e.Epoch, y(e))).ToList();
        // one colour per candidate; validation dashed beside its training line
        bool HasVal(TrainCurve c) => c.Epochs.Any(e => double.IsFinite(e.ValAccuracy));
        string[] blind = [.. curves.Where(c => c.Epochs.Count == 0).Select(c => c.CandidateId)];
        TextBlock[] gaps = blind.Length == 0 ? [] :
            [new TextBlock($"No epochs to draw for {string.Join(", ", blind)}: train/<candidate_id>/metrics.csv is missing or empty, though the training finished (its checkpoint.json holds the test accuracy below).")];
        TrainCurve[] drawn = [.. curves.Where(c => c.Epochs.Count > 0)];
        var loss = drawn.SelectMany((c, i) => new[] { (c.CandidateId + " train", i, false, Of(c, e => e.TrainLoss)) }
            .Concat(HasVal(c) ? [(c.CandidateId + " validation", i, true, Of(c, e => e.ValLoss))] : [])).ToList();
        var acc = drawn.SelectMany((c, i) => new[] { (c.CandidateId + " train", i, false, Of(c, e => e.TrainAccuracy * 100)) }
            .Concat(HasVal(c) ? [(c.CandidateId + " validation", i, true, Of(c, e => e.ValAccuracy * 100))] : [])).ToList();
        return new ReportSection(id, title,
        [
            new FigureBlock("Training loss per epoch", ReportPlots.Svg(ReportPlots.Curves("Training loss per epoch", "cross-entropy (nats)", loss)),
                $"{Plural(curves.Count, "trained candidate")} (train/<candidate_id>/metrics.csv); validation as a thin line with open markers, in its candidate's colour."),
            new FigureBlock("Accuracy per epoch", ReportPlots.Svg(ReportPlots.Curves("Accuracy per epoch", "top-1 accuracy (%)", acc)),
                "Training accuracy as the batches were seen (train mode); validation accuracy where the run held a validation split."),
            new TableBlock(["candidate", "epochs", "last train loss", "last train accuracy", "test accuracy", "training s"],
                curves.Select(c => (IReadOnlyList<Cell>)[c.CandidateId, Int(c.Epochs.Count), Num(c.Epochs.LastOrDefault()?.TrainLoss, "0.0000"),
                    Percent(c.Epochs.LastOrDefault()?.TrainAccuracy), Percent(c.TestAccuracy), Num(c.Epochs.Sum(e => e.Seconds), "0.0")]).ToList()),
            .. gaps,
        ]);
    }
}
