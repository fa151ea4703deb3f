namespace SpiKernel.Pipeline.Training;

/// <summary>Architecture text given on the command line or in a file (e.g. a run's architecture.txt or a search's top/*.arch.txt).</summary>
internal static class ArchitectureFile
{
    /// <summary>The file's text when <paramref name="textOrPath"/> names an existing file, else the text itself; trimmed.</summary>
    public static string ReadOrText(string textOrPath)
    {
        ArgumentNullException.ThrowIfNull(textOrPath);
        if (File.Exists(textOrPath))
        {
            byte[] bytes = File.ReadAllBytes(textOrPath);
            bool marked = bytes is [0xEF, 0xBB, 0xBF, ..] or [0xFF, 0xFE, ..] or [0xFE, 0xFF, ..]; // a byte-order mark: text (UTF-16 holds NULs)
            if (!marked && Array.IndexOf(bytes, (byte)0) >= 0)
                throw new SpiKernel.Core.SettingsException($"--arch {textOrPath}: a binary file, not architecture text (give an architecture.txt, a search's top/*.arch.txt or key=value text).");
            using var reader = new StreamReader(new MemoryStream(bytes), System.Text.Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
            string read = reader.ReadToEnd().Trim();
            return read.Length > 0 ? read : throw new SpiKernel.Core.SettingsException($"--arch {textOrPath}: the architecture file is empty.");
        }
        string text = textOrPath.Trim();
        if (text.Length == 0) throw new SpiKernel.Core.SettingsException("--arch: the architecture text is empty.");
        if (Directory.Exists(textOrPath))
            throw new SpiKernel.Core.SettingsException($"--arch {textOrPath}: a folder; give its architecture.txt (a training folder's) or a search's top/*.arch.txt.");
        // no key=value in it: meant as a file
        if (!text.Contains('=', StringComparison.Ordinal))
            throw new SpiKernel.Core.SettingsException($"--arch {textOrPath}: no such file (and not architecture text, which is key=value words).");
        return text;
    }
}
