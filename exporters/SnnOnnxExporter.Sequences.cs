using static SpiKernel.Core.OnnxFormat.OnnxHelper;

namespace SpiKernel.Exporters;

// Values over the T timesteps: per-step names or one stacked name, and the ops that keep that layout.
partial class SnnOnnxExporter
{
    /// <summary>
    /// A value over the T timesteps: per-step names ([N, C, H, W] or [N, F] each), a stacked name, or both. Stacked means
    /// the timesteps side by side along axis 1 — [N, T·C, H, W] or [N, T·F], timestep-major within each sample — which is
    /// the same buffer as a batch-axis stack [N·T, C, H, W] in sample-major order: a Reshape turns one into the other,
    /// per-timestep slices are one Split, and a convolution over all timesteps is one grouped Conv (T groups) whose
    /// weights can carry each timestep's BatchNorm.
    /// </summary>
    private sealed class Seq
    {
        public string[]? Steps;
        public string? Stacked;
        public string Base = "";

        public static Seq Constant(string name, int t) => new() { Steps = Enumerable.Repeat(name, t).ToArray(), Base = name };

        /// <summary>The same value at every timestep (the stem output and what is computed from it alone).</summary>
        public bool IsConstant => Stacked is null && Steps is { Length: > 0 } st && st.All(n => n == st[0]);
    }

    private bool Batched => _options.Layout == TimestepLayout.Batched;

    private string[] StepsOf(Seq s)
    {
        if (s.Steps is not null) return s.Steps;
        if (_t == 1) return s.Steps = [s.Stacked!];
        string[] outs = Enumerable.Range(0, _t).Select(t => _g.Unique($"{s.Base}/t{t}")).ToArray();
        _g.OpTo("Split", $"{s.Base}/split", [s.Stacked!], outs, Attr("axis", 1L));
        return s.Steps = outs;
    }

    private string StackedOf(Seq s)
    {
        if (s.Stacked is not null) return s.Stacked;
        if (_t == 1) return s.Stacked = s.Steps![0];
        return s.Stacked = _g.Op("Concat", $"{s.Base}/stack", s.Steps!, Attr("axis", 1L));
    }

    /// <summary>
    /// Applies an op that treats every channel alike and keeps the channel count (pooling, zeros): once over the stacked
    /// timesteps (batched) or once per step.
    /// </summary>
    private Seq Map(Seq s, string baseName, Func<string, string> op)
    {
        // the int8 export's per-step convolutions: pooled per step, not stacked (and split again) first
        if (Batched && !(Integer && s.Stacked is null && !s.IsConstant))
        {
            // time-invariant input: compute once (a stacked copy would repeat the same work T times)
            if (s.IsConstant) return Seq.Constant(op(s.Steps![0]), _t);
            string r = op(StackedOf(s));
            return new Seq { Stacked = r, Base = baseName };
        }
        return new Seq { Steps = StepsOf(s).Select(op).ToArray(), Base = baseName };
    }

    private Seq AddSeq(Seq a, Seq b, string name)
    {
        if (Batched && a.IsConstant && b.IsConstant) return Seq.Constant(_g.Op("Add", name, [a.Steps![0], b.Steps![0]]), _t);
        // the int8 export's per-step convolutions are summed per step, not stacked first
        if (Batched && (!Integer || a.Stacked is not null || b.Stacked is not null))
            return new Seq { Stacked = _g.Op("Add", name, [StackedOf(a), StackedOf(b)]), Base = name };
        string[] sa = StepsOf(a), sb = StepsOf(b);
        return new Seq { Steps = sa.Select((x, t) => _g.Op("Add", $"{name}/t{t}", [x, sb[t]])).ToArray(), Base = name };
    }
}
