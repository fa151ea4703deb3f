using System.Globalization;
using System.Text;
using SpiKernel.Core;

namespace SpiKernel.Pipeline.ScaleOut;

/// <summary>
/// Writes the files that run one run folder on a scheduler: one task per stage, in order, each starting after the one
/// before succeeded; sharded stages are arrays of <see cref="LaunchOptions.Shards"/> tasks that find their shard in the
/// scheduler's own variables (<c>SLURM_ARRAY_TASK_ID</c>, <c>JOB_COMPLETION_INDEX</c>). docs/scale-out.md explains them.
/// </summary>
internal static class LaunchFiles
{
    /// <summary>Writes the launch files of <paramref name="stages"/> (in order) into <paramref name="folder"/>; returns their paths, submit.sh first.</summary>
    /// <param name="folder">Where to write (RUN/launch/slurm or RUN/launch/k8s).</param>
    /// <param name="stages">Stage names in order; those in <paramref name="sharded"/> become arrays.</param>
    /// <param name="sharded">The stages that split into shards.</param>
    /// <param name="options">Scheduler, shard count and resources.</param>
    /// <param name="unitCounts">Sharded stages whose unit count is known before the run (the kernel study's sizes): they get
    /// no more tasks than units, as a task without a unit would only load the data and record that it did nothing.</param>
    public static IReadOnlyList<string> Write(string folder, IReadOnlyList<string> stages, IReadOnlyCollection<string> sharded, LaunchOptions options,
        IReadOnlyDictionary<string, int>? unitCounts = null)
    {
        ArgumentNullException.ThrowIfNull(stages);
        ArgumentNullException.ThrowIfNull(sharded);
        ArgumentNullException.ThrowIfNull(options);
        options.Validated();
        Directory.CreateDirectory(folder);
        var files = new List<(string Name, string Text)>();
        for (int i = 0; i < stages.Count; i++)
        {
            string stage = stages[i];
            int tasks = !sharded.Contains(stage) ? 1
                : unitCounts is not null && unitCounts.TryGetValue(stage, out int units) ? Math.Clamp(units, 1, options.Shards) : options.Shards;
            string name = string.Create(CultureInfo.InvariantCulture, $"{i + 1:00}-{stage}");
            files.Add(options.Scheduler == Scheduler.Slurm
                ? (name + ".sbatch", Sbatch(stage, tasks, options))
                : (name + ".yaml", Job(stage, tasks, options)));
        }
        string submit = options.Scheduler == Scheduler.Slurm ? SlurmSubmit(files.Select(f => f.Name)) : KubernetesSubmit(stages, files.Select(f => f.Name), options);
        var paths = new List<string> { Path.Combine(folder, "submit.sh") };
        AtomicFile.WriteAllText(paths[0], submit);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(paths[0], (UnixFileMode)0b111_101_101);
        foreach ((string name, string text) in files)
        {
            paths.Add(Path.Combine(folder, name));
            AtomicFile.WriteAllText(paths[^1], text);
        }
        return paths;
    }

    /// <summary>
    /// A Kubernetes name for this run's Job of <paramref name="stage"/>: DNS-1123, and short enough that the pod
    /// hostnames of an Indexed Job (JOB-NAME-INDEX, at most 63 characters) are valid too.
    /// </summary>
    public static string JobName(LaunchOptions options, string stage)
    {
        ArgumentNullException.ThrowIfNull(options);
        string run = new string(RunName(options).ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-').ToArray()).Trim('-');
        string name = $"spikernel-{(run.Length == 0 ? "run" : run)}";
        int room = 63 - 1 - (options.Shards - 1).ToString(CultureInfo.InvariantCulture).Length - 1 - stage.Length;
        name = name[..Math.Min(name.Length, room)].TrimEnd('-');
        return $"{name}-{stage}";
    }

    private static string RunName(LaunchOptions o) => Path.GetFileName(Path.TrimEndingDirectorySeparator(o.RunDirectory));

    private static string Sbatch(string stage, int tasks, LaunchOptions o)
    {
        var s = new StringBuilder();
        s.Append("#!/usr/bin/env bash\n");
        s.Append(CultureInfo.InvariantCulture, $"# spikernel {ToolInfo.Version}: stage {stage} of the run in {o.RunDirectory}{(tasks > 1 ? $", {tasks} shards (one array task each)" : "")}\n");
        s.Append(CultureInfo.InvariantCulture, $"#SBATCH --job-name=spikernel-{stage}\n");
        if (tasks > 1) s.Append(CultureInfo.InvariantCulture, $"#SBATCH --array=0-{tasks - 1}\n");
        s.Append("#SBATCH --nodes=1\n#SBATCH --ntasks=1\n#SBATCH --kill-on-invalid-dep=yes\n");
        s.Append(CultureInfo.InvariantCulture, $"#SBATCH --cpus-per-task={o.Cpus}\n#SBATCH --mem={o.MemoryGib}G\n#SBATCH --time={o.Time}\n");
        if (o.Partition is { } p) s.Append(CultureInfo.InvariantCulture, $"#SBATCH --partition={p}\n");
        // latency is measured alone: a node of its own for the stages that time models (select times the target)
        if (stage is "evaluate" or "select") s.Append("#SBATCH --exclusive\n");
        string log = Path.Combine(o.RunDirectory, "logs", $"slurm-{stage}-{(tasks > 1 ? "%A_%a" : "%j")}.out");
        s.Append(CultureInfo.InvariantCulture, $"#SBATCH --output={log}\n");
        s.Append("set -euo pipefail\n");
        // the shard is named from the array index, not derived from the array's size: `sbatch --array=2 X.sbatch`, which
        // reruns one failed task, makes an array of one, and would otherwise be read as the whole stage (shard 0/1)
        string shard = tasks > 1 ? $" --shard \"$SLURM_ARRAY_TASK_ID/{tasks}\"" : "";
        s.Append(CultureInfo.InvariantCulture, $"exec {o.Launcher} run --resume {Quote(o.RunDirectory)} --stage {stage}{shard}\n");
        return s.ToString();
    }

    private static string SlurmSubmit(IEnumerable<string> scripts)
    {
        var s = new StringBuilder("#!/usr/bin/env bash\n# Submits every stage as its own Slurm job, each after the one before succeeded (afterok); prints the job ids.\n" +
            "# A failed task cancels the jobs after it (--kill-on-invalid-dep); rerun from there: the stages skip what is complete.\n" +
            "set -euo pipefail\ncd \"$(dirname \"$0\")\"\nprev=\"\"\n");
        foreach (string script in scripts)
        {
            s.Append(CultureInfo.InvariantCulture, $"id=$(sbatch --parsable ${{prev:+--dependency=afterok:$prev}} {script})\n");
            s.Append(CultureInfo.InvariantCulture, $"prev=${{id%%;*}}\necho \"{script}: job $prev\"\n");
        }
        return s.ToString();
    }

    private static string Job(string stage, int tasks, LaunchOptions o)
    {
        string run = $"{o.MountPath.TrimEnd('/')}/{RunName(o)}";
        // the shard comes from the completion index (kubelet expands it); the count is fixed here, not read from run.json
        string[] command = [.. o.Launcher.Split(' ', StringSplitOptions.RemoveEmptyEntries), "run", "--resume", run, "--stage", stage,
            .. tasks > 1 ? new[] { "--shard", string.Create(CultureInfo.InvariantCulture, $"$(JOB_COMPLETION_INDEX)/{tasks}") } : []];
        var y = new StringBuilder();
        y.Append(CultureInfo.InvariantCulture, $"# spikernel {ToolInfo.Version}: stage {stage} of run {RunName(o)}{(tasks > 1 ? $", an Indexed Job of {tasks} shards" : "")}\n");
        y.Append("apiVersion: batch/v1\nkind: Job\nmetadata:\n");
        y.Append(CultureInfo.InvariantCulture, $"  name: {JobName(o, stage)}\n  labels:\n    app.kubernetes.io/name: spikernel\n    app.kubernetes.io/component: {stage}\n");
        y.Append("spec:\n");
        if (tasks > 1) y.Append(CultureInfo.InvariantCulture, $"  completionMode: Indexed\n  completions: {tasks}\n  parallelism: {tasks}\n");
        y.Append("  podReplacementPolicy: Failed\n"); // a replacement starts only once the pod it replaces is gone
        y.Append("  backoffLimit: 3\n  template:\n    metadata:\n      labels:\n        app.kubernetes.io/name: spikernel\n");
        y.Append(CultureInfo.InvariantCulture, $"        app.kubernetes.io/component: {stage}\n");
        y.Append("    spec:\n      restartPolicy: Never\n      containers:\n        - name: spikernel\n");
        y.Append(CultureInfo.InvariantCulture, $"          image: {Json(o.Image)}\n          command: [{string.Join(", ", command.Select(Json))}]\n");
        y.Append("          resources:\n");
        foreach (string kind in new[] { "requests", "limits" })
            y.Append(CultureInfo.InvariantCulture, $"            {kind}:\n              cpu: \"{o.Cpus}\"\n              memory: {o.MemoryGib}Gi\n");
        y.Append(CultureInfo.InvariantCulture, $"          volumeMounts:\n            - name: runs\n              mountPath: {Json(o.MountPath)}\n");
        y.Append(CultureInfo.InvariantCulture, $"      volumes:\n        - name: runs\n          persistentVolumeClaim:\n            claimName: {o.VolumeClaim}\n");
        return y.ToString();
    }

    private static string KubernetesSubmit(IReadOnlyList<string> stages, IEnumerable<string> manifests, LaunchOptions o)
    {
        var s = new StringBuilder("""
            #!/usr/bin/env bash
            # Applies every stage's Job in order, each after the one before completed; stops at the first that fails.
            set -euo pipefail
            cd "$(dirname "$0")"
            wait_job() {
              while :; do
                state=$(kubectl get job "$1" -o jsonpath='{.status.conditions[?(@.status=="True")].type}')
                case "$state" in
                  *Complete*) echo "$1: complete"; return 0 ;;
                  *Failed*) echo "$1: failed (kubectl describe job $1)" >&2; return 1 ;;
                esac
                sleep 15
              done
            }

            """.Replace("\r", "", StringComparison.Ordinal));
        int i = 0;
        foreach (string manifest in manifests)
        {
            string job = JobName(o, stages[i++]);
            // a Job is immutable and remembers its outcome: a rerun replaces it (the stages skip what is already complete)
            s.Append(CultureInfo.InvariantCulture, $"kubectl delete job {job} --ignore-not-found --wait=true --cascade=foreground\nkubectl apply -f {manifest}\nwait_job {job}\n");
        }
        return s.ToString();
    }

    /// <summary><paramref name="text"/> as one word for a POSIX shell: single-quoted, its own quotes escaped.</summary>
    internal static string Quote(string text) => "'" + text.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    // a JSON string is a YAML double-quoted scalar
    private static string Json(string text) => System.Text.Json.JsonSerializer.Serialize(text);
}
