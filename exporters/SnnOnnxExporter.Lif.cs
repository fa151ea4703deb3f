using Onnx;
using SpiKernel.Models.Lif;
using static SpiKernel.Core.OnnxFormat.OnnxHelper;

namespace SpiKernel.Exporters;

// LIF layers as Mul/Add/GreaterOrEqual/Cast with a Where or Sub/Mul reset, per step or over the stacked timesteps.
partial class SnnOnnxExporter
{
    /// <summary>The graph-side state of one LIF layer: its membrane value name and the spikes it emitted.</summary>
    private sealed class LifTrace(string path, LifOptions options, int rank)
    {
        public string Path { get; } = path;
        public LifOptions Options { get; } = options;
        public int Rank { get; } = rank;
        public string? V { get; set; }
        public int Calls { get; set; }
        public List<string> Spikes { get; } = [];
        public List<string> Inputs { get; } = [];
    }

    private LifTrace Trace(string path, int rank)
    {
        LifTrace? t = _lifs.FirstOrDefault(l => l.Path == path);
        if (t is not null) return t;
        LifOptions options = _net.LifLayers().First(l => l.Path == path).Lif.Options;
        t = new LifTrace(path, options, rank);
        _lifs.Add(t);
        return t;
    }

    /// <summary>The input current gain·x of one LIF step (one Mul).</summary>
    private string Charge(LifTrace trace, string x, string name) =>
        _g.Op("Mul", name, [x, _g.Scalar("lif.gain", (float)trace.Options.InputGain)]);

    /// <summary>
    /// One LIF step on the input current <paramref name="current"/> = gain·x: the same elementwise operations, in the
    /// same order, as <see cref="LifNode.forward"/> in eval mode. Returns the boolean "fired" tensor; the float spike
    /// is made by the caller (per step, or once over the stacked timesteps); a caller that makes it per step passes
    /// <paramref name="spikeOf"/>, which makes it, so a hard reset to 0 can use it.
    /// </summary>
    // whether LifCore's reset reads the step's float spike (h·(1 − spike) to 0, or h − spike·v_th); otherwise Where
    private static bool ResetReadsSpike(LifOptions o) => o.Reset == ResetMode.Soft || o.VReset == 0.0;

    private string LifCore(LifTrace trace, string current, Func<string, string>? spikeOf = null)
    {
        LifOptions o = trace.Options;
        string p = $"{trace.Path}/t{trace.Calls}";
        string h = current;
        if (trace.V is null)
        {
            if (o.VReset != 0.0) h = _g.Op("Add", $"{p}/rest", [h, _g.Scalar("lif.v_reset", (float)o.VReset)]);
        }
        else
        {
            string decayed = _g.Op("Mul", $"{p}/decay", [trace.V, _g.Scalar("lif.decay", (float)o.Decay)]);
            h = _g.Op("Add", $"{p}/membrane", [decayed, current]);
            if (o.VReset != 0.0) h = _g.Op("Add", $"{p}/rest", [h, _g.Scalar("lif.v_reset_over_tau", (float)(o.VReset / o.Tau))]);
        }
        string vth = _g.Scalar("lif.v_threshold", (float)o.VThreshold);
        string fired = _g.Op("GreaterOrEqual", $"{p}/fired", [h, vth]);
        if (ResetReadsSpike(o) && o.Reset == ResetMode.Hard && spikeOf is not null)
        {
            // h·(1 − spike), as LifNode computes it: Where(fired, 0, h)'s values, but ONNX Runtime runs Sub and Mul on all
            // its intra-op threads and Where on one (backward-cell network at batch 64 on 2 threads: 15 % faster)
            string keep = _g.Op("Sub", $"{p}/keep", [_g.Scalar("lif.one", 1f), spikeOf(fired)]);
            trace.V = _g.Op("Mul", $"{p}/reset", [h, keep]);
        }
        else if (o.Reset == ResetMode.Hard)
        {
            trace.V = _g.Op("Where", $"{p}/reset", [fired, _g.Scalar("lif.v_reset", (float)o.VReset), h]);
        }
        else
        {
            string spike = spikeOf?.Invoke(fired) ?? CastSpike($"{p}/reset_spike", fired);
            trace.V = _g.Op("Sub", $"{p}/reset", [h, _g.Op("Mul", $"{p}/reset_by", [spike, vth])]);
        }
        trace.Calls++;
        return fired;
    }

    private string CastSpike(string name, string fired) => _g.Op("Cast", name, [fired], Attr("to", (long)TensorProto.Types.DataType.Float));

    // LIF layers on the same input (edges leaving one cell node) fire identically — same input, same state, same
    // operations — so the graph computes each such group once and every layer of the group reports the shared spikes.
    // Keyed by the input (a whole sequence, or every step's value so far: two layers can read the same value at one step
    // after different ones before, as a backward cell's edge from a node that was empty at t0 and is the stem's output
    // from t1 on) and the options.
    private readonly Dictionary<(object Input, LifOptions Options, int Calls), (LifTrace Trace, object Spikes)> _sharedLif = [];

    /// <summary>One LIF step on input <paramref name="x"/>, returning float spikes (the step layout and backward cells).</summary>
    private string LifStep(LifTrace trace, string x)
    {
        int calls = trace.Calls;
        trace.Inputs.Add(x);
        string history = string.Join('\n', trace.Inputs);
        if (_sharedLif.TryGetValue((history, trace.Options, calls), out var shared) && shared.Trace != trace)
        {
            // the same inputs at every timestep so far: this layer's state and spikes are the other's
            trace.V = shared.Trace.V;
            trace.Calls++;
            trace.Spikes.Add((string)shared.Spikes);
            return (string)shared.Spikes;
        }
        string p = $"{trace.Path}/t{trace.Calls}";
        string? made = null;
        string Spike(string f) => made ??= CastSpike($"{p}/spike", f); // cast once, where the reset first needs it
        string fired = LifCore(trace, Charge(trace, x, $"{p}/charge"), Spike);
        string spike = Spike(fired);
        _firedOf[spike] = fired;
        trace.Spikes.Add(spike);
        _sharedLif.TryAdd((history, trace.Options, calls), (trace, spike));
        return spike;
    }

    /// <summary>
    /// A LIF layer over a whole sequence. Step layout: one full LIF step per timestep. Batched layout: the input current
    /// gain·x is computed once over the stacked timesteps (once only when the input is time-invariant), the membrane
    /// recurrence runs per timestep, and the boolean spikes are stacked and cast to float once.
    /// </summary>
    private Seq Lif(string path, Seq x, int rank = 0)
    {
        LifTrace trace = Trace(path, rank == 0 ? (path == "fc_lif" ? 2 : 4) : rank);
        if (trace.Calls == 0 && _sharedLif.TryGetValue((x, trace.Options, 0), out var shared) && shared.Trace != trace)
        {
            trace.V = shared.Trace.V;
            trace.Calls = _t;
            trace.Spikes.AddRange(shared.Trace.Spikes);
            return (Seq)shared.Spikes;
        }
        Seq result = LifSequence(trace, path, x);
        _sharedLif.TryAdd((x, trace.Options, 0), (trace, result));
        return result;
    }

    private Seq LifSequence(LifTrace trace, string path, Seq x)
    {
        if (!Batched || _t == 1)
        {
            string[] spikes = StepsOf(x).Select(s => LifStep(trace, s)).ToArray();
            return new Seq { Steps = spikes, Base = path };
        }

        string[] currents = x.IsConstant
            ? Enumerable.Repeat(Charge(trace, x.Steps![0], $"{path}/charge"), _t).ToArray()
            : Integer && x.Stacked is null // the int8 export's per-step convolutions: charged per step, not stacked and split again
                ? x.Steps!.Select((s, t) => Charge(trace, s, $"{path}/charge/t{t}")).ToArray()
                : StepsOf(new Seq { Stacked = Charge(trace, StackedOf(x), $"{path}/charge"), Base = $"{path}/charge" });
        string stacked;
        string[] fired;
        if (!Integer && ResetReadsSpike(trace.Options))
        {
            // the reset reads each step's float spikes (h·(1 − spike), or h − spike·v_th): stack those, not the booleans
            // cast again — float file of the forward-cell network at batch 64: 1 % faster on 1 thread, 10 % on 2, batch 1
            // the same. The int8 file keeps Where and the stacked booleans: there its float spikes only feed the counts, and
            // the per-step form was 2 % slower at batch 1 (docs/measurements/lif-reset-sub-mul-2026-12-06.txt)
            var spikes = new string[_t];
            fired = currents.Select((c, t) => LifCore(trace, c, f => spikes[t] = CastSpike($"{path}/spike/t{t}", f))).ToArray();
            stacked = _g.Op("Concat", $"{path}/spikes", spikes, Attr("axis", 1L));
        }
        else
        {
            fired = currents.Select(c => LifCore(trace, c)).ToArray();
            string stackedFired = _g.Op("Concat", $"{path}/fired", fired, Attr("axis", 1L));
            stacked = CastSpike($"{path}/spikes", stackedFired);
            _firedOf[stacked] = stackedFired;
        }
        _firedSteps[stacked] = fired;
        trace.Spikes.Add(stacked);
        return new Seq { Stacked = stacked, Base = path };
    }
}
