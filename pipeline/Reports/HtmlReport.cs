using System.Net;
using System.Text;
using System.Text.RegularExpressions;

namespace SpiKernel.Pipeline.Reports;

/// <summary>
/// Renders a <see cref="ReportDocument"/> as one self-contained HTML file: inline CSS, plots inline as SVG, no
/// scripts, no fonts or images to fetch — opening it makes no network request. Every text from the run folder is
/// HTML-encoded.
/// </summary>
internal static partial class HtmlReport
{
    private const string Css = """
        :root { color-scheme: light; }
        body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; margin: 0; background: #f4f5f7; color: #1d2330; line-height: 1.45; }
        main { max-width: 1040px; margin: 0 auto; padding: 24px 20px 48px; }
        h1 { font-size: 1.8em; margin: 0.2em 0 0.1em; }
        .about { color: #4a5263; margin: 0 0 1em; }
        nav { background: #fff; border: 1px solid #dde1e8; border-radius: 8px; padding: 10px 14px; margin-bottom: 18px; }
        nav a { margin-right: 14px; white-space: nowrap; }
        section { background: #fff; border: 1px solid #dde1e8; border-radius: 8px; padding: 6px 20px 14px; margin: 0 0 18px; }
        h2 { font-size: 1.3em; border-bottom: 2px solid #2f6fdf; padding-bottom: 4px; }
        a { color: #1f5fbf; }
        .note { background: #fff7e0; border-left: 4px solid #e0a800; padding: 8px 12px; color: #5a4600; }
        table { border-collapse: collapse; margin: 8px 0 14px; font-size: 0.92em; }
        th, td { border: 1px solid #dde1e8; padding: 4px 8px; text-align: left; vertical-align: top; }
        th { background: #eef1f6; }
        tr:nth-child(even) td { background: #f8f9fb; }
        figure { margin: 10px 0 18px; }
        figure svg { display: block; max-width: 100%; height: auto; border: 1px solid #eceef2; }
        figcaption { color: #4a5263; font-size: 0.92em; margin-top: 4px; }
        pre { background: #1d2330; color: #e8ebf1; padding: 10px 12px; border-radius: 6px; overflow-x: auto; font-size: 0.85em; }
        """;

    /// <summary>The HTML text.</summary>
    public static string Render(ReportDocument doc)
    {
        ArgumentNullException.ThrowIfNull(doc);
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        html.Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        html.Append("<title>").Append(E(doc.Title)).Append("</title>\n<style>\n").Append(Css).Append("\n</style>\n</head>\n<body>\n<main>\n");
        html.Append("<h1>").Append(E(doc.Title)).Append("</h1>\n<p class=\"about\">");
        html.Append(string.Join("<br>\n", doc.About.Select(E))).Append("</p>\n<nav>");
        foreach (ReportSection s in doc.Sections) html.Append("<a href=\"#").Append(E(s.Id)).Append("\">").Append(E(s.Title)).Append("</a> ");
        html.Append("</nav>\n");
        int figure = 0;
        foreach (ReportSection section in doc.Sections)
        {
            html.Append("<section id=\"").Append(E(section.Id)).Append("\">\n<h2>").Append(E(section.Title)).Append("</h2>\n");
            foreach (ReportBlock block in section.Blocks) Block(html, block, ref figure);
            html.Append("</section>\n");
        }
        html.Append("</main>\n</body>\n</html>\n");
        return html.ToString();
    }

    private static void Block(StringBuilder html, ReportBlock block, ref int figure)
    {
        switch (block)
        {
            case TextBlock t:
                html.Append("<p>").Append(E(t.Text)).Append("</p>\n");
                break;
            case NoteBlock n:
                html.Append("<p class=\"note\">").Append(E(n.Text)).Append("</p>\n");
                break;
            case FigureBlock f:
                figure++;
                html.Append("<figure>\n").Append(InlineSvg(f.Svg, $"f{figure}-", f.Title)).Append("\n<figcaption><strong>")
                    .Append(E(f.Title)).Append(".</strong> ").Append(E(f.Caption)).Append("</figcaption>\n</figure>\n");
                break;
            case CodeBlock c:
                html.Append("<pre><code>").Append(E(c.Text.ReplaceLineEndings("\n").TrimEnd('\n'))).Append("</code></pre>\n");
                break;
            case TableBlock table:
                html.Append("<table>\n<thead><tr>").Append(string.Concat(table.Header.Select(h => $"<th>{E(h)}</th>"))).Append("</tr></thead>\n<tbody>\n");
                foreach (IReadOnlyList<Cell> row in table.Rows)
                    html.Append("<tr>").Append(string.Concat(row.Select(c => $"<td>{CellHtml(c)}</td>"))).Append("</tr>\n");
                html.Append("</tbody>\n</table>\n");
                break;
            default:
                throw new ArgumentException($"unknown block {block.GetType().Name}", nameof(block));
        }
    }

    private static string CellHtml(Cell c) => c.Link is null ? E(c.Text) : $"<a href=\"{E(c.Link)}\">{E(c.Text)}</a>";

    /// <summary>HTML-encodes <paramref name="text"/> (also quotes, so it is safe in attributes).</summary>
    public static string E(string text) => WebUtility.HtmlEncode(text);

    /// <summary>
    /// ScottPlot's SVG made fit to sit inside HTML: no XML declaration, no namespace URLs (the HTML parser puts
    /// &lt;svg&gt; in the SVG namespace itself), a viewBox so it scales, an accessible name, and its ids (clip paths)
    /// prefixed and renumbered in order of appearance so that several plots on one page never share an id and the
    /// same plot always gives the same bytes.
    /// </summary>
    internal static string InlineSvg(string svg, string prefix, string title)
    {
        string s = XmlDeclaration().Replace(svg, "").Trim();
        s = Namespace().Replace(s, "");
        if (s.Contains("<script", StringComparison.OrdinalIgnoreCase)) throw new InvalidOperationException("a plot's SVG holds a script");
        var ids = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (Match m in Id().Matches(s))
            ids.TryAdd(m.Groups[1].Value, $"{prefix}{ids.Count + 1}");
        foreach ((string old, string now) in ids.OrderByDescending(kv => kv.Key.Length))
        {
            s = s.Replace($"id=\"{old}\"", $"id=\"{now}\"", StringComparison.Ordinal)
                 .Replace($"#{old})", $"#{now})", StringComparison.Ordinal)
                 .Replace($"\"#{old}\"", $"\"#{now}\"", StringComparison.Ordinal);
        }
        Match size = Size().Match(s);
        string attrs = $" role=\"img\" aria-label=\"{E(title)}\"";
        if (size.Success) attrs += $" viewBox=\"0 0 {size.Groups[1].Value} {size.Groups[2].Value}\"";
        int open = s.IndexOf("<svg", StringComparison.Ordinal);
        return open < 0 ? throw new InvalidOperationException("a plot's SVG has no <svg> element") : s.Insert(open + 4, attrs);
    }

    [GeneratedRegex(@"<\?xml[^>]*\?>")]
    private static partial Regex XmlDeclaration();

    [GeneratedRegex(@"\s+xmlns(:\w+)?=""[^""]*""")]
    private static partial Regex Namespace();

    [GeneratedRegex(@"\bid=""([^""]+)""")]
    private static partial Regex Id();

    [GeneratedRegex(@"<svg[^>]*?\bwidth=""([\d.]+)""[^>]*?\bheight=""([\d.]+)""")]
    private static partial Regex Size();
}
