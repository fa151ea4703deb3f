using SpiKernel.Pipeline.Data;
using Spectre.Console;

namespace SpiKernel.Pipeline.Cli;

/// <summary>
/// Runs a command body and turns the failures a user can cause into one line on standard error and an exit
/// code (<see cref="ExitCodes"/>); anything else is a bug and keeps its stack trace.
/// </summary>
public static class CommandRunner
{
    /// <summary>Runs <paramref name="body"/>; <paramref name="interrupted"/> is the line printed on Ctrl+C.</summary>
    public static int Run(Func<CancellationToken, int> body,
        string interrupted = "interrupted; the last completed epoch's checkpoint is kept (resume with --resume)")
    {
        // Bound to the current standard output (tests redirect it); logs and pipes get full-width tables.
        AnsiConsole.Console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Out) });
        if (Console.IsOutputRedirected) AnsiConsole.Profile.Width = 160;
        using var cts = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true;
            cts.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        try
        {
            return body(cts.Token);
        }
        catch (Exception ex) when (ex is UsageException or ArgumentException or FormatException)
        {
            return Fail(ex.Message, ExitCodes.Usage);
        }
        catch (Exception ex) when (ex is DataFormatException or InvalidDataException or IOException
                                       or UnauthorizedAccessException or InvalidOperationException)
        {
            return Fail(ex.Message, ExitCodes.InputError);
        }
        catch (OperationCanceledException)
        {
            return Fail(interrupted, ExitCodes.Cancelled);
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }

    /// <summary>Writes "spikernel: message" as one line to standard error and returns <paramref name="code"/>.</summary>
    public static int Fail(string message, int code)
    {
        string line = message.ReplaceLineEndings(" ").Trim();
        Console.Error.WriteLine($"spikernel: {line}");
        return code;
    }

    /// <summary>The console for human-readable output (tables, progress) — standard output.</summary>
    public static IAnsiConsole Out => AnsiConsole.Console;
}
