using System.Collections.Concurrent;
using TorchSharp;

namespace SpiKernel.Models.Compute;

/// <summary>
/// The <see cref="Scalar"/>s this library hands libtorch, each made once and kept for the life of the process.
/// <para>
/// TorchSharp 0.107 passes a Scalar to libtorch as its bare native handle: once the handle is read, nothing keeps the
/// .NET object alive, and if a garbage collection on another thread finds it unreachable, its finalizer frees the native
/// scalar while libtorch still reads it ("Expected false to be true … toFloat at c10/core/Scalar.h"). Every tensor
/// operation with a number makes such a temporary (<c>x + 0.0</c>, <c>x * gain</c>, <c>x.ge(threshold)</c>), and so does
/// every <c>add</c> of two tensors, for its implicit α = 1 (<c>sub</c> has none), and <c>ToDouble()</c> (read with
/// <c>item&lt;T&gt;()</c> instead). The library's code passes these instead: <c>x.add(Scalars.Of(0.0), Scalars.One)</c>,
/// <c>a.add(b, Scalars.One)</c>, <c>x.mul(Scalars.Of(gain))</c>. The values are constants of a network and its data —
/// LIF settings, kernel sizes, momenta, batch sizes, the integer form's per-layer steps — never of a training step, so
/// the cache stays small.
/// </para>
/// </summary>
internal static class Scalars
{
    private static readonly ConcurrentDictionary<long, Scalar> s_reals = new(); // by bit pattern: +0 and −0 are two
    private static readonly ConcurrentDictionary<long, Scalar> s_integers = new();

    /// <summary>The integer 1: the α of a plain <c>add</c> or <c>sub</c>.</summary>
    public static Scalar One { get; } = Of(1L);

    /// <summary>A double scalar of <paramref name="value"/> (what <c>x + value</c> would make).</summary>
    public static Scalar Of(double value) => s_reals.GetOrAdd(BitConverter.DoubleToInt64Bits(value), bits => BitConverter.Int64BitsToDouble(bits).ToScalar());

    /// <summary>An integer scalar of <paramref name="value"/> (what <c>x + value</c> would make for an integer).</summary>
    public static Scalar Of(long value) => s_integers.GetOrAdd(value, v => v.ToScalar());
}
