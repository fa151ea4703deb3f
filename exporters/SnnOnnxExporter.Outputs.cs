using Onnx;
using SpiKernel.Models.Architecture;
using SpiKernel.Models.Lif;
using static SpiKernel.Core.OnnxFormat.OnnxHelper;

namespace SpiKernel.Exporters;

// The two outputs: time-averaged logits and per-layer spike counts.
partial class SnnOnnxExporter
{
    private void Logits(Seq o)
    {
        MacroConfig m = _arch.Macro;
        if (Batched && o.Stacked is not null)
        {
            // [N, T·classes·cluster] → [N, T, classes, cluster]: population vote, then the mean over time
            string r = _g.Op("Reshape", "votes/reshape", [o.Stacked, _g.Int64s("votes.shape", -1, _t, m.Classes, m.Cluster)]);
            string votes = _g.Op("ReduceMean", "votes", [r], Ints("axes", 3L), Attr("keepdims", 0L));
            _g.OpTo("ReduceMean", "time_mean", [votes], ["logits"], Ints("axes", 1L), Attr("keepdims", 0L));
            return;
        }
        string shape = _g.Int64s("votes.step_shape", -1, m.Classes, m.Cluster);
        string[] perStep = StepsOf(o).Select((s, t) =>
            _g.Op("ReduceMean", $"votes/t{t}", [_g.Op("Reshape", $"votes/reshape/t{t}", [s, shape])], Ints("axes", 2L), Attr("keepdims", 0L))).ToArray();
        string sum = perStep.Length == 1 ? perStep[0] : _g.Op("Sum", "time_sum", perStep);
        _g.OpTo("Div", "time_mean", [sum, _g.Scalar("timesteps", _t)], ["logits"]);
    }

    private void SpikeCounts()
    {
        var columns = new List<string>();
        var counted = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach ((string path, LifNode lif) in _net.LifLayers())
        {
            LifTrace? trace = _lifs.FirstOrDefault(l => l.Path == path);
            if (trace is null)
            {
                columns.Add(_g.Op("Reshape", $"{path}/count/column", [NoSpikes(), _g.Int64s("shape.n_1", -1, 1)]));
                continue;
            }

            string signature = string.Join('|', trace.Spikes);
            if (counted.TryGetValue(signature, out string? same))
            {
                columns.Add(same); // a layer sharing another's spikes (see _sharedLif)
                continue;
            }
            // per sample, over every axis but the batch: one sum over the stacked spikes covers all timesteps
            string axes = _g.Int64s($"axes.rank{trace.Rank}", Enumerable.Range(1, trace.Rank - 1).Select(a => (long)a).ToArray());
            string[] counts = trace.Spikes.Select((s, k) =>
                _g.Op("ReduceSum", trace.Spikes.Count == 1 ? $"{trace.Path}/count" : $"{trace.Path}/count/t{k}", [s, axes], Attr("keepdims", 0L))).ToArray();
            string total = counts.Length switch
            {
                0 => NoSpikes(),
                1 => counts[0],
                _ => _g.Op("Sum", $"{trace.Path}/count/total", counts),
            };
            string column = _g.Op("Reshape", $"{trace.Path}/count/column", [total, _g.Int64s("shape.n_1", -1, 1)]);
            counted[signature] = column;
            columns.Add(column);
        }
        string all = columns.Count == 1 ? columns[0] : _g.Op("Concat", "spike_counts/concat", columns, Attr("axis", 1L));
        _g.OpTo("Cast", "spike_counts/cast", [all], ["spike_counts"], Attr("to", (long)TensorProto.Types.DataType.Int64));
    }

    /// <summary>[N] zeros, for a layer that never fires (a feedback edge when T = 1).</summary>
    private string NoSpikes()
    {
        string shape = _g.Op("Shape", "batch/shape", [_stemOut]);
        string n = _g.Op("Slice", "batch/size", [shape, _g.Int64s("axes.0", 0), _g.Int64s("one", 1), _g.Int64s("axes.0", 0)]);
        return Zeros("batch/zeros", n);
    }
}
