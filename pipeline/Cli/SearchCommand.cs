using SpiKernel.Pipeline;
using System.CommandLine;
using System.Globalization;
using SpiKernel.Models.Architecture;
using SpiKernel.Models.Search;
using SpiKernel.Pipeline.Search;
using SpiKernel.Pipeline.Stages;
using Spectre.Console;

namespace SpiKernel.Cli;

/// <summary><c>spikernel search</c>: parses, calls <see cref="SearchStage"/>, prints the best candidate per kernel set.</summary>
internal static class SearchCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var archOptions = new ArchitectureOptions(defaultPreset: "fmnist-small", cellOption: false);
        var kernels = new Option<string[]>("--kernels") { Description = "A kernel set (1,3,5), a shipped name (snasnet, k3, k135, k35, k357, k1357) or @FILE (proposed-sets.txt of explore-kernels); repeat to search several under the same budget and batches.", DefaultValueFactory = _ => ["snasnet"] };
        var cellKind = new Option<string>("--cell") { Description = "forward or backward cells.", DefaultValueFactory = _ => "backward" };
        var candidates = new Option<int>("--candidates") { Description = "Distinct candidates per kernel set (duplicate cells are drawn again).", DefaultValueFactory = _ => 200 };
        var budget = new Option<string>("--budget-params") { Description = "Parameter budget, e.g. 10M, 500K or 1200000.", DefaultValueFactory = _ => "10M" };
        var batch = new Option<int>("--batch") { Description = "Images per score batch.", DefaultValueFactory = _ => 64 };
        var repeat = new Option<int>("--repeat") { Description = "Score batches averaged.", DefaultValueFactory = _ => 2 };
        var top = new Option<int>("--top") { Description = "Architectures written to top/ per kernel set.", DefaultValueFactory = _ => 5 };
        var seed = new Option<int>("--seed") { Description = "Seed of sampling, batches and initial weights.", DefaultValueFactory = _ => 1 };
        var data = new Option<string?>("--data") { Description = "Training images for the score (default: as train)." };
        var threads = new Option<int>("--threads") { Description = "Torch threads (0: all cores).", DefaultValueFactory = _ => 0 };
        var predictor = new Option<string?>("--predictor") { Description = "A latency predictor (predictor train): scored candidates get predicted latencies in predicted-latency.csv." };
        var outDir = new Option<string>("--out") { Description = "Output folder: candidates.csv, top/*.arch.txt, search.txt.", DefaultValueFactory = _ => "runs/search" };
        var resume = new Option<bool>("--resume") { Description = "Continue the search in --out (same settings): candidates already scored in its candidates.csv are kept." };

        var cmd = new Command("search", "Training-free architecture search (SAHD score) over kernel-size sets under a parameter budget.");
        archOptions.AddTo(cmd);
        foreach (Option o in new Option[] { kernels, cellKind, candidates, budget, batch, repeat, top, seed, data, threads, predictor, outDir, resume })
            cmd.Options.Add(o);

        cmd.SetAction(r => CommandRunner.Run(cancel =>
        {
            SnnArchitecture template = archOptions.Resolve(r, out bool explicitShape);
            List<(string Name, KernelSet Set)> sets = Parse.KernelSets(r.GetValue(kernels)!);
            CellKind kind = SettingWords.Parse("--cell", r.GetValue(cellKind), SettingWords.Cells);
            var search = new SearchOptions(sets, kind, r.GetValue(candidates), Parse.Count("--budget-params", r.GetValue(budget)!), r.GetValue(batch),
                r.GetValue(repeat), r.GetValue(top), r.GetValue(seed));
            var options = new SearchStageOptions(template, search, r.GetValue(outDir)!, r.GetValue(data), explicitShape, r.GetValue(threads), r.GetValue(resume), r.GetValue(predictor));

            SearchStageResult result = ConsoleProgress.Run(p => new SearchStage().Run(options, p, cancel));
            var table = new Table().AddColumns("kernel set", "scored", "failed", "over budget", "best score", "best cell", "parameters", "candidate id");
            foreach (KernelSetSummary set in result.BySet)
            {
                CandidateRow? best = set.Best;
                table.AddRow(Markup.Escape(set.KernelSet), $"{set.Scored}", $"{set.Failed}", $"{set.OverBudget}", best?.Score?.ToString("F3", CultureInfo.InvariantCulture) ?? "—",
                    best?.Cell ?? "—", best?.Parameters.ToString("N0", CultureInfo.InvariantCulture) ?? "—", best?.CandidateId ?? "—");
            }
            IAnsiConsole console = CommandRunner.Out;
            console.Write(table);
            console.WriteLine(result.Summary);
            console.MarkupLine($"wrote {Markup.Escape(Path.Combine(options.OutputDirectory, SearchRunner.CandidatesFile))} and {Markup.Escape(Path.Combine(options.OutputDirectory, "top"))}/ (train one with: spikernel train --arch FILE)");
            return result.Search.Rows.Any(x => x.Status == CandidateStatus.Scored) ? ExitCodes.Ok
                : CommandRunner.Fail($"no candidate was scored ({result.BySet.Sum(s => s.OverBudget)} over the budget, {result.BySet.Sum(s => s.Failed)} failed; first: {result.Search.Rows.Select(x => x.Reason).FirstOrDefault()})", ExitCodes.InputError);
        }, interrupted: "interrupted; the candidates scored so far are in candidates.csv (unranked): continue with the same command and --resume"));
        return cmd;
    }
}
