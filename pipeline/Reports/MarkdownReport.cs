using System.Text;

namespace SpiKernel.Pipeline.Reports;

/// <summary>
/// Renders a <see cref="ReportDocument"/> as Markdown: text escaped so that names from CSV files cannot become markup,
/// tables as pipe tables, figures as their caption (the plots themselves are in report.html).
/// </summary>
internal static class MarkdownReport
{
    /// <summary>The Markdown text, lines ending in "\n".</summary>
    public static string Render(ReportDocument doc)
    {
        ArgumentNullException.ThrowIfNull(doc);
        var md = new StringBuilder();
        md.Append("# ").Append(Escape(doc.Title)).Append("\n\n");
        foreach (string line in doc.About) md.Append(Escape(line)).Append("  \n");
        md.Append('\n');
        md.Append("Contents: ").Append(string.Join(" · ", doc.Sections.Select(s => $"[{Escape(s.Title)}](#{s.Id})"))).Append("\n\n");
        foreach (ReportSection section in doc.Sections)
        {
            md.Append("<a id=\"").Append(section.Id).Append("\"></a>\n\n");
            md.Append("## ").Append(Escape(section.Title)).Append("\n\n");
            foreach (ReportBlock block in section.Blocks) Block(md, block);
        }
        return md.ToString();
    }

    private static void Block(StringBuilder md, ReportBlock block)
    {
        switch (block)
        {
            case TextBlock t:
                md.Append(Escape(t.Text)).Append("\n\n");
                break;
            case NoteBlock n:
                md.Append("> *").Append(Escape(n.Text)).Append("*\n\n");
                break;
            case FigureBlock f:
                md.Append("**").Append(Escape(f.Title)).Append("** (plot in report.html): ").Append(Escape(f.Caption)).Append("\n\n");
                break;
            case CodeBlock c:
                string fence = c.Text.Contains("```", StringComparison.Ordinal) ? "~~~~" : "```";
                md.Append(fence).Append(c.Language).Append('\n').Append(c.Text.ReplaceLineEndings("\n").TrimEnd('\n')).Append('\n').Append(fence).Append("\n\n");
                break;
            case TableBlock table:
                md.Append("| ").Append(string.Join(" | ", table.Header.Select(Escape))).Append(" |\n");
                md.Append('|').Append(string.Concat(table.Header.Select(_ => "---|"))).Append('\n');
                foreach (IReadOnlyList<Cell> row in table.Rows)
                    md.Append("| ").Append(string.Join(" | ", row.Select(CellText))).Append(" |\n");
                md.Append('\n');
                break;
            default:
                throw new ArgumentException($"unknown block {block.GetType().Name}", nameof(block));
        }
    }

    private static string CellText(Cell c) =>
        c.Link is null ? Escape(c.Text) : $"[{Escape(c.Text)}](<{c.Link.Replace("<", "%3C", StringComparison.Ordinal).Replace(">", "%3E", StringComparison.Ordinal)}>)";

    /// <summary>Backslash-escapes the characters that would start Markdown or HTML markup; line breaks become spaces.</summary>
    public static string Escape(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var sb = new StringBuilder(text.Length + 8);
        foreach (char ch in text.ReplaceLineEndings(" "))
        {
            if (ch is '\\' or '`' or '*' or '[' or ']' or '<' or '>' or '|' or '#' or '!') sb.Append('\\');
            sb.Append(ch);
        }
        return sb.ToString();
    }
}
