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
/// rows of dW. With the 10–25 % firing rates of these networks that is 4–10 times fewer operations than the dense
/// form. Layout: per image, the spikes' positions per channel (compressed from the NCHW tensor), and the output (or the
/// output gradient) as a pixel-major buffer [Cout/16, padded pixel, 16] with a halo of 2·(k/2) so that no spike needs a bounds
/// check, in blocks of 16 channels (a block's pixels one cache line apart: no cache-set conflicts); transposed from and
/// to NCHW in 16×16 blocks. Input rows are taken in bands whose part of that buffer stays
/// in the L1 cache while every channel adds to it.
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
    /// Whether the shapes are the kernel's: contiguous float32 CPU tensors, spikes [N, Cin, H, W], weight [Cout, Cin, k, k]
    /// with odd k ≥ 3 and Cout a multiple of 16.
    /// </summary>
    public static bool Handles(Tensor spikes, Tensor weight) =>
        spikes.dtype == ScalarType.Float32 && weight.dtype == ScalarType.Float32
        && spikes.device_type == TorchSharp.DeviceType.CPU && weight.device_type == TorchSharp.DeviceType.CPU
        && spikes.dim() == 4 && weight.dim() == 4 && spikes.is_contiguous() && weight.is_contiguous()
        && weight.shape[2] == weight.shape[3] && weight.shape[2] % 2 == 1 && weight.shape[2] >= 3
        && weight.shape[0] % Lanes == 0 && weight.shape[1] == spikes.shape[1]
        && spikes.numel() <= int.MaxValue && (weight.shape[0] * spikes.shape[0] * spikes.shape[2] * spikes.shape[3]) <= int.MaxValue;

    /// <summary>The convolution of <paramref name="spikes"/> [N, Cin, H, W] with <paramref name="weight"/> [Cout, Cin, k, k]: a new [N, Cout, H, W].</summary>
    public static Tensor Forward(Tensor spikes, Tensor weight)
    {
        var g = new Geometry(spikes, (int)weight.shape[0], (int)weight.shape[2]);
        Tensor y = empty([g.N, g.Cout, g.H, g.W], ScalarType.Float32);
        float* s = TensorMemory.Address(spikes), yp = TensorMemory.Address(y);
        float* wt = Rows(TensorMemory.Address(weight), g);
        try
        {
            g.ForImages(scratch =>
            {
                for (int n = scratch.First; n < scratch.End; n++)
                    ForwardImage(s + (long)n * g.Cin * g.Plane, wt, yp + (long)n * g.Cout * g.Plane, scratch, g);
            }, weightRows: false);
        }
        finally
        {
            NativeMemory.AlignedFree(wt);
            g.Dispose();
        }
        return y;
    }

    /// <summary>dL/dW [Cout, Cin, k, k] of the convolution of <paramref name="spikes"/> [N, Cin, H, W], given dL/dy <paramref name="gradOutput"/> [N, Cout, H, W] (contiguous).</summary>
    public static Tensor WeightGradient(Tensor spikes, Tensor gradOutput, int kernel)
    {
        var g = new Geometry(spikes, (int)gradOutput.shape[1], kernel);
        float* s = TensorMemory.Address(spikes), dy = TensorMemory.Address(gradOutput);
        Tensor dw = empty([g.Cout, g.Cin, kernel, kernel], ScalarType.Float32);
        float* dwp = TensorMemory.Address(dw);
        try
        {
            float*[] sums = g.ForImages(scratch =>
            {
                for (int n = scratch.First; n < scratch.End; n++)
                    WeightGradientImage(s + (long)n * g.Cin * g.Plane, dy + (long)n * g.Cout * g.Plane, scratch, g);
            }, weightRows: true);
            // the parts' sums in part order, from [k², Cin, Cout] rows to [Cout, Cin, k, k]
            for (int co = 0; co < g.Cout; co++)
                for (int c = 0; c < g.Cin; c++)
                    for (int d = 0; d < g.Taps; d++)
                    {
                        long at = ((long)d * g.Cin + c) * g.Cout + co;
                        float sum = sums[0][at];
                        for (int p = 1; p < sums.Length; p++) sum += sums[p][at];
                        dwp[((long)co * g.Cin + c) * g.Taps + d] = sum;
                    }
        }
        finally
        {
            g.Dispose();
        }
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

    /// <summary>Per input channel, the padded-buffer positions of its spikes in pixel order, and where each row's start.</summary>
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
                    Vector512.Store(Avx512F.Compress(Vector512<int>.Zero, fired, Vector512.Load(g.InputRow + q)), list + n);
                    n += BitOperations.PopCount(fired.ExtractMostSignificantBits());
                }
            }
            for (; q < g.Plane; q++)
            {
                list[n] = g.InputRow[q];
                n += plane[q] != 0f ? 1 : 0;
            }
            // positions grow with the row: row y's spikes start at the first position at or past row y's first
            int* rows = sc.RowStarts + c * (g.H + 1);
            int i = 0;
            for (int y = 0; y < g.H; y++)
            {
                int first = g.InputRow[y * g.W];
                while (i < n && list[i] < first) i++;
                rows[y] = i;
            }
            rows[g.H] = n;
        }
    }
}
