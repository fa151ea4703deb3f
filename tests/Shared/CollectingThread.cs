namespace SpiKernel.Tests.Shared;

/// <summary>
/// Runs work while another thread collects the youngest generation without pause: a temporary TorchSharp Scalar that a
/// libtorch call still reads is finalized mid-call under this (the exit-70 "toFloat at c10/core/Scalar.h" defect).
/// Compiled into the test projects that need it (linked source, no shared test library).
/// </summary>
internal static class CollectingThread
{
    public static void Beside(Action work)
    {
        bool stop = false;
        var collector = new Thread(() =>
        {
            while (!Volatile.Read(ref stop))
            {
                GC.KeepAlive(new byte[4096]);
                GC.Collect(0); // the youngest generation, where a call's temporary scalar lives: cheap, so many per pass
                GC.WaitForPendingFinalizers();
            }
        });
        collector.Start();
        try
        {
            work();
        }
        finally
        {
            Volatile.Write(ref stop, true);
            collector.Join();
        }
    }
}
