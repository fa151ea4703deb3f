using SpiKernel.Models.Compute;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace SpiKernel.Models.Lif;

/// <summary>
/// One LIF timestep with autograd as a single graph node: (currents x, previous state v) → (spikes s, reset state v'),
/// computed by <see cref="LifKernel"/> in one pass each way. Saves only the charged membrane h. Its forward values are
/// those of <see cref="LifNode"/>'s tensor form; its backward is g_h = g_s·σ'(h − v_th) + g_v'·∂v'/∂h,
/// g_x = g_h·gain, g_v = g_h·decay — the tensor form's autograd computes the same sum, associated as its graph happens
/// to order it (equal within rounding; LifKernelTests).
/// </summary>
internal sealed class LifStep : MultiTensorFunction<LifStep>
{
    /// <inheritdoc />
    public override string Name => nameof(LifStep);

    /// <summary>Spikes and the reset state of <paramref name="x"/> from <paramref name="v"/> (null: from v_reset).</summary>
    public static (Tensor Spikes, Tensor State) Run(Tensor x, Tensor? v, LifOptions options)
    {
        // a full-size state per LIF step would otherwise live until the training step ends
        return BackwardHandles.Scoped(() => v is null ? apply(x, options) : apply(x, options, v));
    }

    /// <inheritdoc />
    public override List<Tensor> forward(AutogradContext ctx, params object[] vars)
    {
        var x = (Tensor)vars[0];
        var options = (LifOptions)vars[1];
        Tensor? v = vars.Length > 2 ? (Tensor)vars[2] : null;
        Tensor spikes = empty_like(x), next = empty_like(x), charged = empty_like(x);
        LifKernel.StepForward(x, v, options, spikes, next, charged);
        ctx.set_materialize_grads(false); // the last step's state is never used: no zeros for its gradient
        ctx.save_for_backward([charged]);
        ctx.save_data("options", options);
        ctx.save_data("first", v is null);
        return [spikes, next];
    }

    /// <inheritdoc />
    public override List<Tensor> backward(AutogradContext ctx, List<Tensor> grad_outputs)
    {
        using Tensor charged = BackwardHandles.Begin(ctx, Name)[0];
        var o = (LifOptions)ctx.get_data("options");
        bool first = (bool)ctx.get_data("first");
        using Tensor gradSpikes = Dense(grad_outputs[0], charged);
        using Tensor? gradState = grad_outputs.Count > 1 && grad_outputs[1] is { IsInvalid: false } g ? Dense(g, charged) : null;
        Tensor? gradPrevious = first ? null : empty_like(charged);
        Tensor gradX = LifKernel.StepBackward(charged, gradSpikes, gradState, o, gradPrevious);
        return BackwardHandles.End(ctx, grad_outputs, first ? [gradX, null!] : [gradX, null!, gradPrevious!]);
    }

    // the spikes' gradient: zeros when they were not used (it then arrives undefined)
    private static Tensor Dense(Tensor? g, Tensor like) => g is null || g.IsInvalid ? zeros_like(like) : g.alias();
}
