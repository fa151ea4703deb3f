namespace SpiKernel.Pipeline.Run;

/// <summary>How a stage of a run is taken.</summary>
internal enum StepMode
{
    /// <summary>Do its work (all of it, or the units of one shard).</summary>
    Run,

    /// <summary>It came before the stage being run by a single task: read its outputs, merging its shards when they are not merged yet.</summary>
    Gather,

    /// <summary>It came before a sharded stage: read its outputs and confirm they are complete; write nothing (other shards read them too).</summary>
    Check,
}

/// <summary>A stage that has not run yet where a later one needs it (<c>spikernel merge</c> stops there quietly).</summary>
internal sealed class StageNotRunException(string stage, string root)
    : FileNotFoundException($"{stage} has not run in {root}, or its outputs changed since: run spikernel run --resume {root} --stage {stage} first (the launch files of --emit do the stages in order)")
{
    public string Stage { get; } = stage;
}
