using SpiKernel.Core;
using SpiKernel.Pipeline.ScaleOut;
using SpiKernel.Pipeline.Training;
using Spectre.Console;

namespace SpiKernel.Cli;

/// <summary>
/// Runs a command body and turns the failures a user can cause into one line on standard error and an exit code
/// (<see cref="ExitCodes"/>): <see cref="SettingsException"/> → 2; unreadable or unwritable files
/// (<see cref="InvalidDataException"/>, <see cref="IOException"/>, <see cref="UnauthorizedAccessException"/>) → 1;
/// <see cref="VerificationException"/> → 3; a training that diverged (<see cref="TrainingDivergedException"/>) → 1; Ctrl+C → 130. Anything else is a bug: one line naming the exception and
/// the file that holds its full stack trace, exit code 70.
/// </summary>
internal static class CommandRunner
{
    /// <summary>Runs <paramref name="body"/>; <paramref name="interrupted"/> is the line printed on Ctrl+C.</summary>
    public static int Run(Func<CancellationToken, int> body, string interrupted = "interrupted; what was completed so far is kept") =>
        Run(body, () => interrupted);

    /// <summary>Runs <paramref name="body"/>; <paramref name="interrupted"/> says, once it has stopped, what Ctrl+C left.</summary>
    public static int Run(Func<CancellationToken, int> body, Func<string> interrupted)
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
        catch (SettingsException ex)
        {
            return Fail(ex.Message, ExitCodes.Usage);
        }
        catch (VerificationException ex)
        {
            return Fail(ex.Message, ExitCodes.VerificationFailed);
        }
        catch (WorkerFailedException) when (cts.IsCancellationRequested)
        {
            return Fail(interrupted(), ExitCodes.Cancelled); // the worker ended because Ctrl+C reached it too
        }
        catch (WorkerFailedException ex)
        {
            // the worker's own line came before; its code where it is one of ours; a worker killed by a signal (a native
            // crash, the OOM killer) is not bad input
            return Fail(ex.Message, ex.ExitCode switch
            {
                ExitCodes.InputError or ExitCodes.Usage or ExitCodes.VerificationFailed or ExitCodes.InternalError or ExitCodes.Cancelled => ex.ExitCode,
                > 128 => ExitCodes.InternalError,
                _ => ExitCodes.InputError,
            });
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException or UnauthorizedAccessException or TrainingDivergedException)
        {
            return Fail(ex.Message, ExitCodes.InputError);
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            return Fail(interrupted(), ExitCodes.Cancelled);
        }
        catch (Exception ex)
        {
            return Crash(ex);
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }

    /// <summary>Writes "spikernel: message" as one line to standard error and returns <paramref name="code"/>.</summary>
    public static int Fail(string message, int code)
    {
        string line = Messages.OneLine(message);
        Console.Error.WriteLine($"spikernel: {line}");
        return code;
    }

    /// <summary>A bug: the full trace goes to a file, one line names it.</summary>
    internal static int Crash(Exception ex) => Fail(CrashReport.Write("spikernel", ex), ExitCodes.InternalError);

    /// <summary>The console for human-readable output (tables) — standard output.</summary>
    public static IAnsiConsole Out => AnsiConsole.Console;
}
