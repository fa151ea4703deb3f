namespace SpiKernel.Pipeline.ScaleOut;

/// <summary>
/// Holds shards/STAGE/I-of-N.lock for as long as this process works on that shard, so a second process given the same
/// shard (a scheduler's replacement task starting while the first still runs, a hand-started duplicate) stops with one
/// line instead of writing the same files. An exclusive advisory lock (flock), released by the kernel when the process
/// ends however it ends; where the shared file system does not honour locks, it guards nothing and costs nothing.
/// </summary>
internal static class ShardLock
{
    /// <summary>Takes the lock of <paramref name="shard"/> of <paramref name="stage"/> in run folder <paramref name="root"/>.</summary>
    /// <exception cref="InvalidDataException">Another process holds it.</exception>
    public static IDisposable Take(string root, string stage, Shard shard)
    {
        string folder = ShardRecord.Folder(root, stage);
        Directory.CreateDirectory(folder);
        return Stages.UnitLock.Take(Path.Combine(folder, shard.FileTag + ".lock"), $"{stage} shard {shard}");
    }
}
