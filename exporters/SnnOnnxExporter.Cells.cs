using Onnx;
using SpiKernel.Models.Architecture;
using SpiKernel.Models.Network;
using static SpiKernel.Core.OnnxFormat.OnnxHelper;

namespace SpiKernel.Exporters;

// Cells: forward cells over whole sequences, cells with feedback timestep by timestep.
partial class SnnOnnxExporter
{
    private Seq Cell(string path, SpikingCell cell, Seq x0) =>
        cell.Topology.IsBackward ? BackwardCell(path, cell, x0) : ForwardCell(path, cell, x0);

    /// <summary>A cell without feedback: every edge runs over the whole sequence.</summary>
    private Seq ForwardCell(string path, SpikingCell cell, Seq x0)
    {
        var a = new Seq?[4];
        a[0] = x0;
        for (int j = 1; j < 4; j++)
        {
            Seq? xj = null;
            for (int i = 0; i < j; i++)
            {
                Seq? term = EdgeSeq(path, cell, i, j, a[i], x0);
                xj = xj is null ? term : term is null ? xj : AddSeq(xj, term, $"{path}.node{j}");
            }
            a[j] = xj;
        }
        return a[3] ?? Map(x0, $"{path}.zeros", ZerosLike);
    }

    /// <summary>Edge i→j over a whole sequence (forward cells).</summary>
    private Seq? EdgeSeq(string path, SpikingCell cell, int i, int j, Seq? input, Seq like) => Edge(cell, i, j, $"{path}.o{i}{j}", input,
        zeros: edge => Map(like, $"{edge}.zeros", ZerosLike),
        conv: (edge, x) => ConvBnSeq(edge, Lif($"{edge}.lif", x)),
        pool: (edge, x) => Map(x, $"{edge}.pool", s => AvgPool3(edge, s)));

    /// <summary>
    /// What edge i→j of <paramref name="cell"/> makes of <paramref name="input"/> (null: nothing): zero edges give
    /// nothing, skips pass the input on, a spiking convolution (LIF → Conv → BN) runs on the input or on zeros when the
    /// source node is empty, and pooling runs on a present input. The value kind — a sequence or one timestep's name —
    /// is the caller's.
    /// </summary>
    private static T? Edge<T>(SpikingCell cell, int i, int j, string edge, T? input, Func<string, T> zeros, Func<string, T, T> conv, Func<string, T, T> pool)
        where T : class
    {
        if (cell.Topology[i, j] == 0) return null;
        return cell.Operation(i, j) switch
        {
            null => input,
            SpikingConv => conv(edge, input ?? zeros(edge)),
            _ => input is null ? null : pool(edge, input),
        };
    }

    /// <summary>A cell with feedback edges: computed timestep by timestep, exactly as <see cref="SpikingCell.Step"/>.</summary>
    private Seq BackwardCell(string path, SpikingCell cell, Seq x0)
    {
        CellTopology m = cell.Topology;
        string[] inputs = StepsOf(x0);
        var outputs = new string[_t];
        var fb = new string?[3];
        for (int t = 0; t < _t; t++)
        {
            var a = new string?[4];
            a[0] = Add(inputs[t], fb[0], $"{path}.a0/t{t}");
            for (int j = 1; j < 4; j++)
            {
                string? xj = null;
                for (int i = 0; i < j; i++)
                    xj = Add(xj, EdgeStep(path, cell, i, j, a[i], inputs[t], t), $"{path}.node{j}/t{t}");
                a[j] = j < 3 ? Add(xj, fb[j], $"{path}.a{j}/t{t}") : xj;
            }
            if (t < _t - 1)
            {
                var next = new string?[3];
                for (int j = 0; j < 3; j++)
                    for (int i = j + 1; i < 4; i++)
                        next[j] = Add(next[j], EdgeStep(path, cell, i, j, a[i], inputs[t], t), $"{path}.l{j}/t{t}");
                fb = next;
            }
            outputs[t] = a[3] ?? ZerosLike(inputs[t]);
        }
        return new Seq { Steps = outputs, Base = path };
    }

    /// <summary>Edge i→j at timestep <paramref name="t"/> (backward cells).</summary>
    private string? EdgeStep(string path, SpikingCell cell, int i, int j, string? input, string like, int t) => Edge(cell, i, j, $"{path}.o{i}{j}", input,
        zeros: _ => ZerosLike(like),
        conv: (edge, x) => ConvBnStep(edge, LifStep(Trace($"{edge}.lif", 4), x), t),
        pool: AvgPool3);

    private string? Add(string? a, string? b, string name) => a is null ? b : b is null ? a : _g.Op("Add", name, [a, b]);

    private string AvgPool3(string edge, string x) => _g.Op("AveragePool", $"{edge}.pool", [x],
        Ints("kernel_shape", 3L, 3L), Ints("strides", 1L, 1L), Ints("pads", 1L, 1L, 1L, 1L), Attr("count_include_pad", 1L));

    private string ZerosLike(string x) => Zeros($"{x}/zeros", _g.Op("Shape", $"{x}/shape", [x]));

    /// <summary>A float zero tensor of the shape held by <paramref name="shape"/> (one ConstantOfShape).</summary>
    private string Zeros(string name, string shape)
    {
        var zero = new AttributeProto { Name = "value", Type = AttributeProto.Types.AttributeType.Tensor, T = FloatTensor("zero", [1], [0f]) };
        return _g.Op("ConstantOfShape", name, [shape], zero);
    }
}
