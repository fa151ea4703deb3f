namespace SpiKernel.Models.Architecture;

/// <summary>One LIF layer of a network, as energy estimates need it.</summary>
/// <param name="Path">Module path, as in <c>spike_counts</c> and the ONNX metadata (<c>cell1.o13.lif</c>).</param>
/// <param name="Neurons">Neurons per timestep (channels × height × width, or features).</param>
/// <param name="FanOut">Synaptic operations one spike of this layer triggers in the layer it feeds.</param>
public sealed record SpikeLayer(string Path, long Neurons, double FanOut);
