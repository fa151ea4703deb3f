using SpiKernel.Models.Lif;
using SpiKernel.Models.Network;
using static TorchSharp.torch;

namespace SpiKernel.Exporters;

/// <summary>
/// Counts, in TorchSharp, the spikes each sample emits in each LIF layer (the same quantity as the exported
/// <c>spike_counts</c> output). Attach, run forwards, read <see cref="Counts"/>, dispose to detach.
/// </summary>
internal sealed class SpikeCounter : IDisposable
{
    private readonly IReadOnlyList<(string Path, LifNode Lif)> _layers;
    private readonly Dictionary<LifNode, int> _index = [];
    private long[,] _counts = new long[0, 0];

    /// <summary>Attaches to every LIF layer of <paramref name="net"/>.</summary>
    public SpikeCounter(SpikingNetwork net)
    {
        _layers = net.LifLayers();
        for (int i = 0; i < _layers.Count; i++)
        {
            _index[_layers[i].Lif] = i;
            _layers[i].Lif.SpikeObserver += Observe; // beside any other listener
        }
    }

    /// <summary>[samples, layers] counts since the last <see cref="Start"/>.</summary>
    public long[,] Counts => _counts;

    /// <summary>Starts counting for a batch of <paramref name="samples"/>.</summary>
    public void Start(int samples) => _counts = new long[samples, _layers.Count];

    private void Observe(LifNode lif, Tensor spikes)
    {
        int layer = _index[lif];
        using Tensor flat = spikes.reshape(spikes.shape[0], -1);
        using Tensor perSample = flat.sum(1, type: ScalarType.Int64);
        long[] values = perSample.data<long>().ToArray();
        for (int n = 0; n < values.Length; n++) _counts[n, layer] += values[n];
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach ((_, LifNode lif) in _layers) lif.SpikeObserver -= Observe;
    }
}
