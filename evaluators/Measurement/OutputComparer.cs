using System.Globalization;
using Microsoft.ML.OnnxRuntime;
using SpiKernel.Evaluators.Inputs;

namespace SpiKernel.Evaluators.Measurement;

/// <summary>How a provider's outputs compare with the expected ones, over every output of every test data set.</summary>
/// <param name="Outputs">Output tensors compared.</param>
/// <param name="Mismatches">Elements outside the tolerance (all of an output whose shape differs).</param>
/// <param name="MaxAbsError">Largest |actual − expected| over finite pairs.</param>
/// <param name="MaxRelError">Largest |actual − expected| / |expected| over finite pairs whose expected value is not 0.</param>
/// <param name="Note">The first mismatch, in words; empty when there is none.</param>
internal sealed record OutputCheckResult(int Outputs, long Mismatches, double MaxAbsError, double MaxRelError, string Note)
{
    /// <summary>Every element of every output within tolerance.</summary>
    public bool Passed => Mismatches == 0;
}

/// <summary>Runs the test data sets through a session (outputs on the host, untimed) and compares the outputs.</summary>
internal static class OutputComparer
{
    /// <summary>Compares the outputs of <paramref name="session"/> on each set with the set's expected outputs.</summary>
    public static OutputCheckResult Check(InferenceSession session, IReadOnlyList<CheckSet> sets, OutputTolerance tolerance, CancellationToken cancel = default,
        Providers.EvaluationProfile? profile = null)
    {
        ArgumentNullException.ThrowIfNull(session);
        var total = new OutputCheckResult(0, 0, 0, 0, "");
        using RunOptions runOptions = GraphRuns.For(profile, GraphRuns.Untimed); // untimed, host outputs: no graph replay
        foreach (CheckSet set in sets)
        {
            cancel.ThrowIfCancellationRequested();
            var inputs = new List<OrtValue>(set.Inputs.Count);
            try
            {
                foreach (HostTensor t in set.Inputs) inputs.Add(t.ToOrtValue());
                string[] wanted = set.Outputs.Select(o => o.Name).ToArray();
                using IDisposableReadOnlyCollection<OrtValue> results = session.Run(runOptions, set.Inputs.Select(t => t.Name).ToArray(), inputs, wanted);
                for (int k = 0; k < wanted.Length; k++)
                {
                    OutputCheckResult one = Compare(set.Outputs[k], HostTensor.CopyOf(wanted[k], results[k]), tolerance);
                    // of several sets, the one whose outputs differ is named (the row's test_data names the first)
                    total = Add(total, sets.Count > 1 && one.Note.Length > 0 ? one with { Note = $"{Path.GetFileName(Path.TrimEndingDirectorySeparator(set.Path))}: {one.Note}" } : one);
                }
            }
            finally
            {
                foreach (OrtValue v in inputs) v.Dispose();
            }
        }
        return total;
    }

    /// <summary>One output: element by element |a − e| ≤ atol + rtol·|e|, NaN matching NaN, equal infinities matching.</summary>
    internal static OutputCheckResult Compare(HostTensor expected, HostTensor actual, OutputTolerance tolerance)
    {
        if (!expected.Shape.SequenceEqual(actual.Shape))
            return new OutputCheckResult(1, Math.Max(1, expected.Count), 0, 0,
                $"output '{expected.Name}' is [{HostTensor.ShapeText(actual.Shape)}] where [{HostTensor.ShapeText(expected.Shape)}] is expected");
        long mismatches = 0;
        double maxAbs = 0, maxRel = 0;
        string note = "";
        for (long i = 0; i < expected.Count; i++)
        {
            double e = expected[i], a = actual[i];
            bool match;
            if (double.IsNaN(e) || double.IsNaN(a) || double.IsInfinity(e) || double.IsInfinity(a))
            {
                match = e.Equals(a);
            }
            else
            {
                double diff = Math.Abs(a - e);
                match = diff <= tolerance.Atol + tolerance.Rtol * Math.Abs(e);
                maxAbs = Math.Max(maxAbs, diff);
                if (e != 0) maxRel = Math.Max(maxRel, diff / Math.Abs(e));
            }
            if (match) continue;
            if (mismatches++ == 0)
                note = string.Create(CultureInfo.InvariantCulture, $"output '{expected.Name}' element {i}: {a:G7} where {e:G7} is expected");
        }
        return new OutputCheckResult(1, mismatches, maxAbs, maxRel, note);
    }

    private static OutputCheckResult Add(OutputCheckResult a, OutputCheckResult b) => new(a.Outputs + b.Outputs, a.Mismatches + b.Mismatches,
        Math.Max(a.MaxAbsError, b.MaxAbsError), Math.Max(a.MaxRelError, b.MaxRelError), a.Note.Length > 0 ? a.Note : b.Note);
}
