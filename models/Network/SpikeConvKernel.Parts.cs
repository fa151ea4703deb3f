using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using SpiKernel.Models.Compute;
using static TorchSharp.torch;

namespace SpiKernel.Models.Network;

// The pieces of SpikeConvKernel: shapes and native buffers, the inner loops, the 16×16 transposes.
internal static unsafe partial class SpikeConvKernel
{
    /// <summary>One call: its shapes, the position maps of its pixels, and the native buffers it and its parts use (freed by <see cref="Dispose"/>); runs the parts.</summary>
    private sealed class Geometry : IDisposable
    {
        private readonly List<nint> _blocks = [];

        public Geometry(Tensor spikes, int cout, int kernel)
        {
            (N, Cin, H, W) = ((int)spikes.shape[0], (int)spikes.shape[1], (int)spikes.shape[2], (int)spikes.shape[3]);
            (Cout, K, R) = (cout, kernel, kernel / 2);
            (Wp, Hp, Plane, Taps) = (W + 2 * R, H + 2 * R, H * W, kernel * kernel);
            PaddedPixels = Hp * Wp;
            Band = Math.Max(1, BandBytes / (Wp * Lanes * sizeof(float)) - 2 * R);
            try
            {
                SpikeAt = Allocate<int>(Plane);
                PixelAt = Allocate<int>(Plane);
            }
            catch
            {
                Dispose();
                throw;
            }
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++)
                {
                    SpikeAt[y * W + x] = (y + 2 * R) * Wp + x + 2 * R;
                    PixelAt[y * W + x] = (y + R) * Wp + x + R;
                }
        }

        public int N { get; }
        public int Cin { get; }
        public int Cout { get; }
        public int H { get; }
        public int W { get; }
        public int K { get; }
        public int R { get; }
        public int Wp { get; }
        public int Hp { get; }
        public int Plane { get; }
        public int Taps { get; }
        public int PaddedPixels { get; }

        /// <summary>Input rows per band.</summary>
        public int Band { get; }

        /// <summary>
        /// Input pixel (y, x) → the buffer position its tap (0, 0) reaches, output pixel (y + R, x + R) in a buffer with a
        /// halo of R: tap (dy, dx) reaches that position less dy·Wp + dx, never outside the buffer.
        /// </summary>
        public int* SpikeAt { get; }

        /// <summary>Output pixel (y, x) → its position in the buffer (halo R).</summary>
        public int* PixelAt { get; }

        /// <summary>
        /// Runs <paramref name="body"/> once per part of the images, on the OpenMP team, each with its own buffers; returns
        /// each part's weight-gradient rows ([k², Cin, Cout], zeroed before) when <paramref name="weightRows"/>.
        /// </summary>
        public float*[] ForImages(Action<Scratch> body, bool weightRows)
        {
            int parts = Math.Min(N, OpenMpTeam.Parts((long)N * Cin * Plane));
            var scratch = new Scratch[parts];
            for (int p = 0; p < parts; p++)
            {
                (int first, int count) = OpenMpTeam.Range(N, p, parts);
                scratch[p] = new Scratch(first, first + count, Allocate<float>((long)PaddedPixels * Cout), Allocate<int>((long)Cin * Plane + Lanes),
                    Allocate<int>((long)Cin * (H + 1)), weightRows ? Allocate<float>((long)Taps * Cin * Cout) : null);
                if (weightRows) // the gradient's buffer keeps its zero halo from here (the forward clears per image)
                {
                    new Span<float>(scratch[p].Pixels, PaddedPixels * Cout).Clear();
                    new Span<float>(scratch[p].WeightRows, Taps * Cin * Cout).Clear();
                }
            }
            OpenMpTeam.For(parts, p => body(scratch[p]));
            var rows = new float*[parts];
            for (int p = 0; p < parts; p++) rows[p] = scratch[p].WeightRows;
            return rows;
        }

        /// <summary>The weight [Cout, Cin, k, k] as rows [k², Cin, Cout] (freed with the geometry).</summary>
        public float* Rows(float* w)
        {
            float* rows = Allocate<float>((long)Taps * Cin * Cout);
            Reorder(w, rows, toRows: true);
            return rows;
        }

        /// <summary>[Cout, Cin, k, k] into rows [k², Cin, Cout] (<paramref name="toRows"/>), or rows back into [Cout, Cin, k, k].</summary>
        public void Reorder(float* from, float* to, bool toRows)
        {
            for (int co = 0; co < Cout; co++)
                for (int c = 0; c < Cin; c++)
                    for (int d = 0; d < Taps; d++)
                    {
                        long weight = ((long)co * Cin + c) * Taps + d, row = ((long)d * Cin + c) * Cout + co;
                        if (toRows) to[row] = from[weight];
                        else to[weight] = from[row];
                    }
        }

        private T* Allocate<T>(long count) where T : unmanaged
        {
            void* block = NativeMemory.AlignedAlloc((nuint)(count * sizeof(T)), 64);
            _blocks.Add((nint)block);
            return (T*)block;
        }

        public void Dispose()
        {
            foreach (nint block in _blocks) NativeMemory.AlignedFree((void*)block);
            _blocks.Clear();
        }
    }

    /// <summary>A part's images [First, End) and its buffers.</summary>
    private sealed class Scratch(int first, int end, float* pixels, int* positions, int* rowStarts, float* weightRows)
    {
        public int First { get; } = first;
        public int End { get; } = end;
        public float* Pixels { get; } = pixels;
        public int* Positions { get; } = positions;
        public int* RowStarts { get; } = rowStarts;
        public float* WeightRows { get; } = weightRows;
    }

    // 3×3: the nine weight rows of 16 output channels held in registers, added at the nine targets of each spike
    private static void Scatter3(float* acc, int* at, int count, long rowStride, float* w0, long tapStride)
    {
        Vector512<float> w00 = Vector512.Load(w0), w01 = Vector512.Load(w0 + tapStride), w02 = Vector512.Load(w0 + 2 * tapStride);
        Vector512<float> w10 = Vector512.Load(w0 + 3 * tapStride), w11 = Vector512.Load(w0 + 4 * tapStride), w12 = Vector512.Load(w0 + 5 * tapStride);
        Vector512<float> w20 = Vector512.Load(w0 + 6 * tapStride), w21 = Vector512.Load(w0 + 7 * tapStride), w22 = Vector512.Load(w0 + 8 * tapStride);
        for (int i = 0; i < count; i++)
        {
            float* b0 = acc + (long)at[i] * Lanes, b1 = b0 - rowStride, b2 = b1 - rowStride;
            Add(b0, w00); Add(b0 - Lanes, w01); Add(b0 - 2 * Lanes, w02);
            Add(b1, w10); Add(b1 - Lanes, w11); Add(b1 - 2 * Lanes, w12);
            Add(b2, w20); Add(b2 - Lanes, w21); Add(b2 - 2 * Lanes, w22);
        }
    }

    // 3×3 weight gradient: nine sums of 16 output channels in registers, one per tap, over the spikes of one channel
    private static void Gather3(float* grad, int* at, int count, long rowStride, float* d0, long tapStride)
    {
        Vector512<float> a00 = default, a01 = default, a02 = default, a10 = default, a11 = default, a12 = default,
            a20 = default, a21 = default, a22 = default;
        for (int i = 0; i < count; i++)
        {
            float* b0 = grad + (long)at[i] * Lanes, b1 = b0 - rowStride, b2 = b1 - rowStride;
            a00 += Vector512.Load(b0); a01 += Vector512.Load(b0 - Lanes); a02 += Vector512.Load(b0 - 2 * Lanes);
            a10 += Vector512.Load(b1); a11 += Vector512.Load(b1 - Lanes); a12 += Vector512.Load(b1 - 2 * Lanes);
            a20 += Vector512.Load(b2); a21 += Vector512.Load(b2 - Lanes); a22 += Vector512.Load(b2 - 2 * Lanes);
        }
        Add(d0, a00); Add(d0 + tapStride, a01); Add(d0 + 2 * tapStride, a02);
        Add(d0 + 3 * tapStride, a10); Add(d0 + 4 * tapStride, a11); Add(d0 + 5 * tapStride, a12);
        Add(d0 + 6 * tapStride, a20); Add(d0 + 7 * tapStride, a21); Add(d0 + 8 * tapStride, a22);
    }

    // any k: one tap at a time
    private static void ScatterAny(float* acc, int* at, int count, Geometry g, float* w0, long tapStride)
    {
        for (int dy = 0; dy < g.K; dy++)
            for (int dx = 0; dx < g.K; dx++)
            {
                Vector512<float> w = Vector512.Load(w0 + (dy * g.K + dx) * tapStride);
                float* b = acc - ((long)dy * g.Wp + dx) * Lanes;
                for (int i = 0; i < count; i++) Add(b + (long)at[i] * Lanes, w);
            }
    }

    private static void GatherAny(float* grad, int* at, int count, Geometry g, float* d0, long tapStride)
    {
        for (int dy = 0; dy < g.K; dy++)
            for (int dx = 0; dx < g.K; dx++)
            {
                Vector512<float> a = default;
                float* b = grad - ((long)dy * g.Wp + dx) * Lanes;
                for (int i = 0; i < count; i++) a += Vector512.Load(b + (long)at[i] * Lanes);
                Add(d0 + (dy * g.K + dx) * tapStride, a);
            }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Add(float* at, Vector512<float> v) => Vector512.Store(Vector512.Load(at) + v, at);

    /// <summary>
    /// Between the padded pixel-major buffer and <paramref name="planes"/> [Cout, H, W]: its output pixels into the planes
    /// (<paramref name="toPlanes"/>), or the planes into it (its halo left as it is).
    /// </summary>
    private static void Transposed(float* pixels, float* planes, Geometry g, bool toPlanes)
    {
        int q0 = 0;
        if (Avx512F.IsSupported)
        {
            float** rows = stackalloc float*[Lanes];
            float** channels = stackalloc float*[Lanes];
            for (; q0 + Lanes <= g.Plane; q0 += Lanes)
                for (int c0 = 0; c0 < g.Cout; c0 += Lanes)
                {
                    for (int i = 0; i < Lanes; i++)
                    {
                        rows[i] = pixels + ((long)c0 * g.PaddedPixels + (long)g.PixelAt[q0 + i] * Lanes);
                        channels[i] = planes + (long)(c0 + i) * g.Plane + q0;
                    }
                    if (toPlanes) Transpose16(rows, channels);
                    else Transpose16(channels, rows);
                }
        }
        for (int q = q0; q < g.Plane; q++)
            for (int co = 0; co < g.Cout; co++)
            {
                ref float plane = ref planes[(long)co * g.Plane + q], pixel = ref pixels[At(g, q, co)];
                if (toPlanes) plane = pixel;
                else pixel = plane;
            }
    }

    // output pixel q, channel co in the buffer [Cout/16, padded pixel, 16]
    private static long At(Geometry g, int q, int co) => (long)(co - co % Lanes) * g.PaddedPixels + (long)g.PixelAt[q] * Lanes + co % Lanes;

    /// <summary>
    /// A 16×16 block: element j of the 16 floats at <paramref name="from"/>[i] goes to element i at <paramref name="to"/>[j].
    /// Locals, not arrays, so that the 32 vectors stay in registers.
    /// </summary>
    private static void Transpose16(float** from, float** to)
    {
        Vector512<float> r0 = Vector512.Load(from[0]);
        Vector512<float> r1 = Vector512.Load(from[1]);
        Vector512<float> r2 = Vector512.Load(from[2]);
        Vector512<float> r3 = Vector512.Load(from[3]);
        Vector512<float> r4 = Vector512.Load(from[4]);
        Vector512<float> r5 = Vector512.Load(from[5]);
        Vector512<float> r6 = Vector512.Load(from[6]);
        Vector512<float> r7 = Vector512.Load(from[7]);
        Vector512<float> r8 = Vector512.Load(from[8]);
        Vector512<float> r9 = Vector512.Load(from[9]);
        Vector512<float> r10 = Vector512.Load(from[10]);
        Vector512<float> r11 = Vector512.Load(from[11]);
        Vector512<float> r12 = Vector512.Load(from[12]);
        Vector512<float> r13 = Vector512.Load(from[13]);
        Vector512<float> r14 = Vector512.Load(from[14]);
        Vector512<float> r15 = Vector512.Load(from[15]);
        Vector512<float> t0 = Avx512F.UnpackLow(r0, r1), t1 = Avx512F.UnpackHigh(r0, r1);
        Vector512<float> t2 = Avx512F.UnpackLow(r2, r3), t3 = Avx512F.UnpackHigh(r2, r3);
        Vector512<float> t4 = Avx512F.UnpackLow(r4, r5), t5 = Avx512F.UnpackHigh(r4, r5);
        Vector512<float> t6 = Avx512F.UnpackLow(r6, r7), t7 = Avx512F.UnpackHigh(r6, r7);
        Vector512<float> t8 = Avx512F.UnpackLow(r8, r9), t9 = Avx512F.UnpackHigh(r8, r9);
        Vector512<float> t10 = Avx512F.UnpackLow(r10, r11), t11 = Avx512F.UnpackHigh(r10, r11);
        Vector512<float> t12 = Avx512F.UnpackLow(r12, r13), t13 = Avx512F.UnpackHigh(r12, r13);
        Vector512<float> t14 = Avx512F.UnpackLow(r14, r15), t15 = Avx512F.UnpackHigh(r14, r15);
        r0 = Avx512F.UnpackLow(t0.AsDouble(), t2.AsDouble()).AsSingle(); r1 = Avx512F.UnpackHigh(t0.AsDouble(), t2.AsDouble()).AsSingle();
        r2 = Avx512F.UnpackLow(t1.AsDouble(), t3.AsDouble()).AsSingle(); r3 = Avx512F.UnpackHigh(t1.AsDouble(), t3.AsDouble()).AsSingle();
        r4 = Avx512F.UnpackLow(t4.AsDouble(), t6.AsDouble()).AsSingle(); r5 = Avx512F.UnpackHigh(t4.AsDouble(), t6.AsDouble()).AsSingle();
        r6 = Avx512F.UnpackLow(t5.AsDouble(), t7.AsDouble()).AsSingle(); r7 = Avx512F.UnpackHigh(t5.AsDouble(), t7.AsDouble()).AsSingle();
        r8 = Avx512F.UnpackLow(t8.AsDouble(), t10.AsDouble()).AsSingle(); r9 = Avx512F.UnpackHigh(t8.AsDouble(), t10.AsDouble()).AsSingle();
        r10 = Avx512F.UnpackLow(t9.AsDouble(), t11.AsDouble()).AsSingle(); r11 = Avx512F.UnpackHigh(t9.AsDouble(), t11.AsDouble()).AsSingle();
        r12 = Avx512F.UnpackLow(t12.AsDouble(), t14.AsDouble()).AsSingle(); r13 = Avx512F.UnpackHigh(t12.AsDouble(), t14.AsDouble()).AsSingle();
        r14 = Avx512F.UnpackLow(t13.AsDouble(), t15.AsDouble()).AsSingle(); r15 = Avx512F.UnpackHigh(t13.AsDouble(), t15.AsDouble()).AsSingle();
        t0 = Avx512F.Shuffle4x128(r0, r4, 0x88); t4 = Avx512F.Shuffle4x128(r0, r4, 0xDD);
        t1 = Avx512F.Shuffle4x128(r1, r5, 0x88); t5 = Avx512F.Shuffle4x128(r1, r5, 0xDD);
        t2 = Avx512F.Shuffle4x128(r2, r6, 0x88); t6 = Avx512F.Shuffle4x128(r2, r6, 0xDD);
        t3 = Avx512F.Shuffle4x128(r3, r7, 0x88); t7 = Avx512F.Shuffle4x128(r3, r7, 0xDD);
        t8 = Avx512F.Shuffle4x128(r8, r12, 0x88); t12 = Avx512F.Shuffle4x128(r8, r12, 0xDD);
        t9 = Avx512F.Shuffle4x128(r9, r13, 0x88); t13 = Avx512F.Shuffle4x128(r9, r13, 0xDD);
        t10 = Avx512F.Shuffle4x128(r10, r14, 0x88); t14 = Avx512F.Shuffle4x128(r10, r14, 0xDD);
        t11 = Avx512F.Shuffle4x128(r11, r15, 0x88); t15 = Avx512F.Shuffle4x128(r11, r15, 0xDD);
        Vector512.Store(Avx512F.Shuffle4x128(t0, t8, 0x88), to[0]); Vector512.Store(Avx512F.Shuffle4x128(t0, t8, 0xDD), to[8]);
        Vector512.Store(Avx512F.Shuffle4x128(t1, t9, 0x88), to[1]); Vector512.Store(Avx512F.Shuffle4x128(t1, t9, 0xDD), to[9]);
        Vector512.Store(Avx512F.Shuffle4x128(t2, t10, 0x88), to[2]); Vector512.Store(Avx512F.Shuffle4x128(t2, t10, 0xDD), to[10]);
        Vector512.Store(Avx512F.Shuffle4x128(t3, t11, 0x88), to[3]); Vector512.Store(Avx512F.Shuffle4x128(t3, t11, 0xDD), to[11]);
        Vector512.Store(Avx512F.Shuffle4x128(t4, t12, 0x88), to[4]); Vector512.Store(Avx512F.Shuffle4x128(t4, t12, 0xDD), to[12]);
        Vector512.Store(Avx512F.Shuffle4x128(t5, t13, 0x88), to[5]); Vector512.Store(Avx512F.Shuffle4x128(t5, t13, 0xDD), to[13]);
        Vector512.Store(Avx512F.Shuffle4x128(t6, t14, 0x88), to[6]); Vector512.Store(Avx512F.Shuffle4x128(t6, t14, 0xDD), to[14]);
        Vector512.Store(Avx512F.Shuffle4x128(t7, t15, 0x88), to[7]); Vector512.Store(Avx512F.Shuffle4x128(t7, t15, 0xDD), to[15]);
    }
}
