namespace SpiKernel.Models.Architecture;

/// <summary>One LIF layer of a network, as energy estimates need it.</summary>
/// <param name="Path">Module path, as in <c>spike_counts</c> and the ONNX metadata (<c>cell1.o13.lif</c>).</param>
/// <param name="Neurons">Neurons per timestep (channels × height × width, or features).</param>
/// <param name="FanOut">Synaptic operations one spike of this layer triggers in the layer it feeds.</param>
/// <param name="Steps">Timesteps the layer runs per inference: T, or T − 1 for a backward cell's feedback edge (its
/// result on the last timestep would never be read, so training, inference and the export skip it there).</param>
public sealed record SpikeLayer(string Path, long Neurons, double FanOut, int Steps);
