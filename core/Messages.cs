namespace SpiKernel.Core;

/// <summary>Messages as the tool prints and records them.</summary>
public static class Messages
{
    /// <summary><paramref name="text"/> on one line: line breaks become spaces, the ends trimmed (a CSV cell, a stderr line).</summary>
    public static string OneLine(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.ReplaceLineEndings(" ").Trim();
    }
}
