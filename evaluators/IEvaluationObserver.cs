using SpiKernel.Evaluators.Results;

namespace SpiKernel.Evaluators;

/// <summary>Hears what an evaluation is doing (progress bars, logs). Calls come from the evaluating thread.</summary>
public interface IEvaluationObserver
{
    /// <summary>A measurement starts; <paramref name="total"/> is its planned work units (0 when unknown).</summary>
    void Begin(string description, int total);

    /// <summary>Work units done in the current measurement.</summary>
    void Advance(int done);

    /// <summary>A row is complete (already written by the caller's sink).</summary>
    void Row(EvaluationRow row);
}
