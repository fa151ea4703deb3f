namespace SpiKernel.Pipeline.Cli;

/// <summary>A command line that asks for something impossible; printed as one line, exit code 2.</summary>
public sealed class UsageException(string message) : Exception(message);
