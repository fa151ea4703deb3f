namespace SpiKernel.Pipeline.Training;

/// <summary>Architecture text given on the command line or in a file (e.g. a run's architecture.txt or a search's top/*.arch.txt).</summary>
public static class ArchitectureFile
{
    /// <summary>The file's text when <paramref name="textOrPath"/> names an existing file, else the text itself; trimmed.</summary>
    public static string ReadOrText(string textOrPath)
    {
        ArgumentNullException.ThrowIfNull(textOrPath);
        string text = File.Exists(textOrPath) ? File.ReadAllText(textOrPath).Trim() : textOrPath.Trim();
        if (text.Length == 0) throw new SpiKernel.Core.SettingsException($"--arch {textOrPath}: the architecture text is empty.");
        return text;
    }
}
