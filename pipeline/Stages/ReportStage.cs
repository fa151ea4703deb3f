using System.Globalization;
using System.Security.Cryptography;
using SpiKernel.Core;
using SpiKernel.Pipeline.Reports;
using SpiKernel.Pipeline.Run;

namespace SpiKernel.Pipeline.Stages;

/// <summary>Settings of <see cref="ReportStage"/>.</summary>
/// <param name="RunDirectory">The run folder to report on (<see cref="RunLayout"/>); any subset of its files will do.</param>
/// <param name="MarkdownPath">Where report.md goes; default: in the run folder.</param>
/// <param name="HtmlPath">Where report.html goes; default: in the run folder.</param>
/// <param name="CommandLine">The command or configuration text that made the run, shown in the report (run.json is shown when present).</param>
public sealed record ReportStageOptions(string RunDirectory, string? MarkdownPath = null, string? HtmlPath = null, string? CommandLine = null)
{
    /// <summary>The Markdown file written.</summary>
    public string Markdown => Path.GetFullPath(MarkdownPath ?? new RunLayout(RunDirectory).ReportMarkdown);

    /// <summary>The HTML file written.</summary>
    public string Html => Path.GetFullPath(HtmlPath ?? new RunLayout(RunDirectory).ReportHtml);
}

/// <summary>What <see cref="ReportStage"/> wrote.</summary>
/// <param name="MarkdownPath">report.md.</param>
/// <param name="HtmlPath">report.html.</param>
/// <param name="Present">Ids of the sections drawn from their inputs.</param>
/// <param name="Missing">Each section whose inputs are missing, with the note the report shows (id: note).</param>
public sealed record ReportStageResult(string MarkdownPath, string HtmlPath, IReadOnlyList<string> Present, IReadOnlyList<string> Missing);

/// <summary>
/// The last stage: <c>report.md</c> and one self-contained <c>report.html</c> (inline CSS, plots as inline SVG, no
/// network request) from whatever the run folder holds — a full <c>spikernel run</c>, or only the results.csv and
/// ranking.csv of <c>evaluate</c> and <c>rank</c>. Same inputs, same bytes, except the one "generated" line.
/// </summary>
public sealed class ReportStage : IStage<ReportStageOptions, ReportStageResult>
{
    /// <inheritdoc />
    public string Name => "report";

    /// <inheritdoc />
    public bool IsComplete(ReportStageOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return File.Exists(options.Markdown) && File.Exists(options.Html) && Directory.Exists(options.RunDirectory)
            && StageMarker.Matches(Folder(options), Name, Identity(options));
    }

    /// <inheritdoc />
    public ReportStageResult Run(ReportStageOptions options, IProgressObserver progress, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(progress);
        var layout = new RunLayout(Path.GetFullPath(options.RunDirectory));
        ReportInputs inputs = ReportInputs.Read(layout);
        cancel.ThrowIfCancellationRequested();
        // --out names a folder for both files: created like every run folder
        OutputFolder.EnsureWritableFile(options.Markdown, createFolder: true);
        OutputFolder.EnsureWritableFile(options.Html, createFolder: true);

        // every number the invariant way, the plots' tick labels included
        IReadOnlyList<ReportSection> sections = InvariantScope.Run(() => new ReportBuilder(inputs, Path.GetDirectoryName(options.Html)!, options.CommandLine).Sections());
        cancel.ThrowIfCancellationRequested();
        var doc = new ReportDocument($"SpiKernel report: {Path.GetFileName(layout.Root.TrimEnd(Path.DirectorySeparatorChar))}",
        [
            $"Run folder: {layout.Root}",
            $"spikernel {ToolInfo.Version}",
            $"Generated {DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)} UTC",
        ], sections);
        AtomicFile.WriteAllText(options.Markdown, MarkdownReport.Render(doc));
        AtomicFile.WriteAllText(options.Html, HtmlReport.Render(doc));
        foreach (ReportSection s in sections.Where(s => s.Missing is not null)) progress.Note($"{s.Title}: {s.Missing}");
        StageMarker.Write(Folder(options), Name, Identity(options));
        return new ReportStageResult(options.Markdown, options.Html,
            [.. sections.Where(s => s.Missing is null).Select(s => s.Id)], [.. sections.Where(s => s.Missing is not null).Select(s => $"{s.Id}: {s.Missing}")]);
    }

    private static string Folder(ReportStageOptions o) => Path.GetDirectoryName(o.Html)!;

    /// <summary>The output paths and a hash of every input file, so a changed input makes the report incomplete.</summary>
    private static string Identity(ReportStageOptions o)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (string file in ReportInputs.Files(new RunLayout(Path.GetFullPath(o.RunDirectory))))
        {
            sha.AppendData(System.Text.Encoding.UTF8.GetBytes(file + "\n"));
            sha.AppendData(File.ReadAllBytes(file));
        }
        return $"run={Path.GetFullPath(o.RunDirectory)} md={o.Markdown} html={o.Html} command={o.CommandLine} inputs={Convert.ToHexString(sha.GetHashAndReset())[..16]}";
    }
}
