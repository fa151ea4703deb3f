using System.Runtime.Intrinsics;
using SpiKernel.Models.Compute;
using static TorchSharp.torch;

namespace SpiKernel.Models.Lif;

/// <summary>
/// LIF arithmetic as single passes over memory, in 256-bit vectors: one timestep (<see cref="LifNode"/>, and
/// <see cref="LifStep"/> under autograd) or all T at once (<see cref="MultiStepLif"/>, where each block of neurons runs
/// its T steps with the state in a small buffer). The tensor forms take ≈ 7 full-size libtorch passes per timestep
/// forward and ≈ 10 backward, each with its own temporaries; here the currents are read once and the spikes, the reset
/// state and (for backward) the charged membrane written once.
/// <para>
/// Every value is computed with the tensor forms' float operations in their order — products rounded before sums (no
/// fused multiply-add), double constants rounded to float first, 1/x by division — so spikes, states and the
/// multi-step gradients are bit-identical to them (LifKernelTests). Contiguous float32 CPU tensors with the ATan
/// surrogate only (<see cref="Supports"/>): libtorch's sigmoid uses its own vectorised exp, which this code would not
/// reproduce to the bit. Neurons are independent, so the work is split over libtorch's own OpenMP team
/// (<see cref="OpenMpTeam"/>): .NET's thread pool met libtorch's OpenMP worker still spinning on the second core after
/// the previous libtorch call, and training was no faster on two pool threads than on one.
/// </para>
/// </summary>
internal static class LifKernel
{
    private const int Block = 1024; // neurons per block: the carried state stays in L1

    /// <summary>Whether the kernel computes <paramref name="x"/>'s recurrence under <paramref name="o"/>.</summary>
    public static bool Supports(Tensor x, LifOptions o) =>
        o.Surrogate == SurrogateKind.ATan && x.dtype == ScalarType.Float32 && x.device_type == TorchSharp.DeviceType.CPU
        && x.is_contiguous() && x.numel() * sizeof(float) <= int.MaxValue;

    /// <summary>
    /// Spikes of <paramref name="x"/> ([T·N, …], timestep-major, from v_reset) into <paramref name="spikes"/>; the
    /// charged membrane h of every step into <paramref name="charged"/> when given. All three contiguous, same shape.
    /// </summary>
    public static void Forward(Tensor x, int steps, LifOptions o, Tensor spikes, Tensor? charged)
    {
        var c = new Constants(o);
        int neurons = (int)(x.numel() / steps);
        OpenMpTeam.ForRanges(neurons, (long)neurons * steps, Block, (b0, b1) =>
        {
            ReadOnlySpan<float> xs = TensorMemory.Floats(x);
            Span<float> ss = TensorMemory.Floats(spikes), hs = charged is null ? default : TensorMemory.Floats(charged);
            Span<float> v = stackalloc float[Block];
            for (int b = b0; b < b1; b += Block) // block b holds the same neurons at every timestep
            {
                int n = Math.Min(Block, b1 - b);
                for (int t = 0; t < steps; t++)
                {
                    int at = t * neurons + b;
                    ForwardStep(c, t == 0, xs.Slice(at, n), v[..n], v[..n], ss.Slice(at, n), charged is null ? default : hs.Slice(at, n));
                }
            }
        });
    }

    /// <summary>
    /// BPTT through the recurrence: the gradient reaching the currents from <paramref name="gradSpikes"/>, given the
    /// charged membranes the forward pass saved. Returns a new tensor shaped like <paramref name="charged"/>.
    /// </summary>
    public static Tensor Backward(Tensor charged, Tensor gradSpikes, int steps, LifOptions o)
    {
        var c = new Constants(o);
        int neurons = (int)(charged.numel() / steps);
        Tensor gradX = empty_like(charged);
        using Tensor dense = Contiguous(gradSpikes);
        OpenMpTeam.ForRanges(neurons, (long)neurons * steps, Block, (b0, b1) =>
        {
            ReadOnlySpan<float> hs = TensorMemory.Floats(charged), gs = TensorMemory.Floats(dense);
            Span<float> gx = TensorMemory.Floats(gradX);
            Span<float> gv = stackalloc float[Block];
            for (int b = b0; b < b1; b += Block)
            {
                int n = Math.Min(Block, b1 - b);
                for (int t = steps - 1; t >= 0; t--)
                {
                    int at = t * neurons + b;
                    BackwardStep(c, o, t == steps - 1, hs.Slice(at, n), gs.Slice(at, n), gv[..n], gx.Slice(at, n), gv[..n]);
                }
            }
        });
        return gradX;
    }

    /// <summary>
    /// One timestep: spikes of currents <paramref name="x"/> from state <paramref name="v"/> (null: the first step,
    /// from v_reset) into <paramref name="spikes"/>, the reset state into <paramref name="next"/> (may be
    /// <paramref name="v"/> itself), the charged membrane into <paramref name="charged"/> when given. All contiguous,
    /// same shape.
    /// </summary>
    public static void StepForward(Tensor x, Tensor? v, LifOptions o, Tensor spikes, Tensor next, Tensor? charged)
    {
        if (v is not null && !v.shape.SequenceEqual(x.shape))
            throw new ArgumentException($"LIF state [{string.Join(", ", v.shape)}] does not fit currents [{string.Join(", ", x.shape)}]: reset the state for a new batch.", nameof(v));
        var c = new Constants(o);
        OpenMpTeam.ForRanges((int)x.numel(), x.numel(), Vector256<float>.Count, (i0, i1) =>
        {
            int n = i1 - i0;
            ForwardStep(c, v is null, TensorMemory.Floats(x).Slice(i0, n), v is null ? default : TensorMemory.Floats(v).Slice(i0, n), TensorMemory.Floats(next).Slice(i0, n),
                TensorMemory.Floats(spikes).Slice(i0, n), charged is null ? default : TensorMemory.Floats(charged).Slice(i0, n));
        });
    }

    /// <summary>
    /// One timestep backward: from the charged membrane <paramref name="charged"/> and the gradients reaching its
    /// spikes (<paramref name="gradSpikes"/>) and its reset state (<paramref name="gradNext"/>, null when unused), the
    /// gradients of the currents (returned) and of the previous state (into <paramref name="gradPrevious"/> when given).
    /// </summary>
    public static Tensor StepBackward(Tensor charged, Tensor gradSpikes, Tensor? gradNext, LifOptions o, Tensor? gradPrevious)
    {
        Tensor gradX = empty_like(charged);
        using Tensor spikesDense = Contiguous(gradSpikes);
        using Tensor? nextDense = gradNext is null ? null : Contiguous(gradNext);
        var c = new Constants(o);
        OpenMpTeam.ForRanges((int)charged.numel(), charged.numel(), Vector256<float>.Count, (i0, i1) =>
        {
            int n = i1 - i0;
            BackwardStep(c, o, gradNext is null, TensorMemory.Floats(charged).Slice(i0, n), TensorMemory.Floats(spikesDense).Slice(i0, n),
                nextDense is null ? default : TensorMemory.Floats(nextDense).Slice(i0, n), TensorMemory.Floats(gradX).Slice(i0, n),
                gradPrevious is null ? default : TensorMemory.Floats(gradPrevious).Slice(i0, n));
        });
        return gradX;
    }

    // h = decay·v + gain·x (+ v_reset/τ; first step gain·x + v_reset); s = h ≥ v_th; next = reset(h, s)
    private static void ForwardStep(in Constants c, bool first, ReadOnlySpan<float> x, ReadOnlySpan<float> v, Span<float> next,
        Span<float> s, Span<float> h)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var gain = Vector256.Create(c.Gain);
            var decay = Vector256.Create(c.Decay);
            var bias = Vector256.Create(first ? c.VReset : c.RestBias);
            var vth = Vector256.Create(c.VThreshold);
            var vReset = Vector256.Create(c.VReset);
            var one = Vector256.Create(1f);
            for (; i <= x.Length - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                Vector256<float> hi = Vector256.Create(x[i..]) * gain;
                if (!first) hi = Vector256.Create(v[i..]) * decay + hi;
                if (c.HasBias) hi += bias;
                if (!h.IsEmpty) hi.CopyTo(h[i..]);
                Vector256<float> fired = Vector256.GreaterThanOrEqual(hi, vth);
                Vector256<float> si = fired & one;
                si.CopyTo(s[i..]);
                Vector256<float> reset = c.Hard ? Vector256.ConditionalSelect(fired, vReset, hi) : hi - si * vth;
                reset.CopyTo(next[i..]);
            }
        }
        for (; i < x.Length; i++)
        {
            float hi = x[i] * c.Gain;
            if (!first) hi = v[i] * c.Decay + hi;
            if (c.HasBias) hi += first ? c.VReset : c.RestBias;
            if (!h.IsEmpty) h[i] = hi;
            bool fired = hi >= c.VThreshold;
            float si = fired ? 1f : 0f;
            s[i] = si;
            next[i] = c.Hard ? (fired ? c.VReset : hi) : hi - si * c.VThreshold;
        }
    }

    // g_h = g_s·σ'(h − v_th) + g_v·∂v/∂h (no g_v at the last step); g_x = g_h·gain; g_v of the previous step = g_h·decay
    private static void BackwardStep(in Constants c, LifOptions o, bool last, ReadOnlySpan<float> h, ReadOnlySpan<float> g,
        ReadOnlySpan<float> gv, Span<float> gx, Span<float> gvPrevious)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var vth = Vector256.Create(c.VThreshold);
            var slope = Vector256.Create(c.Slope);
            var scale = Vector256.Create(c.Scale);
            var vReset = Vector256.Create(c.VReset);
            var gain = Vector256.Create(c.Gain);
            var decay = Vector256.Create(c.Decay);
            var one = Vector256.Create(1f);
            for (; i <= h.Length - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                Vector256<float> hi = Vector256.Create(h[i..]);
                Vector256<float> a = (hi - vth) * slope;
                a = one / (a * a + one);
                if (c.Scaled) a *= scale;
                Vector256<float> gh = Vector256.Create(g[i..]) * a;
                if (!last)
                {
                    Vector256<float> gvi = Vector256.Create(gv[i..]);
                    Vector256<float> keep = -(Vector256.GreaterThanOrEqual(hi, vth) & one) + one; // 1 − s
                    gh += o.Reset == ResetMode.Hard
                        ? (o.DetachReset ? gvi * keep : gvi * (keep + (-hi + vReset) * a))
                        : (o.DetachReset ? gvi : gvi * (-(a * vth) + one));
                }
                (gh * gain).CopyTo(gx[i..]);
                if (!gvPrevious.IsEmpty) (gh * decay).CopyTo(gvPrevious[i..]);
            }
        }
        for (; i < h.Length; i++)
        {
            float hi = h[i];
            float a = (hi - c.VThreshold) * c.Slope;
            a = 1f / (a * a + 1f);
            if (c.Scaled) a *= c.Scale;
            float gh = g[i] * a;
            if (!last)
            {
                float keep = -(hi >= c.VThreshold ? 1f : 0f) + 1f;
                gh += o.Reset == ResetMode.Hard
                    ? (o.DetachReset ? gv[i] * keep : gv[i] * (keep + (-hi + c.VReset) * a))
                    : (o.DetachReset ? gv[i] : gv[i] * (-(a * c.VThreshold) + 1f));
            }
            gx[i] = gh * c.Gain;
            if (!gvPrevious.IsEmpty) gvPrevious[i] = gh * c.Decay;
        }
    }


    // a gradient as the kernel reads it: a sum's broadcast gradient, for one, is not contiguous (a new handle either way)
    private static Tensor Contiguous(Tensor g) => g.is_contiguous() ? g.alias() : g.contiguous();

    /// <summary>The options as the float scalars libtorch would use (a double scalar is rounded to float first).</summary>
    private readonly struct Constants(LifOptions o)
    {
        public readonly float Gain = (float)o.InputGain;
        public readonly float Decay = (float)o.Decay;
        public readonly float VThreshold = (float)o.VThreshold;
        public readonly float VReset = (float)o.VReset;
        public readonly float RestBias = (float)(o.VReset / o.Tau);
        public readonly bool HasBias = o.VReset != 0.0;
        public readonly bool Hard = o.Reset == ResetMode.Hard;
        public readonly float Slope = (float)(Math.PI / 2.0 * o.Alpha);
        public readonly float Scale = (float)(o.Alpha / 2.0);
        public readonly bool Scaled = o.Alpha / 2.0 != 1.0;
    }
}
