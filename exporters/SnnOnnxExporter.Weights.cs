using static SpiKernel.Core.OnnxFormat.OnnxHelper;
using static TorchSharp.torch;

namespace SpiKernel.Exporters;

// Reads of the network's tensors and modules, and weight initializers (float32, or int8 per output channel).
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

    /// <summary>A weight initializer: float32, or int8 per output channel with a DequantizeLinear in front.</summary>
    private string Weight(string name, long[] shape, float[] values) => Once(name, () =>
    {
        if (_options.Precision == WeightPrecision.Float32)
            return _g.Initializer(FloatTensor(name, shape, values));
        int outs = (int)shape[0], per = values.Length / outs;
        var q = new sbyte[values.Length];
        var scales = new float[outs];
        for (int o = 0; o < outs; o++)
        {
            float max = 0;
            for (int k = 0; k < per; k++) max = Math.Max(max, Math.Abs(values[o * per + k]));
            float scale = max > 0 ? max / 127f : 1f;
            scales[o] = scale;
            for (int k = 0; k < per; k++)
                q[o * per + k] = (sbyte)Math.Clamp(Math.Round(values[o * per + k] / scale, MidpointRounding.ToEven), -127, 127);
        }
        string qn = _g.Initializer(Int8Tensor($"{name}_int8", shape, q));
        string sn = _g.Initializer(FloatTensor($"{name}_scale", [outs], scales));
        string zn = _g.Initializer(Int8Tensor($"{name}_zero_point", [outs], new sbyte[outs]));
        return _g.Op("DequantizeLinear", name, [qn, sn, zn], Attr("axis", 0L));
    });
}
