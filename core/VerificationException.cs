namespace SpiKernel.Core;

/// <summary>An exported model does not compute what its checkpoint computes; the CLI exits with code 3.</summary>
public sealed class VerificationException(string message) : Exception(message);
