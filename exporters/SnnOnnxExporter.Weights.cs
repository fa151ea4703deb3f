using static SpiKernel.Core.OnnxFormat.OnnxHelper;
using static TorchSharp.torch;

namespace SpiKernel.Exporters;

// Reads of the network's tensors and modules, and float32 weight initializers (the int8 ones: SnnOnnxExporter.Integer.cs).
partial class SnnOnnxExporter
{
    /// <summary>The values of the network's tensor <paramref name="name"/> as float32 (the converted copies are disposed here).</summary>
    private float[] Data(string name)
    {
        if (!_state.TryGetValue(name, out Tensor? t)) throw new InvalidOperationException($"The network has no tensor '{name}'.");
        using Tensor f = t.to_type(ScalarType.Float32);
        using Tensor c = f.contiguous();
        return c.data<float>().ToArray();
    }

    /// <summary>The module at <paramref name="path"/> (e.g. <c>cell1.o13.bn</c>) as a <typeparamref name="T"/>.</summary>
    private T ModuleAt<T>(string path) where T : class =>
        _modules.TryGetValue(path, out var m) && m is T t ? t : throw new InvalidOperationException($"The network has no {typeof(T).Name} at '{path}'.");

    /// <summary>A float32 weight initializer, added once.</summary>
    private string Weight(string name, long[] shape, float[] values) => Once(name, () => _g.Initializer(FloatTensor(name, shape, values)));
}
