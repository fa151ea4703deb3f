using SpiKernel.Core;
namespace SpiKernel.Models.Lif;

/// <summary>How the membrane is reset after a spike.</summary>
public enum ResetMode
{
    /// <summary>v ← v_reset where a spike fired (SpikingJelly's default, SNASNet).</summary>
    Hard,

    /// <summary>v ← v − v_threshold where a spike fired.</summary>
    Soft,
}

/// <summary>The surrogate derivative used for the Heaviside step in the backward pass.</summary>
public enum SurrogateKind
{
    /// <summary>dH/dx ≈ α / (2·(1 + (π/2·α·x)²)) — SpikingJelly's ATan (SNASNet).</summary>
    ATan,

    /// <summary>dH/dx ≈ α·σ(αx)·(1 − σ(αx)) — SpikingJelly's Sigmoid.</summary>
    Sigmoid,
}

/// <summary>
/// Leaky integrate-and-fire constants. Defaults are SpikingJelly's <c>LIFNode</c> as SNASNet uses it
/// (method.md): charge <c>v ← v + (x − (v − v_reset))/τ</c>, fire <c>s = H(v − v_th)</c> with H(0) = 1.
/// </summary>
/// <param name="Tau">Membrane time constant τ; 4/3 gives v_t = 0.25·v_{t−1} + 0.75·x_t.</param>
/// <param name="VThreshold">Firing threshold.</param>
/// <param name="VReset">Reset (and resting) potential; the state starts here for every new input batch.</param>
/// <param name="Reset">Hard (to v_reset) or soft (subtract threshold).</param>
/// <param name="DetachReset">Whether the reset term is excluded from the gradient (SpikingJelly's detach_reset).</param>
/// <param name="Surrogate">Surrogate derivative of the step.</param>
/// <param name="Alpha">Sharpness of the surrogate.</param>
public sealed record LifOptions(
    double Tau = 4.0 / 3.0,
    double VThreshold = 1.0,
    double VReset = 0.0,
    ResetMode Reset = ResetMode.Hard,
    bool DetachReset = true,
    SurrogateKind Surrogate = SurrogateKind.ATan,
    double Alpha = 2.0)
{
    /// <summary>SNASNet's neuron.</summary>
    public static LifOptions Default { get; } = new();

    /// <summary>Throws <see cref="ArgumentException"/> with a sentence naming the bad constant.</summary>
    internal void Validate()
    {
        if (!(Tau >= 1.0) || double.IsInfinity(Tau))
            throw new SettingsException($"LIF tau must be a finite number ≥ 1 (got {Tau}); below 1 the membrane over-reacts and diverges.");
        if (!double.IsFinite(VThreshold) || !double.IsFinite(VReset) || VThreshold <= VReset)
            throw new SettingsException($"LIF v_threshold ({VThreshold}) must be finite and above v_reset ({VReset}).");
        if (!(Alpha > 0) || double.IsInfinity(Alpha))
            throw new SettingsException($"Surrogate alpha must be a positive number (got {Alpha}).");
    }

    /// <summary>Multiplier of the previous membrane potential: 1 − 1/τ.</summary>
    public double Decay => 1.0 - 1.0 / Tau;

    /// <summary>Multiplier of the input current: 1/τ.</summary>
    public double InputGain => 1.0 / Tau;
}
