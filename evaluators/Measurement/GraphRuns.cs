using System.Globalization;
using Microsoft.ML.OnnxRuntime;
using SpiKernel.Evaluators.Providers;

namespace SpiKernel.Evaluators.Measurement;

/// <summary>
/// Run options for CUDA graph capture (the <c>cuda-graph</c> profile). A session replays its captured graph on every
/// later run of the same graph id (ONNX Runtime's run option <c>gpu_graph_id</c>, 0 when not set) whatever the inputs,
/// so each timed batch size of a session captures under its own id (1, 2, …), and the untimed passes over other
/// shapes — accuracy, output checks — run with −1: no capture, no replay. Other profiles get plain run options.
/// </summary>
internal static class GraphRuns
{
    /// <summary>ONNX Runtime's run option (kOrtRunOptionsConfigCudaGraphAnnotation).</summary>
    public const string GraphIdKey = "gpu_graph_id";

    /// <summary>The id of a run that neither captures nor replays.</summary>
    public const int Untimed = -1;

    /// <summary>Run options for <paramref name="profile"/> under graph id <paramref name="graphId"/> (owned by the caller).</summary>
    public static RunOptions For(EvaluationProfile? profile, int graphId)
    {
        var options = new RunOptions();
        if (profile?.CapturesGraph == true) options.AddRunConfigEntry(GraphIdKey, graphId.ToString(CultureInfo.InvariantCulture));
        return options;
    }
}
