namespace SpiKernel.Pipeline.Run;

/// <summary>
/// Where each stage of <c>spikernel run</c> keeps its outputs inside one run folder. The report reads the same
/// paths, so a folder made by hand with the single commands in these places reports too. docs/run.md has the table
/// (file → what writes it → what reads it).
/// </summary>
/// <param name="Root">The run folder.</param>
public sealed record RunLayout(string Root)
{
    /// <summary>Effective configuration with the tool version (written first, read by --resume).</summary>
    public string Config => Path.Combine(Root, "run.json");

    /// <summary>Every progress line of the run, appended.</summary>
    public string Log => Path.Combine(Root, "run.log");

    /// <summary>Kernel-size study (kernel-study.csv, proposed-sets.txt, k1/ k3/ … train folders).</summary>
    public string KernelStudy => Path.Combine(Root, "kernel-study");

    /// <summary>Training-free search (candidates.csv, search.txt, top/).</summary>
    public string Search => Path.Combine(Root, "search");

    /// <summary>The search's candidates.csv.</summary>
    public string Candidates => Path.Combine(Search, "candidates.csv");

    /// <summary>Which candidates were chosen for training and why (candidate_id, role top|control, score, …).</summary>
    public string Selection => Path.Combine(Root, "selection.csv");

    /// <summary>One train folder per selected candidate: train/&lt;candidate_id&gt;/ (metrics.csv, checkpoint).</summary>
    public string Train => Path.Combine(Root, "train");

    /// <summary>The train folder of <paramref name="candidateId"/>.</summary>
    public string TrainFolder(string candidateId) => Path.Combine(Train, candidateId);

    /// <summary>Exported models: models/&lt;candidate_id&gt;.onnx and models/&lt;candidate_id&gt;.int8.onnx.</summary>
    public string Models => Path.Combine(Root, "models");

    /// <summary>The float export of <paramref name="candidateId"/>.</summary>
    public string Model(string candidateId) => Path.Combine(Models, candidateId + ".onnx");

    /// <summary>The int8 export of <paramref name="candidateId"/>.</summary>
    public string Int8Model(string candidateId) => Path.Combine(Models, candidateId + ".int8.onnx");

    /// <summary>One results file per candidate: evaluations/&lt;candidate_id&gt;.csv (and .layers.csv); other CSVs here (a bundle's) are merged too.</summary>
    public string Evaluations => Path.Combine(Root, "evaluations");

    /// <summary>The results file of <paramref name="candidateId"/>.</summary>
    public string Evaluation(string candidateId) => Path.Combine(Evaluations, candidateId + ".csv");

    /// <summary>Progress of one stage run as its own task (<c>--stage</c>): logs/STAGE.I-of-N.log (a shard never appends to run.log).</summary>
    public string StageLog(string stage, string shardTag) => Path.Combine(Root, "logs", $"{stage}.{shardTag}.log");

    /// <summary>Every evaluation row of every model (results.layers.csv beside it).</summary>
    public string Results => Path.Combine(Root, "results.csv");

    /// <summary>Hardware-aware ranking.</summary>
    public string Ranking => Path.Combine(Root, "ranking.csv");

    /// <summary>The report, Markdown.</summary>
    public string ReportMarkdown => Path.Combine(Root, "report.md");

    /// <summary>The report, one self-contained HTML file.</summary>
    public string ReportHtml => Path.Combine(Root, "report.html");
}
