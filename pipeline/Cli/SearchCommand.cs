using System.CommandLine;
using System.Globalization;
using SpiKernel.Models.Architecture;
using SpiKernel.Models.Search;
using SpiKernel.Pipeline.Data;
using SpiKernel.Pipeline.Search;
using SpiKernel.Pipeline.Training;
using Spectre.Console;

namespace SpiKernel.Pipeline.Cli;

/// <summary><c>spikernel search</c>: SpiKernel step 3, the training-free search under a parameter budget.</summary>
public static class SearchCommand
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
        var outDir = new Option<string>("--out") { Description = "Output folder: candidates.csv, top/*.arch.txt, search.txt.", DefaultValueFactory = _ => "runs/search" };

        var cmd = new Command("search", "Training-free architecture search (SAHD score) over kernel-size sets under a parameter budget.");
        archOptions.AddTo(cmd);
        foreach (Option o in new Option[] { kernels, cellKind, candidates, budget, batch, repeat, top, seed, data, threads, outDir })
            cmd.Options.Add(o);

        cmd.SetAction(r => CommandRunner.Run(cancel =>
        {
            SnnArchitecture template = archOptions.Resolve(r, out bool explicitShape);
            var sets = new List<(string Name, KernelSet Set)>();
            foreach (string k in r.GetValue(kernels)!)
            {
                if (k.StartsWith('@')) sets.AddRange(KernelStudy.ParseFile(k[1..]));
                else sets.Add((KernelSets.Named.FirstOrDefault(n => n.Name.Equals(k, StringComparison.OrdinalIgnoreCase)).Name ?? k, KernelSets.Resolve(k)));
            }
            CellKind kind = r.GetValue(cellKind)?.ToLowerInvariant() switch
            {
                "forward" => CellKind.Forward,
                "backward" => CellKind.Backward,
                var other => throw new UsageException($"--cell must be forward or backward (got '{other}')."),
            };
            var options = new SearchOptions(sets, kind, r.GetValue(candidates), ParseCount(r.GetValue(budget)!), r.GetValue(batch),
                r.GetValue(repeat), r.GetValue(top), r.GetValue(seed));
            SearchRunner.Validate(template, options);
            string output = r.GetValue(outDir)!;
            TrainCommand.CheckWritable(output);
            int t = r.GetValue(threads);
            TorchSharp.torch.set_num_threads(t > 0 ? t : Environment.ProcessorCount);

            DataSplit split = DatasetCatalog.Load(r.GetValue(data));
            template = ArchitectureOptions.FitToData(template, explicitShape, split.Train);

            SearchResult result = ProgressDisplay.Create()
                .Start(ctx => SearchRunner.Run(template, split.Train, options, output, new Observer(ctx), cancel));

            IAnsiConsole console = CommandRunner.Out;
            var table = new Table().AddColumns("kernel set", "scored", "failed", "over budget", "best score", "best cell", "parameters");
            foreach (IGrouping<string, CandidateRow> g in result.Rows.GroupBy(x => x.KernelSetName))
            {
                CandidateRow? best = g.Where(x => x.Rank is not null).MinBy(x => x.Rank);
                table.AddRow(Markup.Escape(g.Key), $"{g.Count(x => x.Status == CandidateStatus.Scored)}", $"{g.Count(x => x.Status == CandidateStatus.Failed)}",
                    $"{g.Count(x => x.Status == CandidateStatus.OverBudget)}", best?.Score?.ToString("F3", CultureInfo.InvariantCulture) ?? "—",
                    best?.Cell ?? "—", best?.Parameters.ToString("N0", CultureInfo.InvariantCulture) ?? "—");
            }
            console.Write(table);
            string summary = $"search: {result.Rows.Count} unique candidates ({result.Duplicates} duplicates skipped) in {result.Seconds:F1} s, " +
                             $"{result.Rows.Count(x => x.Status == CandidateStatus.Scored) / Math.Max(result.Seconds, 1e-9):F2} scored candidates/s";
            if (result.Exhausted is { Count: > 0 } few)
                summary += $"; fewer distinct cells than asked: {string.Join("; ", few)}";
            File.WriteAllText(Path.Combine(output, "search.txt"), summary + Environment.NewLine);
            console.WriteLine(summary);
            console.MarkupLine($"wrote {Markup.Escape(Path.Combine(output, SearchRunner.CandidatesFile))} and {Markup.Escape(Path.Combine(output, "top"))}/ (train one with: spikernel train --arch FILE)");
            return ExitCodes.Ok;
        }, interrupted: "interrupted; the candidates scored so far are in candidates.csv (unranked)"));
        return cmd;
    }

    /// <summary>"10M", "500K", "1.5M" or a plain integer.</summary>
    internal static long ParseCount(string text)
    {
        string t = text.Trim();
        double scale = 1;
        if (t.EndsWith('M') || t.EndsWith('m')) { scale = 1e6; t = t[..^1]; }
        else if (t.EndsWith('K') || t.EndsWith('k')) { scale = 1e3; t = t[..^1]; }
        if (!double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !(v > 0) || double.IsInfinity(v))
            throw new UsageException($"--budget-params must be a positive count such as 10M, 500K or 1200000 (got '{text}').");
        return (long)Math.Round(v * scale);
    }

    private sealed class Observer(ProgressContext ctx) : ISearchObserver
    {
        private ProgressTask? _task;
        private int _scored;

        public void Started(int total) => _task = ctx.AddTask("search", maxValue: total);

        public void Candidate(CandidateRow row)
        {
            if (row.Status == CandidateStatus.Scored) _scored++;
            if (_task is null) return;
            _task.Increment(1);
            double rate = _scored / Math.Max(_task.ElapsedTime?.TotalSeconds ?? 1, 1e-9);
            _task.Description = $"search  {_scored} scored  {rate:F2} cand/s";
        }
    }
}
