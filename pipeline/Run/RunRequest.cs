using SpiKernel.Core;

namespace SpiKernel.Pipeline.Run;

/// <summary>
/// What <c>spikernel run</c> was asked for, before it is a configuration and a folder: where the configuration starts
/// (a file, a preset, or the run.json of the folder a resume continues), the settings given on the command line over
/// it, and the folder.
/// </summary>
/// <param name="ConfigFile">A run configuration file (only the keys that differ from its preset).</param>
/// <param name="Preset">The preset a new run starts from (default <see cref="RunPresets.Quick"/>).</param>
/// <param name="Resume">The run folder a resume continues, with the configuration in its run.json.</param>
/// <param name="Out">The run folder (default runs/PRESET); with <paramref name="Resume"/>, only the same folder.</param>
/// <param name="Overrides">The settings given on the command line, applied over the starting configuration.</param>
public sealed record RunRequest(string? ConfigFile, string? Preset, string? Resume, string? Out, Func<RunConfig, RunConfig> Overrides)
{
    /// <summary>
    /// The configuration and the run folder. A new run's configuration is checked as given (a preset may need its data
    /// named) and then records absolute data and predictor paths against <paramref name="workingDirectory"/>, and what no
    /// data meant there (<see cref="RunConfig.Rooted"/>); a resume's is its run.json's under the overrides.
    /// </summary>
    /// <exception cref="SettingsException">A preset or another folder named beside a resume.</exception>
    /// <exception cref="InvalidDataException">A resume of a folder without a readable run.json.</exception>
    public (RunConfig Config, string Directory) Resolve(string workingDirectory)
    {
        ArgumentNullException.ThrowIfNull(Overrides);
        if (Resume is not null && Out is not null && Path.GetFullPath(Out, workingDirectory) != Path.GetFullPath(Resume, workingDirectory))
            throw new SettingsException("--resume names the run folder; leave out --out (or give the same folder)");
        RunConfig config = Overrides(Start());
        if (Resume is null)
        {
            _ = RunPlan.From(config); // as given first: the paper preset, say, needs its data named
            config = config.Rooted(workingDirectory);
        }
        return (config, Resume ?? Out ?? Path.Combine("runs", config.Preset));
    }

    private RunConfig Start()
    {
        if (ConfigFile is not null) return RunConfigFile.Load(ConfigFile, Preset);
        if (Resume is null) return RunPresets.Get(Preset ?? RunPresets.Quick);
        if (Preset is not null)
            throw new SettingsException("--preset chooses a new run's settings; --resume continues a run with those in its run.json (leave out --preset, or start a new run with --out)");
        return RunConfigFile.LoadOfRun(Resume, "nothing to resume (no run.json)");
    }
}
