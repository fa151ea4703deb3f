using System.CommandLine;
using System.Globalization;
using SpiKernel.Pipeline;
using SpiKernel.Pipeline.Ranking;
using SpiKernel.Pipeline.Stages;
using Spectre.Console;

namespace SpiKernel.Cli;

/// <summary><c>spikernel rank</c>: parses, calls <see cref="RankStage"/>, prints the ranking and one recommendation per profile.</summary>
internal static class RankCommand
{
    // rows printed per profile × batch size (ranking.csv holds every row)
    private const int Shown = 10;

    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var results = new Argument<string[]>("results") { Description = "Results CSVs of spikernel evaluate (several merge).", Arity = ArgumentArity.OneOrMore };
        var output = new Option<string>("--out") { Description = "The ranking CSV to write.", DefaultValueFactory = _ => "ranking.csv" };
        var candidates = new Option<string?>("--candidates") { Description = "A search's candidates.csv (joined by candidate_id: the score column)." };
        var predictor = new Option<string?>("--predictor") { Description = "A latency predictor zip (spikernel predictor train): scored candidates of --candidates not measured on its profiles get a predicted latency_p50_ms, marked predicted." };
        var layout = new Option<string>("--predict-layout") { Description = "With --predictor: the timestep layout to predict for, that of the measured files (batched, the export default, or step, what run exports).", DefaultValueFactory = _ => "batched" };
        var constraints = new Option<string[]>("--constraint") { Description = "COLUMN<=VALUE[@PROFILE[/BATCH]], e.g. latency_p95_ms<=2@edge, parameters<=1M, accuracy_top1>=0.88 (repeat for several).", DefaultValueFactory = _ => [] };
        var objectives = new Option<string[]>("--objective") { Description = "COLUMN:max or COLUMN:min, most important first (default accuracy_top1:max, latency_p50_ms:min, parameters:min).", DefaultValueFactory = _ => [] };
        var cmd = new Command("rank", "Hardware-aware ranking of measured models: constraints, Pareto fronts per profile and batch size, one recommendation per profile.");
        cmd.Arguments.Add(results);
        foreach (Option o in new Option[] { output, candidates, predictor, layout, constraints, objectives })
            cmd.Options.Add(o);

        cmd.SetAction(r => CommandRunner.Run(cancel =>
        {
            Parse.OnlyWhere(r, layout, r.GetValue(predictor) is not null, "with --predictor");
            string[] given = r.GetValue(objectives)!;
            var options = new RankStageOptions(r.GetValue(results)!, r.GetValue(output)!,
                r.GetValue(constraints)!.Select(Constraint.Parse).ToArray(),
                given.Length == 0 ? Objective.Defaults : given.Select(Objective.Parse).ToArray(), r.GetValue(candidates), r.GetValue(predictor),
                SettingWords.Parse("--predict-layout", r.GetValue(layout), SettingWords.Layouts));
            RankStageResult result = new RankStage().Run(options, SpiKernel.Core.NullProgress.Instance, cancel);

            static string N(double? v, string f) => v?.ToString(f, CultureInfo.InvariantCulture) ?? "";
            var table = new Table().AddColumns("profile", "batch", "pos", "front", "model", "precision", "top-1", "p50 ms", "p95 ms", "parameters", "status");
            var more = new List<string>();
            // the first rows of each profile × batch size, and its recommendation wherever it stands: ranking.csv has them all
            foreach (IGrouping<(string, int), RankingRow> g in result.Rows.Where(x => x.Status != RankStatus.Unmeasured).GroupBy(x => (x.Profile, x.BatchSize)))
            {
                RankingRow[] shown = [.. g.Where((x, i) => i < Shown || x.Recommended)];
                foreach (RankingRow row in shown)
                    table.AddRow(Markup.Escape(row.Profile), row.BatchSize.ToString(CultureInfo.InvariantCulture), row.Position?.ToString(CultureInfo.InvariantCulture) ?? "",
                        row.Front?.ToString(CultureInfo.InvariantCulture) ?? "", Markup.Escape(row.Model) + (row.Recommended ? " [green]★[/]" : ""), Markup.Escape(row.Precision),
                        N(row.AccuracyTop1, "P2"), N(row.LatencyP50Ms, "0.000") + (row.LatencySource == LatencySource.Predicted ? " (predicted)" : ""), N(row.LatencyP95Ms, "0.000"), N(row.Parameters, "N0"),
                        row.Status == RankStatus.Feasible ? "feasible" : $"[yellow]{Markup.Escape(row.Reason)}[/]");
                if (g.Count() > shown.Length) more.Add(string.Create(CultureInfo.InvariantCulture, $"{g.Count() - shown.Length} more on {g.Key.Item1} batch {g.Key.Item2}"));
            }
            IAnsiConsole console = CommandRunner.Out;
            console.Write(table);
            if (more.Count > 0) console.MarkupLine($"{Markup.Escape(result.OutputPath)} has every row: {Markup.Escape(string.Join(", ", more))}");
            // per profile: a few by name, the rest counted (a predictor's candidates are unmeasured on every profile it lacks)
            foreach (IGrouping<string, RankingRow> g in result.Rows.Where(x => x.Status == RankStatus.Unmeasured).GroupBy(x => x.Profile))
            {
                foreach (RankingRow row in g.Take(Shown / 3))
                    console.MarkupLine($"[yellow]unmeasured[/] {Markup.Escape(row.Model)} on {Markup.Escape(row.Profile)}: {Markup.Escape(row.Reason)}");
                if (g.Count() > Shown / 3) console.MarkupLine($"[yellow]unmeasured[/] on {Markup.Escape(g.Key)}: {g.Count() - Shown / 3} more models");
            }
            foreach (Recommendation rec in result.Recommendations)
                console.MarkupLine($"[bold]{Markup.Escape(rec.Profile)}[/]: {Markup.Escape(rec.Why)}");
            console.MarkupLine($"wrote [bold]{Markup.Escape(result.OutputPath)}[/] ({result.Rows.Count} rows)");
            return result.Recommendations.Any(x => x.Row is not null) ? ExitCodes.Ok : CommandRunner.Fail(result.Recommendations.Count == 0 ? "nothing to recommend"
                : $"no recommendation on any profile; {result.Recommendations[0].Profile}: {result.Recommendations[0].Why}", ExitCodes.InputError);
        }));
        return cmd;
    }
}
