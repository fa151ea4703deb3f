using SpiKernel.Evaluators.Results;

namespace SpiKernel.Pipeline.Ranking;

/// <summary>
/// Which results rows count, one rule for the ranking and the report: of each model × precision × profile × batch size
/// the newest <c>ok</c> or <c>failed</c> row (a later failure makes the measurement void, a later failure to load the
/// file too; a <c>skipped</c> row, from a machine without the provider, says nothing about the model). Newest is by timestamp, ties in a fixed order whatever
/// order the files were read in.
/// </summary>
internal static class CurrentRows
{
    /// <summary>
    /// The rows of <paramref name="items"/> that count, <c>ok</c> and <c>failed</c> ones. A file that failed to load (a
    /// <c>failed</c> row without batch size, and without profile or with only a bundle's <c>@DEVICE</c>) voids the older
    /// measurements of the same file on the same machine: each becomes that failure, placed on its profile and batch size
    /// by <paramref name="placed"/>.
    /// </summary>
    public static List<T> Of<T>(IEnumerable<T> items, Func<T, EvaluationRow> row, Func<T, EvaluationRow, T> placed)
    {
        List<T> all = items.ToList();
        var loadFailures = all.Where(i => row(i) is { Status: EvaluationStatus.Failed, BatchSize: null } r && !IsProfile(r.Profile))
            .ToLookup(i => row(i).Model);
        var current = new List<T>();
        foreach (IGrouping<(string Model, string Precision, string Profile, int? BatchSize), T> g in all
                     .Where(i => row(i).Status is EvaluationStatus.Ok or EvaluationStatus.Failed && row(i).BatchSize is not null)
                     .GroupBy(i => (row(i).Model, row(i).Precision, row(i).Profile, row(i).BatchSize)))
        {
            T newest = Newest(g, row)!;
            EvaluationRow n = row(newest);
            // T may be a value type, so "no failure" is an empty list, not null
            List<T> failures = loadFailures[g.Key.Model].Where(f => row(f).IsLoadFailureOf(n) && Device(row(f).Profile) == Device(n.Profile)).ToList();
            T failure = failures.Count > 0 ? Newest(failures, row)! : newest;
            current.Add(string.CompareOrdinal(row(failure).TimestampUtc, n.TimestampUtc) > 0
                ? placed(failure, row(failure) with { CandidateId = n.CandidateId, Precision = n.Precision, Profile = n.Profile, Provider = n.Provider, BatchSize = n.BatchSize })
                : newest);
        }
        return current;
    }

    // a bundle's rows carry the device they ran on after the profile (cpu@jetson); this machine's have none
    private static string Device(string profile) => ProfileName.Parse(profile).Device;

    /// <summary>
    /// The machines (a bundle's <c>@DEVICE</c>; "" for rows measured where evaluate ran) whose rows in
    /// <paramref name="rows"/> are all files that failed to load: no profile of theirs reaches the ranking, so rank says
    /// so rather than nothing — each with the number of such rows and the first one's reason.
    /// </summary>
    public static IEnumerable<(string Device, int Failures, string Reason)> MachinesWithoutMeasurements(IEnumerable<EvaluationRow> rows)
    {
        List<EvaluationRow> all = rows.ToList();
        HashSet<string> measured = all.Where(r => IsProfile(r.Profile)).Select(r => Device(r.Profile)).ToHashSet(StringComparer.Ordinal);
        return all.Where(r => r is { Status: EvaluationStatus.Failed, BatchSize: null } && !IsProfile(r.Profile) && !measured.Contains(Device(r.Profile)))
            .GroupBy(r => Device(r.Profile)).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => (g.Key, g.Count(), g.First().Reason));
    }

    /// <summary>
    /// <paramref name="row"/> under the profile the ranking, the report and the predictor take it for: its own, with the
    /// accelerator index after a colon where it is not 0 (<c>cuda:1</c>, a bundle's <c>cuda:1@jetson</c>), so the rows of
    /// two GPUs measured with <c>--device-id</c> are two machines, as a bundle's devices are, not one measurement's
    /// competing rows. GPU 0's rows keep the plain name.
    /// </summary>
    public static EvaluationRow OnDevice(EvaluationRow row)
    {
        ArgumentNullException.ThrowIfNull(row);
        // accelerators only (the evaluator records --device-id on them alone)
        return row.Provider == "CPUExecutionProvider" ? row : row with { Profile = OnDevice(row.Profile, row.DeviceId) };
    }

    /// <summary><paramref name="layer"/> under its measurement's <see cref="OnDevice(EvaluationRow)"/> profile (a CPU's layer rows have device 0).</summary>
    public static LayerRow OnDevice(LayerRow layer)
    {
        ArgumentNullException.ThrowIfNull(layer);
        return layer with { Profile = OnDevice(layer.Profile, layer.DeviceId ?? 0) };
    }

    // the index after the profile's name where it is not 0; a profile already named so stays as it is
    private static string OnDevice(string profile, int deviceId)
    {
        ProfileName name = ProfileName.Parse(profile);
        return deviceId == 0 || !name.IsProfile || name.Gpu.Length > 0 ? profile
            : (name with { Gpu = ":" + deviceId.ToString(System.Globalization.CultureInfo.InvariantCulture) }).ToString();
    }

    /// <summary>Whether <paramref name="profile"/> names one: not the empty profile of a load failure, nor a bundle's bare "@DEVICE".</summary>
    public static bool IsProfile(string profile) => ProfileName.Parse(profile).IsProfile;

    /// <summary>The rows of <paramref name="rows"/> that count (<see cref="Of{T}"/>), each under its <see cref="OnDevice"/> profile.</summary>
    public static List<EvaluationRow> Of(IEnumerable<EvaluationRow> rows) => Of(rows.Select(OnDevice), r => r, (_, r) => r);

    /// <summary>
    /// The model names under which the rows that count come from more than one network (two files of one name in two
    /// folders): only the newest row of each measurement counts, so one of them is not ranked — what rank says in a note.
    /// </summary>
    public static IEnumerable<(string Model, string[] Networks)> SharedNames<T>(IEnumerable<T> items, Func<T, EvaluationRow> row) =>
        items.Select(row).Where(r => r.Status is EvaluationStatus.Ok or EvaluationStatus.Failed && r.BatchSize is not null && r.CandidateId.Length > 0)
            .GroupBy(r => r.Model).Select(g => (g.Key, g.Select(r => r.CandidateId).Distinct().Order(StringComparer.Ordinal).ToArray()))
            .Where(x => x.Item2.Length > 1).OrderBy(x => x.Key, StringComparer.Ordinal);

    /// <summary>The <c>ok</c> rows that count.</summary>
    public static List<EvaluationRow> Ok(IEnumerable<EvaluationRow> rows) => Of(rows).Where(r => r.Status == EvaluationStatus.Ok).ToList();

    /// <summary>The newest of <paramref name="items"/> (null when there are none).</summary>
    public static T? Newest<T>(IEnumerable<T> items, Func<T, EvaluationRow> row) => items
        .OrderBy(i => row(i).TimestampUtc, StringComparer.Ordinal).ThenBy(i => row(i).Precision, StringComparer.Ordinal)
        .ThenBy(i => row(i).BatchSize).ThenBy(i => row(i).Profile, StringComparer.Ordinal).ThenBy(i => row(i).Reason, StringComparer.Ordinal)
        .LastOrDefault();

    /// <summary>
    /// A profile as results rows write it, <c>PROFILE[:GPU][@DEVICE]</c>: <c>cuda:1@board</c> is profile cuda on the
    /// board's GPU 1. <see cref="Gpu"/> keeps its ':' and <see cref="Device"/> its '@' ("" when absent).
    /// </summary>
    private readonly record struct ProfileName(string Profile, string Gpu, string Device)
    {
        public static ProfileName Parse(string text)
        {
            ArgumentNullException.ThrowIfNull(text);
            int at = text.IndexOf('@');
            string head = at < 0 ? text : text[..at];
            int colon = head.IndexOf(':');
            return new ProfileName(colon < 0 ? head : head[..colon], colon < 0 ? "" : head[colon..], at < 0 ? "" : text[at..]);
        }

        /// <summary>Not the empty profile of a load failure, nor a bundle's bare "@DEVICE".</summary>
        public bool IsProfile => Profile.Length + Gpu.Length > 0;

        public override string ToString() => Profile + Gpu + Device;
    }
}
