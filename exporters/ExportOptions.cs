namespace SpiKernel.Exporters;

/// <summary>How the timesteps are laid out in the graph.</summary>
public enum TimestepLayout
{
    /// <summary>
    /// Every layer outside a recurrence runs once over all T timesteps stacked per sample ([N, T·C, H, W], the buffer
    /// of a sample-major [N·T, C, H, W]: a convolution is one grouped Conv with T groups); only LIF state updates and
    /// backward-cell feedback stay per timestep.
    /// </summary>
    Batched,

    /// <summary>One copy of the network per timestep, as a straightforward unroll.</summary>
    Step,
}

/// <summary>Weight precision of the exported graph.</summary>
public enum WeightPrecision
{
    /// <summary>float32 weights.</summary>
    Float32,

    /// <summary>
    /// Every convolution and linear layer that reads spikes as an integer operation: uint8 spikes (exactly 0/1), int8
    /// weights symmetric per output channel, int32 accumulation; a convolution's BatchNorm folded into its requantisation
    /// to int8 (<c>QLinearConv</c>) and one per-tensor <c>DequantizeLinear</c>, a linear layer's accumulator scaled to
    /// float (<c>MatMulInteger</c>). The stem reads the image and stays float32. Computes exactly
    /// <see cref="Models.Network.SpikingNetwork.Fuse"/>(integer: true).
    /// </summary>
    Int8,
}

/// <summary>What the exported model records about itself beyond the architecture (all optional).</summary>
/// <param name="Mean">Per-channel input normalisation mean (of pixel/255) the model expects.</param>
/// <param name="Std">Per-channel input normalisation std.</param>
/// <param name="ClassNames">Class names by output index.</param>
/// <param name="Dataset">Where the training data came from.</param>
/// <param name="TestAccuracy">Test accuracy of the checkpoint in TorchSharp, when known.</param>
public sealed record ModelFacts(
    IReadOnlyList<float>? Mean = null,
    IReadOnlyList<float>? Std = null,
    IReadOnlyList<string>? ClassNames = null,
    string? Dataset = null,
    double? TestAccuracy = null);

/// <summary>Export settings.</summary>
/// <param name="Layout">Timestep layout (batched by default).</param>
/// <param name="Precision">Weight precision.</param>
public sealed record ExportOptions(TimestepLayout Layout = TimestepLayout.Batched, WeightPrecision Precision = WeightPrecision.Float32)
{
    /// <summary>Why these settings cannot export networks of <paramref name="macro"/>, or null when they can.</summary>
    public string? WhyNot(Models.Architecture.MacroConfig macro)
    {
        ArgumentNullException.ThrowIfNull(macro);
        // the classifier's MatMulInteger multiplies pooled spike counts (0..sap²) by int8 weights; ONNX Runtime's uint8 × int8
        // kernels on x86 without VNNI add pairs of products in 16 bits (vpmaddubsw), so 2·sap²·127 must stay below 32768
        int cells = macro.SecondPool * macro.SecondPool;
        return Precision == WeightPrecision.Int8 && 2 * cells * sbyte.MaxValue > short.MaxValue
            ? $"the int8 export multiplies the classifier's pooled spike counts (up to sap² = {cells}) by int8 weights, and ONNX Runtime's integer kernels on x86 without VNNI saturate above sap² = 129 (pairs of products summed in 16 bits): use sap 11 or less, or export fp32 only"
            : null;
    }
}
