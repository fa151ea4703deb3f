using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace SpiKernel.Models.Compute;

/// <summary>
/// Tensor lifetimes in the backward of a custom autograd function (<c>MultiTensorFunction</c>, <c>SingleTensorFunction</c>).
/// TorchSharp creates the .NET handles of the gradients a backward receives and returns inside libtorch's backward
/// pass, so they join the dispose scope active there (the training step's), and it releases a node's saved tensors
/// only when the whole graph goes; every gradient and every saved activation of the step would stay allocated until
/// the step ends, where libtorch's own nodes release theirs as backward passes them (measured on the small
/// Fashion-MNIST network: ≈ 1.3 GiB of resident memory, docs/train.md#memory).
/// <see cref="Begin"/> and <see cref="End"/> bracket a backward: the saved tensors and the received gradients are
/// released at its end; the returned gradients, which libtorch copies its own references of as soon as backward
/// returns, at the start of the next backward on the same thread (or with the step's scope). Holding those handles
/// a little longer keeps libtorch from accumulating into them in place; the measured memory includes that.
/// A second backward through the same node (retain_graph) is not supported: its saved tensors are gone, and the
/// exception, raised inside libtorch's backward, ends the process as an internal error. Nothing here retains graphs.
/// </summary>
internal static class BackwardHandles
{
    private const string Released = "spikernel.released";
    [ThreadStatic] private static List<Tensor>? t_returned;

    /// <summary>
    /// Runs an autograd function's <c>apply</c> in a dispose scope of its own and moves only its output out: the
    /// forward's own handles (its output, what it saved) and TorchSharp's copy of the output would otherwise live until
    /// the caller's scope ends — a whole training step. The function's forward must call <c>set_materialize_grads(false)</c>
    /// (the cached output is gone) and its backward take an undefined gradient as "unused".
    /// </summary>
    public static Tensor Scoped(Func<Tensor> apply)
    {
        using var scope = NewDisposeScope();
        return apply().MoveToOuterDisposeScope();
    }

    /// <summary>As <see cref="Scoped(Func{Tensor})"/> for a function with two outputs.</summary>
    public static (Tensor First, Tensor Second) Scoped(Func<List<Tensor>> apply)
    {
        using var scope = NewDisposeScope();
        List<Tensor> outputs = apply();
        return (outputs[0].MoveToOuterDisposeScope(), outputs[1].MoveToOuterDisposeScope());
    }

    /// <summary>Start of a backward: the node's saved tensors (the caller disposes them).</summary>
    public static List<Tensor> Begin(AutogradContext ctx, string function)
    {
        ReleaseReturned();
        if (ctx.get_data(Released) is true)
            throw new InvalidOperationException($"{function}: a second backward through the same graph; its saved tensors were released after the first.");
        return ctx.get_saved_variables();
    }

    /// <summary>End of a backward: releases the saved tensors and the received gradients, and returns <paramref name="gradients"/>.</summary>
    public static List<Tensor> End(AutogradContext ctx, IEnumerable<Tensor?> received, List<Tensor> gradients)
    {
        List<Tensor> returned = t_returned ??= [];
        returned.AddRange(gradients.Where(g => g is not null));
        foreach (Tensor? g in received)
            if (g is not null && !returned.Any(r => ReferenceEquals(r, g))) g.Dispose();
        ctx.save_data(Released, true);
        ctx.Dispose(); // the saved tensors; the node disposes the context again when the graph goes (a no-op then)
        return gradients;
    }

    // what the previous backward on this thread returned: libtorch holds its own references by now
    private static void ReleaseReturned()
    {
        if (t_returned is null) return;
        foreach (Tensor t in t_returned) t.Dispose();
        t_returned.Clear();
    }
}
