namespace SpiKernel.Core;

/// <summary>
/// A setting that cannot work — an option, an architecture, a kernel set, a configuration value — in one sentence
/// that names it and what is allowed. The CLI prints the message and exits with code 2. It derives from
/// <see cref="ArgumentException"/> because it is one: a bad argument of the caller, not a failure of ours.
/// </summary>
public sealed class SettingsException : ArgumentException
{
    /// <summary>Creates the exception.</summary>
    public SettingsException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }
}
