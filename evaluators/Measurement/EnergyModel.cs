namespace SpiKernel.Evaluators.Measurement;

/// <summary>
/// Energy per operation for estimates, from Horowitz, "Computing's energy problem", ISSCC 2014 (45 nm CMOS, 32-bit
/// floating point): a multiply-accumulate costs 4.6 pJ (3.7 pJ multiply + 0.9 pJ add), an accumulate 0.9 pJ. A
/// spiking layer fed by binary spikes only accumulates (one AC per synaptic operation); the first layer sees real
/// pixel values and multiplies. These are the constants most SNN papers use, so figures compare across papers; they
/// are an estimate of arithmetic energy only (no memory traffic).
/// </summary>
public static class EnergyModel
{
    /// <summary>Energy of one 32-bit float multiply-accumulate, in picojoules.</summary>
    public const double MacPicojoules = 4.6;

    /// <summary>Energy of one 32-bit float accumulate, in picojoules.</summary>
    public const double AcPicojoules = 0.9;

    /// <summary>Where the constants come from, for reports.</summary>
    public const string Source = "Horowitz ISSCC 2014, 45 nm, fp32: MAC 4.6 pJ, AC 0.9 pJ";

    /// <summary>Spiking network: first-layer MACs plus synaptic operations as accumulates, in microjoules per sample.</summary>
    public static double SpikingMicrojoules(double firstLayerMacs, double synapticOps) =>
        (firstLayerMacs * MacPicojoules + synapticOps * AcPicojoules) * 1e-6;

    /// <summary>Equivalent non-spiking network: every operation a MAC, in microjoules per sample.</summary>
    public static double AnnMicrojoules(double macs) => macs * MacPicojoules * 1e-6;
}
