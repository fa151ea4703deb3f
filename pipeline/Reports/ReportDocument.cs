namespace SpiKernel.Pipeline.Reports;

/// <summary>One piece of a report section; rendered to Markdown by <see cref="MarkdownReport"/> and to HTML by <see cref="HtmlReport"/>.</summary>
internal abstract record ReportBlock;

/// <summary>Plain text (escaped by each renderer).</summary>
/// <param name="Text">The sentence(s).</param>
internal sealed record TextBlock(string Text) : ReportBlock;

/// <summary>A line saying what input is missing and which command makes it.</summary>
/// <param name="Text">The note.</param>
internal sealed record NoteBlock(string Text) : ReportBlock;

/// <summary>A table cell: text, optionally a relative link.</summary>
/// <param name="Text">Shown text.</param>
/// <param name="Link">Relative link target (a path with forward slashes), or null.</param>
internal sealed record Cell(string Text, string? Link = null)
{
    /// <summary>A plain cell.</summary>
    public static implicit operator Cell(string text) => new(text);
}

/// <summary>A table with a header row.</summary>
/// <param name="Header">Column titles.</param>
/// <param name="Rows">Rows of cells, each as long as the header.</param>
internal sealed record TableBlock(IReadOnlyList<string> Header, IReadOnlyList<IReadOnlyList<Cell>> Rows) : ReportBlock;

/// <summary>A plot: inline SVG in HTML, its caption (the numbers a reader needs) in Markdown.</summary>
/// <param name="Title">What the plot shows.</param>
/// <param name="Svg">The SVG document (ScottPlot's output; <see cref="HtmlReport"/> makes it safe to inline).</param>
/// <param name="Caption">One or two sentences under the plot.</param>
internal sealed record FigureBlock(string Title, string Svg, string Caption) : ReportBlock;

/// <summary>Verbatim text (code, configuration).</summary>
/// <param name="Language">Markdown fence language (csharp, json, text).</param>
/// <param name="Text">The code.</param>
internal sealed record CodeBlock(string Language, string Text) : ReportBlock;

/// <summary>One section of the report.</summary>
/// <param name="Id">Anchor (lower-case, dashes).</param>
/// <param name="Title">Heading.</param>
/// <param name="Blocks">Content.</param>
/// <param name="Missing">The note when the section's inputs are not in the run folder (the section then holds only that note).</param>
internal sealed record ReportSection(string Id, string Title, IReadOnlyList<ReportBlock> Blocks, string? Missing = null)
{
    /// <summary>A section whose inputs are missing: only the note.</summary>
    public static ReportSection Absent(string id, string title, string note) => new(id, title, [new NoteBlock(note)], note);
}

/// <summary>A whole report: title, a few lines about the run, the sections in reading order.</summary>
/// <param name="Title">Document title.</param>
/// <param name="About">Lines under the title (run folder, tool version, the generated-at line).</param>
/// <param name="Sections">Sections.</param>
internal sealed record ReportDocument(string Title, IReadOnlyList<string> About, IReadOnlyList<ReportSection> Sections);
