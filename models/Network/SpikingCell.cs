using SpiKernel.Models.Architecture;
using SpiKernel.Models.Lif;
using TorchSharp;
using static TorchSharp.torch;
using SpiKernel.Models.Compute;

namespace SpiKernel.Models.Network;

/// <summary>
/// A SNASNet cell: 4 nodes, one operation per non-zero matrix entry (method.md, "Cell").
/// <para>
/// Forward edges (i &lt; j) compute <c>x_j = Σ_i o_ij(a_i)</c>; with feedback edges (i &gt; j) each of nodes 0–2
/// also carries a state <c>l_j</c>, so <c>a_j = x_j + l_j</c>, and after node 3 the cell computes
/// <c>l_j = Σ_{i&gt;j} o_ij(a_i)</c> (with a_3 = x_3) for the next timestep. Without feedback edges
/// this reduces to the forward cell. The state starts at zero for every input batch.
/// </para>
/// <para>
/// Zero operations and pruned nodes are never built nor computed. A node value that is exactly zero
/// (no live input yet) is carried as <c>null</c>: skip and pooling of zero stay zero for free; only a convolution
/// edge fed by an all-zero node materialises zeros, because its BatchNorm still contributes its shift.
/// </para>
/// <para>
/// Tensors: what a step computes is disposed before <see cref="Step"/> returns, except its result (a fresh handle the
/// caller owns) and the feedback states (handles this cell owns until they are replaced, reset or the cell is disposed).
/// </para>
/// </summary>
public sealed class SpikingCell : nn.Module<Tensor, Tensor>
{
    private const int N = CellTopology.Nodes;
    private readonly nn.Module<Tensor, Tensor>?[,] _ops = new nn.Module<Tensor, Tensor>?[N, N];
    private Tensor?[] _feedback = new Tensor?[N - 1];
    private readonly List<Tensor> _made = []; // tensors the current step created, disposed when it ends

    /// <summary>Builds the cell for <paramref name="channels"/> channels.</summary>
    /// <param name="name">Module name.</param>
    /// <param name="topology">The connection matrix; it is pruned unless <paramref name="prune"/> is false.</param>
    /// <param name="kernels">The kernel set that gives the codes their meaning.</param>
    /// <param name="channels">Channels in and out of every edge.</param>
    /// <param name="lif">Neuron constants of the convolution edges.</param>
    /// <param name="prune">Whether dead nodes are removed (true everywhere but in equivalence tests).</param>
    /// <param name="steps">Timesteps whose BatchNorm statistics are kept apart (<see cref="TimestepBatchNorm"/>).</param>
    internal SpikingCell(string name, CellTopology topology, KernelSet kernels, long channels, LifOptions lif, bool prune = true, int steps = 1)
        : base(name)
    {
        ArgumentNullException.ThrowIfNull(topology);
        ArgumentNullException.ThrowIfNull(kernels);
        Topology = prune ? topology.Pruned() : topology;
        for (int i = 0; i < N; i++)
        {
            for (int j = 0; j < N; j++)
            {
                CellOp op = kernels.Operation(Topology[i, j]);
                nn.Module<Tensor, Tensor>? module = op.Kind switch
                {
                    CellOpKind.Conv => new SpikingConv($"o{i}{j}", channels, op.Kernel, lif, steps),
                    CellOpKind.AvgPool => new CellAveragePool($"o{i}{j}"),
                    _ => null,
                };
                _ops[i, j] = module;
                if (module != null) register_module($"o{i}{j}", module);
            }
        }
    }

    /// <summary>The (pruned) matrix this cell computes.</summary>
    public CellTopology Topology { get; }

    /// <summary>The module on edge i→j; null for zero and skip edges.</summary>
    public nn.Module<Tensor, Tensor>? Operation(int i, int j) => _ops[i, j];

    /// <summary>The LIF layers of this cell, in edge order (row-major).</summary>
    internal IEnumerable<(string Edge, LifNode Lif)> LifLayers()
    {
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++)
                if (_ops[i, j] is SpikingConv conv) yield return ($"o{i}{j}", conv.Lif);
    }

    /// <summary>Folds (or unfolds) every edge's BatchNorm for eval-mode inference; <paramref name="integer"/>: the int8 form.</summary>
    internal void SetFused(bool fused, bool integer)
    {
        foreach (nn.Module<Tensor, Tensor>? op in _ops)
        {
            if (op is SpikingConv conv)
            {
                if (fused) conv.Fuse(integer);
                else conv.Unfuse();
            }
        }
    }

    /// <summary>Forgets all membrane potentials and feedback states (call once per input batch).</summary>
    internal void ResetState()
    {
        DisposeFeedback();
        foreach ((_, LifNode lif) in LifLayers()) lif.ResetState();
    }

    private void DisposeFeedback()
    {
        foreach (Tensor? t in _feedback) t?.Dispose();
        _feedback = new Tensor?[N - 1];
    }

    /// <summary>
    /// Also compute the feedback edges on the last timestep, whose result no later step reads: off for training and
    /// inference; on while the SAHD score counts every LIF call at every timestep (method.md; SNASNet's backward cell
    /// runs them on every call).
    /// </summary>
    internal bool FeedbackOnLastStep { get; set; }

    /// <summary>One timestep. <paramref name="computeFeedback"/> can be false on the last timestep (its result is never used).</summary>
    internal Tensor Step(Tensor x0, bool computeFeedback)
    {
        computeFeedback |= FeedbackOnLastStep;
        try
        {
            var a = new Tensor?[N];
            a[0] = Add(x0, _feedback[0]);
            for (int j = 1; j < N; j++)
            {
                Tensor? xj = null;
                for (int i = 0; i < j; i++)
                    xj = Add(xj, Apply(i, j, a[i], x0));
                a[j] = j < N - 1 ? Add(xj, _feedback[j]) : xj;
            }

            // Always a fresh handle: with skip edges the result can be the input or a feedback state, which the
            // caller must be free to dispose without touching them.
            Tensor result = a[N - 1]?.alias() ?? zeros_like(x0);
            if (computeFeedback && Topology.IsBackward)
            {
                var next = new Tensor?[N - 1];
                for (int j = 0; j < N - 1; j++)
                    for (int i = j + 1; i < N; i++)
                        next[j] = Add(next[j], Apply(i, j, a[i], x0));
                // owned handles: with skip edges a state can be this step's input or the previous state
                Tensor?[] owned = next.Select(t => t?.alias()).ToArray();
                DisposeFeedback();
                _feedback = owned;
            }
            return result;
        }
        finally
        {
            foreach (Tensor t in _made) t.Dispose();
            _made.Clear();
        }
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x) => Step(x, computeFeedback: true);

    /// <summary>
    /// All <paramref name="steps"/> timesteps of <paramref name="x0"/> ([T·N, C, H, W], timestep-major). A forward cell
    /// runs each edge once over all timesteps; a backward cell steps through time (its feedback is the recurrence),
    /// each timestep with its own BatchNorm statistics. The result is fresh, [T·N, C, H, W].
    /// </summary>
    internal Tensor MultiStep(Tensor x0, int steps)
    {
        if (Topology.IsBackward) return StepEach(x0, steps);
        try
        {
            var a = new Tensor?[N];
            a[0] = x0;
            for (int j = 1; j < N; j++)
                for (int i = 0; i < j; i++)
                    a[j] = Add(a[j], Apply(i, j, a[i], x0, steps));
            return a[N - 1]?.alias() ?? zeros_like(x0);
        }
        finally
        {
            foreach (Tensor t in _made) t.Dispose();
            _made.Clear();
        }
    }

    private Tensor StepEach(Tensor x0, int steps)
    {
        var outputs = new Tensor?[steps];
        try
        {
            for (int t = 0; t < steps; t++)
            {
                foreach (nn.Module<Tensor, Tensor>? op in _ops)
                    if (op is SpikingConv conv) conv.BatchNorm.Timestep = t;
                using Tensor xt = MultiStepLif.Step(x0, steps, t);
                outputs[t] = Step(xt, computeFeedback: t < steps - 1);
            }
            return cat(outputs!, 0);
        }
        finally
        {
            foreach (Tensor? o in outputs) o?.Dispose();
        }
    }

    // steps: null runs one timestep (Step); otherwise the edge runs over all timesteps of its [T·N, …] input
    private Tensor? Apply(int i, int j, Tensor? input, Tensor like, int? steps = null)
    {
        int code = Topology[i, j];
        if (code == 0) return null;
        nn.Module<Tensor, Tensor>? op = _ops[i, j];
        if (op is null) return input; // skip
        if (op is SpikingConv conv)
        {
            Tensor x = input ?? Made(zeros_like(like));
            return Made(steps is { } t ? conv.MultiStep(x, t) : conv.forward(x));
        }
        return input is null ? null : Made(op.forward(input)); // average pooling of zero is zero
    }

    private Tensor? Add(Tensor? a, Tensor? b) => a is null ? b : b is null ? a : Made(a.add(b, Scalars.One));

    private Tensor Made(Tensor t)
    {
        _made.Add(t);
        return t;
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            foreach (nn.Module<Tensor, Tensor>? op in _ops) op?.Dispose();
            DisposeFeedback();
        }
        base.Dispose(disposing);
    }
}
