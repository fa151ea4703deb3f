using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using static TorchSharp.torch;

namespace SpiKernel.Models.Lif;

/// <summary>
/// The multi-step LIF recurrence as one pass over memory: for every neuron the T timesteps run in registers and a small
/// block buffer, reading the currents once and writing spikes (and the charged membranes backward needs) once, in
/// 256-bit vectors on all of libtorch's threads. The tensor form of <see cref="MultiStepLif"/> does the same in ≈ 7
/// full-size passes per timestep forward and ≈ 10 backward, each a libtorch call with its own temporaries.
/// <para>
/// Every value is computed with the tensor form's float operations in its order — products rounded before sums (no
/// fused multiply-add), scalars rounded to float first, 1/x by division — so outputs and gradients are bit-identical
/// to it (LifKernelTests). Neurons are independent, so the work splits by neuron: block b holds the same neurons at
/// every timestep. Contiguous float32 CPU tensors with the ATan surrogate only; <see cref="Supports"/> says when.
/// libtorch's sigmoid uses its own vectorised exp, which this code would not reproduce to the bit.
/// </para>
/// </summary>
internal static class LifKernel
{
    private const int Block = 1024;          // neurons per block: the carried state stays in L1
    private const long ParallelFrom = 65536; // below this many neurons per timestep one thread does it all

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
        long neurons = x.numel() / steps;
        Split(neurons, (from, to) =>
        {
            ReadOnlySpan<float> xs = Floats(x);
            Span<float> ss = Floats(spikes), hs = charged is null ? default : Floats(charged);
            Span<float> v = stackalloc float[Block];
            for (long b = from; b < to; b += Block)
            {
                int n = (int)Math.Min(Block, to - b);
                for (int t = 0; t < steps; t++)
                {
                    int at = checked((int)(t * neurons + b));
                    ForwardStep(c, t == 0, xs.Slice(at, n), v[..n], ss.Slice(at, n), charged is null ? default : hs.Slice(at, n));
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
        long neurons = charged.numel() / steps;
        Tensor gradX = empty_like(charged);
        Split(neurons, (from, to) =>
        {
            ReadOnlySpan<float> hs = Floats(charged), gs = Floats(gradSpikes);
            Span<float> gx = Floats(gradX);
            Span<float> gv = stackalloc float[Block];
            for (long b = from; b < to; b += Block)
            {
                int n = (int)Math.Min(Block, to - b);
                for (int t = steps - 1; t >= 0; t--)
                {
                    int at = checked((int)(t * neurons + b));
                    BackwardStep(c, o, t == steps - 1, hs.Slice(at, n), gs.Slice(at, n), gv[..n], gx.Slice(at, n));
                }
            }
        });
        return gradX;
    }

    // h = decay·v + gain·x (+ v_reset/τ; first step gain·x + v_reset); s = h ≥ v_th; v = reset(h, s)
    private static void ForwardStep(in Constants c, bool first, ReadOnlySpan<float> x, Span<float> v, Span<float> s, Span<float> h)
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
                Vector256<float> next = c.Hard ? Vector256.ConditionalSelect(fired, vReset, hi) : hi - si * vth;
                next.CopyTo(v[i..]);
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
            v[i] = c.Hard ? (fired ? c.VReset : hi) : hi - si * c.VThreshold;
        }
    }

    // g_h = g_s·σ'(h − v_th) + g_v·∂v/∂h (g_v = 0 at the last step); g_x = g_h·gain; g_v ← g_h·decay
    private static void BackwardStep(in Constants c, LifOptions o, bool last, ReadOnlySpan<float> h, ReadOnlySpan<float> g,
        Span<float> gv, Span<float> gx)
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
                (gh * decay).CopyTo(gv[i..]);
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
            gv[i] = gh * c.Decay;
        }
    }

    // neuron blocks split evenly over libtorch's thread count (one thread for small layers)
    private static void Split(long neurons, Action<long, long> work)
    {
        long blocks = (neurons + Block - 1) / Block;
        int parts = neurons < ParallelFrom ? 1 : (int)Math.Min(get_num_threads(), blocks);
        if (parts <= 1)
        {
            work(0, neurons);
            return;
        }
        Parallel.For(0, parts, p => work(blocks * p / parts * Block, Math.Min(neurons, blocks * (p + 1) / parts * Block)));
    }

    // the tensor's own memory (contiguous CPU float32, checked by Supports / the callers' allocations)
    private static Span<float> Floats(Tensor t) => MemoryMarshal.Cast<byte, float>(t.bytes);

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
