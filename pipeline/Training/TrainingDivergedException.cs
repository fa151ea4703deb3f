namespace SpiKernel.Pipeline.Training;

/// <summary>
/// A training whose loss or weights stopped being finite numbers. The epochs before the one it happened in stay
/// committed in the training folder; that epoch is not saved. The usual cause is a learning rate too high for the
/// network (the same settings and seed diverge again at the same step); libtorch's NaN gradients in narrow convolutions
/// are another (docs/train.md#known-defect-nan-gradients-in-tiny-networks).
/// </summary>
public sealed class TrainingDivergedException(string message) : Exception(message);
