namespace SpiKernel.Cli;

/// <summary>The exit codes of <c>spikernel</c> (README, "Exit codes").</summary>
public static class ExitCodes
{
    /// <summary>Done.</summary>
    public const int Ok = 0;

    /// <summary>Unreadable input data, checkpoint or file; an output that cannot be written; failed measurements; a training that diverged.</summary>
    public const int InputError = 1;

    /// <summary>Bad command line or settings (unknown command or option, invalid architecture, impossible setting).</summary>
    public const int Usage = 2;

    /// <summary>An exported model does not compute what the checkpoint computes (export --verify).</summary>
    public const int VerificationFailed = 3;

    /// <summary>A bug: an exception the tool did not expect (sysexits' EX_SOFTWARE); the stack trace is in a file. Also a
    /// worker or isolated measurement process that was killed by a signal (a native crash, the OOM killer).</summary>
    public const int InternalError = 70;

    /// <summary>Interrupted (Ctrl+C); what was saved so far stays.</summary>
    public const int Cancelled = 130;
}
