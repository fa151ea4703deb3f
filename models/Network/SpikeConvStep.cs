using SpiKernel.Models.Compute;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace SpiKernel.Models.Network;

/// <summary>When a layer that convolves spikes uses <see cref="SpikeConvKernel"/> in training.</summary>
internal enum SpikeConvUse
{
    /// <summary>Never: libtorch's convolution.</summary>
    Off,

    /// <summary>Where the kernel runs fast (AVX-512) and handles the shapes: the default.</summary>
    WhenFast,

    /// <summary>Wherever it handles the shapes, fast or not (tests on machines without AVX-512).</summary>
    Always,
}

/// <summary>
/// A training convolution of spikes as one graph node: forward and the weight gradient by <see cref="SpikeConvKernel"/>
/// (work in proportion to the spikes), the input gradient by libtorch's transposed convolution (the output gradient is
/// dense: nothing to skip there). Saves the spikes and the weight, as libtorch's convolution node does.
/// </summary>
internal sealed class SpikeConvStep : MultiTensorFunction<SpikeConvStep>
{
    /// <inheritdoc />
    public override string Name => nameof(SpikeConvStep);

    /// <summary>
    /// <paramref name="conv"/> (stride 1, padding k/2, no bias) of <paramref name="spikes"/> in training with gradients:
    /// through the kernel when <paramref name="use"/> allows it and the kernel handles the shapes, otherwise (and in
    /// eval or without gradients) libtorch's convolution.
    /// </summary>
    public static Tensor Convolve(TorchSharp.Modules.Conv2d conv, Tensor spikes, SpikeConvUse use)
    {
        bool kernel = conv.training && is_grad_enabled() && KernelShaped(conv) && use switch
        {
            SpikeConvUse.WhenFast => SpikeConvKernel.Supports(spikes, conv.weight!),
            SpikeConvUse.Always => SpikeConvKernel.Handles(spikes, conv.weight!),
            _ => false,
        };
        return kernel ? Run(spikes, conv.weight!) : conv.forward(spikes);
    }

    // the kernel computes stride 1, zero padding k/2, dilation 1, one group and no bias: any other convolution is
    // libtorch's, rather than trained as one thing and evaluated as another
    private static bool KernelShaped(TorchSharp.Modules.Conv2d c) =>
        c.bias is null && c.groups == 1 && c.stride.All(s => s == 1) && c.dilation.All(d => d == 1) && c.padding_mode == TorchSharp.PaddingModes.Zeros
        && c.padding is { } p && p.All(x => x == c.weight!.shape[2] / 2);

    /// <summary>
    /// <paramref name="spikes"/> [N, Cin, H, W] (values exactly 0 or 1) convolved with <paramref name="weight"/> [Cout, Cin,
    /// k, k], stride 1, padding k/2, no bias (<see cref="SpikeConvKernel.Handles"/>), recorded for autograd.
    /// </summary>
    public static Tensor Run(Tensor spikes, Tensor weight)
    {
        if (!is_grad_enabled()) return SpikeConvKernel.Forward(spikes, weight);
        return BackwardHandles.Scoped(() => apply(spikes, weight)[0]);
    }

    /// <inheritdoc />
    public override List<Tensor> forward(AutogradContext ctx, params object[] vars)
    {
        var spikes = (Tensor)vars[0];
        var weight = (Tensor)vars[1];
        Tensor y = SpikeConvKernel.Forward(spikes, weight);
        ctx.set_materialize_grads(false); // see BatchNormStep: an unused output's gradient stays undefined
        ctx.save_for_backward([spikes, weight]);
        ctx.save_data("input_grad", spikes.requires_grad);
        ctx.save_data("weight_grad", weight.requires_grad);
        return [y];
    }

    /// <inheritdoc />
    public override List<Tensor> backward(AutogradContext ctx, List<Tensor> grad_outputs)
    {
        List<Tensor> saved = BackwardHandles.Begin(ctx, Name);
        using Tensor spikes = saved[0], weight = saved[1];
        Tensor? received = grad_outputs[0];
        if (received is null || received.IsInvalid) return BackwardHandles.End(ctx, grad_outputs, [null!, null!]); // output unused
        using Tensor dy = received.is_contiguous() ? received.alias() : received.contiguous();
        long pad = weight.shape[2] / 2;
        Tensor? dx = ctx.get_data("input_grad") is true ? nn.functional.conv_transpose2d(dy, weight, padding: [pad, pad]) : null;
        Tensor? dw = ctx.get_data("weight_grad") is true ? SpikeConvKernel.WeightGradient(spikes, dy, (int)weight.shape[2]) : null;
        return BackwardHandles.End(ctx, grad_outputs, [dx!, dw!]);
    }
}
