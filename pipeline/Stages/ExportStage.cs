using SpiKernel.Core;
using SpiKernel.Exporters;
using SpiKernel.Pipeline.Data;
using SpiKernel.Pipeline.Training;
using static TorchSharp.torch;

namespace SpiKernel.Pipeline.Stages;

/// <summary>Settings of <see cref="ExportStage"/>.</summary>
/// <param name="Checkpoint">A run folder (from train) or its checkpoint.dat.</param>
/// <param name="OutputPath">The .onnx file to write.</param>
/// <param name="Export">Timestep layout and weight precision.</param>
/// <param name="Verify">Run the file in ONNX Runtime and the checkpoint in TorchSharp on real test images and compare.</param>
/// <param name="VerifyImages">Test images compared by <paramref name="Verify"/>.</param>
/// <param name="Data">Data for verification (default: what the run was trained on).</param>
public sealed record ExportStageOptions(string Checkpoint, string OutputPath, ExportOptions Export, bool Verify = false,
    int VerifyImages = 256, string? Data = null);

/// <summary>The comparison of an exported file with its checkpoint.</summary>
/// <param name="TestData">The test set compared on.</param>
/// <param name="Deployed">Against the deployed form (BatchNorm as exported; for int8, the integer form): the check.</param>
/// <param name="Training">Against the training form (float Conv → BN): a float file must agree with it too; for int8, what quantisation changes (bounded: <see cref="Int8Failure"/>).</param>
public sealed record ExportVerification(string TestData, VerificationResult Deployed, VerificationResult Training)
{
    /// <summary>Accuracy of the file minus that of the training form on these images, in points (for int8: what quantisation costs).</summary>
    public double? AccuracyChangePoints => Training is { OnnxCorrect: { } onnx, TorchCorrect: { } torch, Samples: > 0 } ? (onnx - torch) * 100.0 / Training.Samples : null;

    /// <summary>
    /// The most test images an int8 file may get wrong beyond those the training form gets wrong: 5 % of the images
    /// compared, at least 3. Weight rounding moves a trained network's accuracy by tenths of a point (docs/measurements/
    /// int8-export.md); a wrong quantisation (a sign, a scale, a lost shift) costs tens of points.
    /// </summary>
    public static int Int8ImagesAllowed(int samples) => Math.Max(3, samples / 20);

    /// <summary><see cref="Int8ImagesAllowed"/> in words, for the record of a refusal: a version whose rule differs tries the weights again.</summary>
    internal const string Int8Rule = "loss<=5%,min3";

    /// <summary>
    /// Why an int8 file is refused though it matches the integer form (which takes its numbers from the same quantisation,
    /// so that check cannot see a wrong one): it loses more than <see cref="Int8ImagesAllowed"/> images against the training
    /// form, or puts out a non-finite logit; null when neither.
    /// </summary>
    public string? Int8Failure()
    {
        if (!double.IsFinite(Training.MaxAbsLogitDiff)) return "puts out non-finite logits where the float network does not";
        if (Training is not { OnnxCorrect: { } onnx, TorchCorrect: { } torch, Samples: var n } || torch - onnx <= Int8ImagesAllowed(n)) return null;
        return string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"is right on {onnx} of {n} images, the float network on {torch}: more than the {Int8ImagesAllowed(n)} images weight rounding may cost, so its quantisation is wrong or the network does not suit int8 weights");
    }
}

/// <summary>What <see cref="ExportStage"/> wrote.</summary>
/// <param name="Path">The .onnx file.</param>
/// <param name="Bytes">Its size.</param>
/// <param name="CandidateId">The architecture's id (also in the file's metadata).</param>
/// <param name="Verification">The comparison, when asked for.</param>
public sealed record ExportStageResult(string Path, long Bytes, string CandidateId, ExportVerification? Verification);

/// <summary>
/// Writes a trained checkpoint as a standard ONNX graph (IR 8, opset 17) with its timesteps unrolled, and proves it
/// against TorchSharp when asked, before it takes its name: a file that does not match the deployed form (for int8, the
/// integer form that computes what the file computes), or a float file that does not match the training form either,
/// throws <see cref="VerificationException"/> and stays as NAME<see cref="UnverifiedSuffix"/> for inspection (NAME is
/// left as it was); for int8 the comparison with the training form reports what quantisation changes and refuses a file
/// that loses more answers than weight rounding may (<see cref="ExportVerification.Int8Failure"/>, <see cref="IsRefused"/>).
/// </summary>
public sealed class ExportStage : IStage<ExportStageOptions, ExportStageResult>
{
    /// <inheritdoc />
    public string Name => "export";

    /// <inheritdoc />
    public bool IsComplete(ExportStageOptions options) =>
        File.Exists(options.OutputPath) && StageMarker.Matches(Folder(options), MarkerName(options), Identity(options));

    /// <summary>The line that says a file passed only within float rounding (docs/export.md#known-limits), or null.</summary>
    public static string? RoundingNote(VerificationResult v) => v.Passed || !v.WithinRounding ? null : string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"spike counts differ on {v.ImagesWithSpikeDifferences} of {v.Samples} images, and every image with equal spikes agrees within {VerificationResult.LogitTolerance:E0}: a membrane that float rounding puts on the other side of the threshold (docs/export.md#known-limits), accepted");

    /// <inheritdoc />
    public ExportStageResult Run(ExportStageOptions options, IProgressObserver progress, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(progress);
        if (options.VerifyImages < 1) throw new SettingsException("--verify-images must be at least 1.");
        OutputFolder.EnsureWritableFile(options.OutputPath);

        using RunCheckpoint run = RunCheckpoint.Load(options.Checkpoint);
        TrainState s = run.State;
        progress.Begin($"export {run.Network.Architecture.CandidateId}", 0);
        var facts = new ModelFacts(s.Mean, s.Std, s.ClassNames, s.DataSource, s.TestAccuracy);
        // read before anything is written: data that cannot be read left an unverified file behind, though nothing was verified
        ImageDataset? test = options.Verify ? run.TestData(options.Data) : null;
        using UnitLock held = UnitLock.For(Folder(options), MarkerName(options), $"the export to {options.OutputPath}");
        StageMarker.Clear(Folder(options), MarkerName(options));
        StageMarker.Clear(Folder(options), RefusedMarkerName(options));
        // a verified file is written where it is asked for, and only then: until verified it is NAME.unverified, so a
        // deployment folder never holds an unverified (or, after a kill, half-checked) model under its real name
        string staged = options.Verify ? options.OutputPath + UnverifiedSuffix : options.OutputPath;
        File.Delete(options.OutputPath + UnverifiedSuffix); // an earlier failure's file, now stale
        SnnOnnxExporter.Save(SnnOnnxExporter.Export(run.Network, options.Export, facts), staged);
        var result = new ExportStageResult(options.OutputPath, new FileInfo(staged).Length, run.Network.Architecture.CandidateId, null);
        cancel.ThrowIfCancellationRequested();
        if (options.Verify)
        {
            result = result with { Verification = Verify(run, test!, options, staged) };
            // a float file must agree with the deployed (BatchNorm-folded) form and with the training form as well: the
            // folding is the exporter's own arithmetic, which the deployed form shares; an int8 file differs from the
            // training form by its quantisation, which may cost a few images' answers (Int8ImagesAllowed), not more
            bool integer = options.Export.Precision == WeightPrecision.Int8;
            VerificationResult? failed = !result.Verification.Deployed.WithinRounding ? result.Verification.Deployed
                : !integer && !result.Verification.Training.AgreesWhereSpikesAgree(TrainingFormImageShare) ? result.Verification.Training : null;
            if (failed is null && integer && result.Verification.Int8Failure() is { } why)
            {
                StageMarker.Write(Folder(options), RefusedMarkerName(options), RefusedIdentity(options));
                throw new VerificationException($"verification failed: {staged} (kept for inspection; not written to {options.OutputPath}) {why}");
            }
            if (failed is { } v)
            {
                throw new VerificationException(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                    $"verification failed: {staged} (kept for inspection; not written to {options.OutputPath}) differs from {options.Checkpoint}{(ReferenceEquals(v, result.Verification.Training) ? " in its training form" : "")}: max |Δlogits| {v.MaxAbsLogitDiff:E2} ({v.MaxAbsLogitDiffSameSpikes:E2} on images with equal spikes), {v.DifferingSpikeCounts} differing spike counts in {v.ImagesWithSpikeDifferences} of {v.Samples} images"));
            }
            File.Move(staged, options.OutputPath, overwrite: true);
        }
        StageMarker.Write(Folder(options), MarkerName(options), Identity(options), outputs: [options.OutputPath]);
        return result;
    }

    /// <summary>The share of images whose spikes may differ between a float file and the training form (rounding).</summary>
    public const double TrainingFormImageShare = 0.05;

    /// <summary>The suffix of an exported file until its verification passes.</summary>
    public const string UnverifiedSuffix = ".unverified";

    private static ExportVerification Verify(RunCheckpoint run, ImageDataset test, ExportStageOptions options, string path)
    {
        int n = Math.Min(options.VerifyImages, test.Count);
        (Tensor x, Tensor y) = BatchLoader.Load(test, Enumerable.Range(0, n).ToArray());
        using (x)
        using (y)
        {
            long[] labels = y.data<long>().ToArray();
            VerificationResult deployed = ExportVerifier.Verify(run.Network, path, x, labels, fused: true);
            VerificationResult training = ExportVerifier.Verify(run.Network, path, x, labels, fused: false);
            return new ExportVerification(test.Name, deployed, training);
        }
    }

    /// <summary>
    /// Whether the last export of these options was an int8 file refused for the answers it loses
    /// (<see cref="ExportVerification.Int8Failure"/>): no verification error of the exporter, but a network whose int8
    /// weights do not hold it. <c>run</c> goes on without that file (the edge profile then measures the fp32 one).
    /// </summary>
    public bool IsRefused(ExportStageOptions options) => StageMarker.Matches(Folder(options), RefusedMarkerName(options), RefusedIdentity(options));

    // one marker per exported file: several exports share a folder
    private static string MarkerName(ExportStageOptions o) => "export-" + Path.GetFileName(o.OutputPath);

    private static string RefusedMarkerName(ExportStageOptions o) => MarkerName(o) + ".refused";

    // the weights and options refused, and the rule that refused them: a version whose rule differs tries them again
    private static string RefusedIdentity(ExportStageOptions o) => Identity(o) + " int8-rule=" + ExportVerification.Int8Rule;

    private static string Folder(ExportStageOptions o) => Path.GetDirectoryName(Path.GetFullPath(o.OutputPath))!;

    // the weights' content, not their time: a run folder copied without its times (cp -r, scp, an object store) keeps
    // its exports; and the exporter's format: a file an older exporter wrote is written again (markers without it, of
    // versions before 2026-12-07b, are such)
    private static string Identity(ExportStageOptions o)
    {
        string weights = File.Exists(o.Checkpoint) ? o.Checkpoint : Path.Combine(o.Checkpoint, Trainer.CheckpointFile);
        string loaded = File.Exists(o.Checkpoint) ? o.Checkpoint : Trainer.CommittedWeights(o.Checkpoint); // what the export reads
        string stamp = !File.Exists(loaded) ? "missing"
            : Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(loaded)))[..16];
        return $"checkpoint={Path.GetFullPath(weights)}@{stamp} layout={o.Export.Layout} precision={o.Export.Precision} verify={o.Verify} images={o.VerifyImages} data={o.Data} format={SnnOnnxExporter.FormatVersion}";
    }
}
