namespace SpiKernel.Pipeline.Data;

/// <summary>A data file or folder that cannot be read; the message names the path and the problem in one sentence.</summary>
public sealed class DataFormatException : IOException
{
    /// <summary>Creates the exception for <paramref name="path"/>.</summary>
    public DataFormatException(string path, string problem, Exception? inner = null)
        : base($"{path}: {problem}", inner)
    {
        Path = path;
        Problem = problem;
    }

    /// <summary>The offending file or folder.</summary>
    public string Path { get; }

    /// <summary>What is wrong with it.</summary>
    public string Problem { get; }
}
