using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using SpiKernel.Models.Compute;
using static TorchSharp.torch;

namespace SpiKernel.Models.Network;

/// <summary>
/// A stride-1, "same"-padded k×k convolution (odd k ≥ 3, no bias) whose input is spikes — every value exactly 0 or 1 —
/// computed in proportion to the spikes, not to the positions: the forward pass and the weight gradient.
/// <para>
/// A dense convolution multiplies every weight by every input value; here, for each spike of input channel c at pixel
/// q, the forward pass adds the k² weight rows W[·, c, dy, dx] (all output channels, 16 to a 512-bit vector) to the k²
/// output pixels the spike reaches, and the weight gradient adds the output gradients of those pixels into the k²
/// rows of dW. At the 6–22 % firing rates of these networks (results.layers.csv) that is 4–16 times fewer operations
/// than the dense form. Layout: per image, the spikes' positions per channel (compressed from the NCHW tensor), and the
/// output (or the output gradient) as a pixel-major buffer [Cout/16, padded pixel, 16] with a halo of k/2, the
/// positions offset so that no tap of a spike leaves it (no bounds checks); 16 channels to a block, a block's pixels one
/// cache line apart (no cache-set conflicts); transposed from and to NCHW in 16×16 blocks. Input rows are taken in bands
/// whose part of that buffer (24 KiB, unless one row of it is larger) stays in the L1 cache while every channel adds to it.
/// </para>
/// <para>
/// Sums run in another order than a dense kernel's: results agree with libtorch's convolution within float rounding
/// (SpikeConvKernelTests). Images are split over libtorch's OpenMP team; the forward result does not depend on the
/// split, the weight gradient sums each part's images first (as libtorch's own kernels, it depends on the thread count).
/// The input must be spikes: a value other than 0 counts as 1.
/// </para>
/// </summary>
internal static unsafe partial class SpikeConvKernel
{
    private const int Lanes = 16;             // output channels per vector
    private const int BandBytes = 24 * 1024;  // the part of the pixel-major buffer one band touches

    /// <summary>Whether this machine runs the kernel at speed (AVX-512); elsewhere it computes the same, slowly.</summary>
    public static bool Fast => Avx512F.IsSupported && Vector512.IsHardwareAccelerated;

    /// <summary>Whether training should use the kernel for <paramref name="spikes"/> ⊛ <paramref name="weight"/>: <see cref="Fast"/> and <see cref="Handles"/>.</summary>
    public static bool Supports(Tensor spikes, Tensor weight) => Fast && Handles(spikes, weight);

    /// <summary>
    /// Whether the shapes are the kernel's: contiguous float32 CPU tensors, spikes [N ≥ 1, Cin, H, W], weight [Cout, Cin,
    /// k, k] with odd k ≥ 3 and Cout a multiple of 16; every tensor and buffer under 2 GiB (the addressable span).
    /// </summary>
    public static bool Handles(Tensor spikes, Tensor weight)
    {
        if (spikes.dtype != ScalarType.Float32 || weight.dtype != ScalarType.Float32
            || spikes.device_type != TorchSharp.DeviceType.CPU || weight.device_type != TorchSharp.DeviceType.CPU
            || spikes.dim() != 4 || weight.dim() != 4 || !spikes.is_contiguous() || !weight.is_contiguous())
            return false;
        (long n, long cin, long h, long w) = (spikes.shape[0], spikes.shape[1], spikes.shape[2], spikes.shape[3]);
        (long cout, long k) = (weight.shape[0], weight.shape[2]);
        if (n < 1 || weight.shape[1] != cin || weight.shape[3] != k || k % 2 == 0 || k < 3 || cout % Lanes != 0) return false;
        long padded = (h + k - 1) * (w + k - 1);
        return Fits(n * cin * h * w) && Fits(n * cout * h * w) && Fits(k * k * cin * cout) && Fits(padded * cout) && Fits(cin * h * w + Lanes);
    }

    // a float (or int) count whose bytes a span reaches
    private static bool Fits(long count) => count * sizeof(float) <= int.MaxValue;

    /// <summary>The convolution of <paramref name="spikes"/> [N, Cin, H, W] with <paramref name="weight"/> [Cout, Cin, k, k]: a new [N, Cout, H, W].</summary>
    public static Tensor Forward(Tensor spikes, Tensor weight)
    {
        using var g = new Geometry(spikes, (int)weight.shape[0], (int)weight.shape[2]);
        float* s = TensorMemory.Address(spikes), wt = g.Rows(TensorMemory.Address(weight));
        Tensor y = empty([g.N, g.Cout, g.H, g.W], ScalarType.Float32);
        float* yp = TensorMemory.Address(y);
        g.ForImages(scratch =>
        {
            for (int n = scratch.First; n < scratch.End; n++)
                ForwardImage(s + (long)n * g.Cin * g.Plane, wt, yp + (long)n * g.Cout * g.Plane, scratch, g);
        }, weightRows: false);
        return y;
    }

    /// <summary>dL/dW [Cout, Cin, k, k] of the convolution of <paramref name="spikes"/> [N, Cin, H, W], given dL/dy <paramref name="gradOutput"/> [N, Cout, H, W] (contiguous).</summary>
    public static Tensor WeightGradient(Tensor spikes, Tensor gradOutput, int kernel)
    {
        using var g = new Geometry(spikes, (int)gradOutput.shape[1], kernel);
        float* s = TensorMemory.Address(spikes), dy = TensorMemory.Address(gradOutput);
        float*[] sums = g.ForImages(scratch =>
        {
            for (int n = scratch.First; n < scratch.End; n++)
                WeightGradientImage(s + (long)n * g.Cin * g.Plane, dy + (long)n * g.Cout * g.Plane, scratch, g);
        }, weightRows: true);
        // the parts' sums in part order (into the first part's rows), then from [k², Cin, Cout] to [Cout, Cin, k, k]
        long size = (long)g.Taps * g.Cin * g.Cout;
        for (int p = 1; p < sums.Length; p++)
            for (long i = 0; i < size; i++) sums[0][i] += sums[p][i];
        Tensor dw = empty([g.Cout, g.Cin, kernel, kernel], ScalarType.Float32);
        g.Reorder(sums[0], TensorMemory.Address(dw), toRows: false);
        return dw;
    }

    private static void ForwardImage(float* s, float* wt, float* y, Scratch sc, Geometry g)
    {
        new Span<float>(sc.Pixels, g.PaddedPixels * g.Cout).Clear();
        Positions(s, sc, g);
        OverSpikes(sc, g, wt, gradient: false);
        Transposed(sc.Pixels, y, g, toPlanes: true);
    }

    // sc.Pixels: the halo zero (cleared once per part), the inside overwritten by every image
    private static void WeightGradientImage(float* s, float* dy, Scratch sc, Geometry g)
    {
        Transposed(sc.Pixels, dy, g, toPlanes: false);
        Positions(s, sc, g);
        OverSpikes(sc, g, sc.WeightRows, gradient: true);
    }

    /// <summary>
    /// Band by band, 16 output channels at a time, channel by channel: each spike adds the weight rows
    /// <paramref name="rows"/> to the buffer (forward), or sums the buffer into the rows (<paramref name="gradient"/>).
    /// </summary>
    private static void OverSpikes(Scratch sc, Geometry g, float* rows, bool gradient)
    {
        long rowStride = (long)g.Wp * Lanes, tapStride = (long)g.Cin * g.Cout;
        for (int y0 = 0; y0 < g.H; y0 += g.Band)
        {
            int y1 = Math.Min(g.H, y0 + g.Band);
            for (int co = 0; co < g.Cout; co += Lanes)
                for (int c = 0; c < g.Cin; c++)
                {
                    int* starts = sc.RowStarts + c * (g.H + 1);
                    int from = starts[y0], count = starts[y1] - from;
                    if (count == 0) continue;
                    int* at = sc.Positions + (long)c * g.Plane + from;
                    float* block = sc.Pixels + (long)co * g.PaddedPixels, row = rows + (long)c * g.Cout + co;
                    if (gradient && g.K == 3) Gather3(block, at, count, rowStride, row, tapStride);
                    else if (gradient) GatherAny(block, at, count, g, row, tapStride);
                    else if (g.K == 3) Scatter3(block, at, count, rowStride, row, tapStride);
                    else ScatterAny(block, at, count, g, row, tapStride);
                }
        }
    }

    /// <summary>Per input channel, the buffer positions of its spikes (<see cref="Geometry.SpikeAt"/>) in pixel order, and where each image row's spikes start.</summary>
    private static void Positions(float* s, Scratch sc, Geometry g)
    {
        for (int c = 0; c < g.Cin; c++)
        {
            float* plane = s + (long)c * g.Plane;
            int* list = sc.Positions + (long)c * g.Plane;
            int n = 0, q = 0;
            if (Avx512F.IsSupported)
            {
                for (; q + Lanes <= g.Plane; q += Lanes)
                {
                    Vector512<int> fired = ~Vector512.Equals(Vector512.Load(plane + q), Vector512<float>.Zero).AsInt32();
                    Vector512.Store(Avx512F.Compress(Vector512<int>.Zero, fired, Vector512.Load(g.SpikeAt + q)), list + n);
                    n += BitOperations.PopCount(fired.ExtractMostSignificantBits());
                }
            }
            for (; q < g.Plane; q++)
            {
                list[n] = g.SpikeAt[q];
                n += plane[q] != 0f ? 1 : 0;
            }
            // positions grow with the row: row y's spikes start at the first position at or past row y's first
            int* rows = sc.RowStarts + c * (g.H + 1);
            int i = 0;
            for (int y = 0; y < g.H; y++)
            {
                int first = g.SpikeAt[y * g.W];
                while (i < n && list[i] < first) i++;
                rows[y] = i;
            }
            rows[g.H] = n;
        }
    }
}
