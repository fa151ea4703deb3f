using System.Runtime.Intrinsics;
using SpiKernel.Models.Compute;
using static TorchSharp.torch;

namespace SpiKernel.Models.Network;

/// <summary>
/// Training-mode BatchNorm arithmetic over a contiguous float32 [N, C, S…] tensor in 256-bit vectors: the batch
/// statistics in one pass, the normalisation in one, and backward in two (the per-channel sums of dy and dy·(x − μ),
/// then the input gradient). libtorch 2.10's CPU kernels collect the statistics one element at a time in double
/// precision, two passes per channel (7 % of a training step in a profile), and run the backward sums on one thread;
/// here each channel's N rows of S values are summed in vectors of doubles, split by channel over libtorch's OpenMP
/// team (<see cref="OpenMpTeam"/>).
/// <para>
/// The variance is taken around the channel's first value (sums of x − k and (x − k)²), so its one-pass form loses
/// nothing to cancellation when the mean is large against the spread. Results agree with libtorch within float
/// rounding, not to the bit (summation order): BatchNormKernelTests.
/// </para>
/// </summary>
internal static class BatchNormKernel
{
    /// <summary>Whether the kernel handles <paramref name="x"/>: contiguous float32 on the CPU, [N, C, …] with more than one value per channel.</summary>
    public static bool Supports(Tensor x) =>
        x.dtype == ScalarType.Float32 && x.device_type == TorchSharp.DeviceType.CPU && x.dim() >= 2 && x.is_contiguous()
        && x.numel() * sizeof(float) <= int.MaxValue && x.numel() > x.shape[1];

    /// <summary>
    /// Per-channel mean and biased variance of <paramref name="x"/> ([N, C, S…]) into <paramref name="mean"/> and
    /// <paramref name="variance"/> (C values each).
    /// </summary>
    public static void Statistics(Tensor x, double[] mean, double[] variance)
    {
        var (n, c, s) = Dims(x);
        OverChannels(x, (c0, c1) =>
        {
            ReadOnlySpan<float> xs = TensorMemory.Floats(x);
            for (int ch = c0; ch < c1; ch++) mean[ch] = variance[ch] = 0;
            for (int i = 0; i < n; i++) // rows in memory order; each part sums its own channels
                for (int ch = c0; ch < c1; ch++)
                {
                    (double a, double b) = ShiftedSums(xs.Slice((i * c + ch) * s, s), xs[ch * s]);
                    mean[ch] += a;
                    variance[ch] += b;
                }
            double count = (double)n * s;
            for (int ch = c0; ch < c1; ch++)
            {
                double m = mean[ch] / count;
                variance[ch] = Math.Max(0.0, variance[ch] / count - m * m);
                mean[ch] = xs[ch * s] + m;
            }
        });
    }

    /// <summary>y = x·scale[c] + shift[c] over <paramref name="x"/> into <paramref name="y"/> (same shape).</summary>
    public static void Affine(Tensor x, float[] scale, float[] shift, Tensor y)
    {
        var (_, c, s) = Dims(x);
        OverRows(x, (r0, r1) =>
        {
            ReadOnlySpan<float> xs = TensorMemory.Floats(x);
            Span<float> ys = TensorMemory.Floats(y);
            for (int r = r0; r < r1; r++)
                MultiplyAdd(xs.Slice(r * s, s), scale[r % c], shift[r % c], ys.Slice(r * s, s));
        });
    }

    /// <summary>Per-channel Σ dy (into <paramref name="sumGrad"/>) and Σ dy·(x − μ) (into <paramref name="sumGradCentred"/>).</summary>
    public static void GradientSums(Tensor x, Tensor dy, float[] mean, double[] sumGrad, double[] sumGradCentred)
    {
        var (n, c, s) = Dims(x);
        OverChannels(x, (c0, c1) =>
        {
            ReadOnlySpan<float> xs = TensorMemory.Floats(x), gs = TensorMemory.Floats(dy);
            for (int ch = c0; ch < c1; ch++) sumGrad[ch] = sumGradCentred[ch] = 0;
            for (int i = 0; i < n; i++)
                for (int ch = c0; ch < c1; ch++)
                {
                    int at = (i * c + ch) * s;
                    (double a, double b) = GradientRowSums(xs.Slice(at, s), gs.Slice(at, s), mean[ch]);
                    sumGrad[ch] += a;
                    sumGradCentred[ch] += b;
                }
        });
    }

    /// <summary>dx = (dy − g[c] − (x − μ[c])·k[c])·a[c] into <paramref name="dx"/>: BatchNorm's input gradient.</summary>
    public static void InputGradient(Tensor x, Tensor dy, float[] mean, float[] g, float[] k, float[] a, Tensor dx)
    {
        var (_, c, s) = Dims(x);
        OverRows(x, (r0, r1) =>
        {
            ReadOnlySpan<float> xs = TensorMemory.Floats(x), gs = TensorMemory.Floats(dy);
            Span<float> ds = TensorMemory.Floats(dx);
            for (int r = r0; r < r1; r++)
            {
                int ch = r % c;
                InputGradientRow(xs.Slice(r * s, s), gs.Slice(r * s, s), mean[ch], g[ch], k[ch], a[ch], ds.Slice(r * s, s));
            }
        });
    }

    // channel ranges [c0, c1) over the OpenMP team: a channel's sums never depend on the number of threads
    private static void OverChannels(Tensor x, Action<int, int> body) => OpenMpTeam.ForRanges((int)x.shape[1], x.numel(), 1, body);

    // row ranges [r0, r1) of the N·C rows of S values over the OpenMP team
    private static void OverRows(Tensor x, Action<int, int> body) => OpenMpTeam.ForRanges((int)(x.shape[0] * x.shape[1]), x.numel(), 1, body);

    // Σ (x − k) and Σ (x − k)² in double lanes: float partial sums would round a change in the last bit of one input
    // into a change of a sum's last bit, a hundred times larger; in double it stays below float resolution
    private static (double Sum, double Squares) ShiftedSums(ReadOnlySpan<float> x, double k)
    {
        int i = 0;
        double sum = 0, squares = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var kv = Vector256.Create(k);
            Vector256<double> s0 = default, s1 = default, q0 = default, q1 = default;
            for (; i <= x.Length - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                (Vector256<double> lo, Vector256<double> hi) = Vector256.Widen(Vector256.Create(x[i..]));
                lo -= kv;
                hi -= kv;
                s0 += lo;
                s1 += hi;
                q0 += lo * lo;
                q1 += hi * hi;
            }
            sum = Vector256.Sum(s0 + s1);
            squares = Vector256.Sum(q0 + q1);
        }
        for (; i < x.Length; i++)
        {
            double d = x[i] - k;
            sum += d;
            squares += d * d;
        }
        return (sum, squares);
    }

    private static (double Sum, double SumCentred) GradientRowSums(ReadOnlySpan<float> x, ReadOnlySpan<float> g, double mean)
    {
        int i = 0;
        double sum = 0, centred = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var mv = Vector256.Create(mean);
            Vector256<double> s0 = default, s1 = default, c0 = default, c1 = default;
            for (; i <= x.Length - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                (Vector256<double> glo, Vector256<double> ghi) = Vector256.Widen(Vector256.Create(g[i..]));
                (Vector256<double> xlo, Vector256<double> xhi) = Vector256.Widen(Vector256.Create(x[i..]));
                s0 += glo;
                s1 += ghi;
                c0 += (xlo - mv) * glo;
                c1 += (xhi - mv) * ghi;
            }
            sum = Vector256.Sum(s0 + s1);
            centred = Vector256.Sum(c0 + c1);
        }
        for (; i < x.Length; i++)
        {
            sum += g[i];
            centred += (x[i] - mean) * g[i];
        }
        return (sum, centred);
    }

    private static void MultiplyAdd(ReadOnlySpan<float> x, float scale, float shift, Span<float> y)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var sv = Vector256.Create(scale);
            var bv = Vector256.Create(shift);
            for (; i <= x.Length - Vector256<float>.Count; i += Vector256<float>.Count)
                (Vector256.Create(x[i..]) * sv + bv).CopyTo(y[i..]);
        }
        for (; i < x.Length; i++) y[i] = x[i] * scale + shift;
    }

    private static void InputGradientRow(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, float mean, float g, float k, float a, Span<float> dx)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var mv = Vector256.Create(mean);
            var gv = Vector256.Create(g);
            var kv = Vector256.Create(k);
            var av = Vector256.Create(a);
            for (; i <= x.Length - Vector256<float>.Count; i += Vector256<float>.Count)
                ((Vector256.Create(dy[i..]) - gv - (Vector256.Create(x[i..]) - mv) * kv) * av).CopyTo(dx[i..]);
        }
        for (; i < x.Length; i++) dx[i] = (dy[i] - g - (x[i] - mean) * k) * a;
    }

    private static (int N, int C, int S) Dims(Tensor x)
    {
        int n = (int)x.shape[0], c = (int)x.shape[1];
        return (n, c, (int)(x.numel() / ((long)n * c)));
    }
}
