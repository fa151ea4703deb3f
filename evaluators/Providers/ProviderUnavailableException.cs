namespace SpiKernel.Evaluators.Providers;

/// <summary>An execution provider cannot run on this machine; the message is ONNX Runtime's reason.</summary>
internal sealed class ProviderUnavailableException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ProviderUnavailableException(string provider, string reason, Exception? inner = null) : base(reason, inner) => Provider = provider;

    /// <summary>Our name of the provider.</summary>
    public string Provider { get; }
}
