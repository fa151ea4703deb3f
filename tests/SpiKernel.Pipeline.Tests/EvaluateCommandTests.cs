using Google.Protobuf;
using Onnx;
using SpiKernel.Pipeline.Stages;
using SpiKernel.Core.Csv;
using SpiKernel.Evaluators.Results;
using SpiKernel.Exporters;
using SpiKernel.Cli;
using SpiKernel.Pipeline.Data;
using SpiKernel.Pipeline.Training;
using static TorchSharp.torch;

namespace SpiKernel.Pipeline.Tests;

/// <summary><c>spikernel evaluate</c> on a really trained and exported run (tiny network, embedded data).</summary>
public class EvaluateCommandTests(TrainedRunFixture fixture) : IClassFixture<TrainedRunFixture>, IDisposable
{
    private readonly TempDir _out = new();
    private readonly string _model = fixture.Model;
    private readonly string _runPath = fixture.RunPath;

    public void Dispose() => _out.Dispose();

    private (int Code, string Out, string Err) Evaluate(string csv, params string[] more) =>
        CliTests.Run(["evaluate", _model, "--out", csv, "--warmup", "1", "--repeats", "5", .. more.Contains("--no-accuracy") ? more : ["--data", "embedded", .. more]]);

    [Fact]
    public void Should_EqualTorchSharpsTestAccuracy_When_TheExportIsScoredInOnnxRuntime()
    {
        string csv = _out.File("r.csv");
        var r = Evaluate(csv, "--providers", "cpu", "--batch", "1");
        Assert.True(r.Code == 0, r.Err + r.Out);
        EvaluationRow row = CsvFile.ReadAll<EvaluationRow>(csv).Single();

        using RunCheckpoint run = RunCheckpoint.Load(_runPath);
        ImageDataset test = run.TestData(DatasetCatalog.Embedded);
        (Tensor x, Tensor y) = BatchLoader.Load(test, Enumerable.Range(0, test.Count).ToArray());
        using (x)
        using (y)
        {
            VerificationResult v = ExportVerifier.Verify(run.Network, _model, x, y.data<long>().ToArray());
            Assert.Equal(test.Count, row.TestSamples);
            Assert.Equal(v.TorchCorrect, row.CorrectTop1);
            Assert.Equal((double)v.TorchCorrect!.Value / test.Count, row.AccuracyTop1!.Value, 6);
            // each image's answer, in the test set's order: as many right as counted, and the first ones as the labels say
            bool[] right = Core.AnswerBits.Unpack(row.CorrectBits, test.Count)!;
            Assert.Equal(row.CorrectTop1, right.Count(b => b));
            long[] predicted, labels = y.data<long>().ToArray();
            using (no_grad())
            using (Tensor logits = run.Network.forward(x))
            using (Tensor argmax = logits.argmax(1))
                predicted = argmax.data<long>().ToArray();
            Assert.Equal(Enumerable.Range(0, test.Count).Select(i => predicted[i] == labels[i]), right);
        }
        Assert.True(row.AccuracyTop5 >= row.AccuracyTop1);
        Assert.True(row.SpikesPerSample > 0);
        Assert.True(row.SynopsPerSample > 0);
        Assert.True(row.EnergySnnUj > 0 && row.EnergyAnnUj > 0);
        Assert.Equal(TrainerTests.Tiny.Macro.Timesteps, row.Timesteps);
        Assert.Equal(TrainerTests.Tiny.AnnMacCount(), row.AnnMacs);

        List<LayerRow> layers = CsvFile.ReadAll<LayerRow>(EvaluateStage.LayersPath(csv));
        Assert.Equal(TrainerTests.Tiny.SpikeLayers().Select(l => l.Path), layers.Select(l => l.Layer));
        Assert.Equal(row.SpikesPerSample!.Value, layers.Sum(l => l.SpikesPerSample), 1);
        Assert.All(layers, l => Assert.InRange(l.FiringRate!.Value, 0, 1));
        // the feedback edges (2 → 0, 3 → 1 in both cells) run on the first of the two timesteps only
        Assert.Equal(TrainerTests.Tiny.SpikeLayers().Select(l => l.Steps), layers.Select(l => l.Timesteps));
        Assert.Equal(4, layers.Count(l => l.Timesteps == 1));
        Assert.All(layers, l => Assert.Equal(l.SpikesPerSample / (l.Neurons!.Value * (double)l.Timesteps), l.FiringRate!.Value, 5));
    }

    [Fact]
    public void Should_ScoreAccuracyInRunsOfTheModelsBatch_When_TheModelFixesIt()
    {
        // an export saved again with a static batch (as NNAPI, Core ML or TensorRT want it): 2,000 images in runs of 7, the
        // last one padded; the same counts as the file with a free batch (every row was failed by the runs of 64)
        ModelProto proto = ModelProto.Parser.ParseFrom(File.ReadAllBytes(_model));
        proto.Graph.Input[0].Type.TensorType.Shape.Dim[0].DimValue = 7;
        string fixedModel = _out.File("fixed7.onnx");
        File.WriteAllBytes(fixedModel, proto.ToByteArray());
        string free = _out.File("free.csv"), seven = _out.File("seven.csv");
        Assert.Equal(0, Evaluate(free, "--providers", "cpu", "--batch", "7").Code);
        var r = CliTests.Run("evaluate", fixedModel, "--out", seven, "--providers", "cpu", "--batch", "7", "--warmup", "1", "--repeats", "5", "--data", "embedded");
        Assert.True(r.Code == 0, r.Err + r.Out);
        EvaluationRow expected = CsvFile.ReadAll<EvaluationRow>(free).Single(), row = CsvFile.ReadAll<EvaluationRow>(seven).Single();
        Assert.Equal(EvaluationStatus.Ok, row.Status);
        Assert.Equal(BatchSource.Model, row.BatchSource);
        Assert.Equal(2000, row.TestSamples);
        Assert.Equal(expected.CorrectTop1, row.CorrectTop1);
        Assert.Equal(expected.SpikesPerSample!.Value, row.SpikesPerSample!.Value, 9); // the padding's spikes are not counted
    }

    [SkippableFact]
    public void Should_MeasureCpuAndEdgeAndSkipTheRest_When_NoGpuIsHere()
    {
        Skip.If(EvaluateResumeTests.GpuHere, "an NVIDIA GPU is here: the CUDA provider may run");
        string csv = _out.File("r.csv");
        var r = Evaluate(csv, "--providers", "cpu,edge,cuda,xnnpack", "--limit", "100");
        Assert.True(r.Code == 0, r.Err + r.Out);
        List<EvaluationRow> rows = CsvFile.ReadAll<EvaluationRow>(csv);
        Assert.Equal(8, rows.Count);
        Assert.All(rows.Where(w => w.Profile is "cpu" or "edge"), w => Assert.Equal(EvaluationStatus.Ok, w.Status));
        Assert.Equal(["fp32", "fp32", "int8", "int8"], rows.Take(4).Select(w => w.Precision)); // edge takes tiny.int8.onnx
        Assert.True(rows[2].FileBytes < rows[0].FileBytes);
        Assert.All(rows.Where(w => w.Profile is "cuda" or "xnnpack"), w => Assert.Equal(EvaluationStatus.Skipped, w.Status));
        Assert.All(rows.Where(w => w.Status == EvaluationStatus.Skipped), w => Assert.False(string.IsNullOrWhiteSpace(w.Reason)));
        Assert.Contains("skipped", r.Out);
    }

    [Fact]
    public void Should_KeepEarlierRowsAndFailWithOneLine_When_TheModelRejectsTheInputShape()
    {
        string csv = _out.File("r.csv");
        Assert.Equal(0, Evaluate(csv, "--providers", "cpu", "--batch", "1", "--no-accuracy").Code);
        string before = File.ReadAllText(csv);

        var r = Evaluate(csv, "--providers", "cpu", "--batch", "2", "--no-accuracy", "--input-shape", "1,32,32");
        CliTests.AssertOneLineError(r, ExitCodes.InputError, "1 of 1 rows failed");
        Assert.Contains("Got: 32 Expected: 28", r.Err);
        Assert.StartsWith(before, File.ReadAllText(csv));
        List<EvaluationRow> rows = CsvFile.ReadAll<EvaluationRow>(csv);
        Assert.Equal([EvaluationStatus.Ok, EvaluationStatus.Failed], rows.Select(w => w.Status));
    }

    [Fact]
    public void Should_WriteOneFailedRow_When_TheFileIsNotAModel()
    {
        string bad = _out.File("bad.onnx");
        File.WriteAllText(bad, "PK\u0003\u0004 not a model");
        var r = CliTests.Run("evaluate", bad, "--out", _out.File("r.csv"), "--providers", "cpu,edge", "--batch", "1,64");
        CliTests.AssertOneLineError(r, ExitCodes.InputError, "1 of 1 rows failed");
        EvaluationRow row = Assert.Single(CsvFile.ReadAll<EvaluationRow>(_out.File("r.csv")));
        Assert.Equal(EvaluationStatus.Failed, row.Status);
        Assert.Contains("bad.onnx: not an ONNX model", row.Reason);
    }

    [Fact]
    public void Should_WriteFailedRowNotUsageError_When_SpikernelMetadataIsMalformed()
    {
        ModelProto proto = ModelProto.Parser.ParseFrom(File.ReadAllBytes(_model));
        proto.MetadataProps.Single(p => p.Key == "spikernel.spike_layer_neurons").Value = "12,many";
        string odd = _out.File("odd.onnx");
        File.WriteAllBytes(odd, proto.ToByteArray());
        string csv = _out.File("r.csv");
        var r = CliTests.Run("evaluate", odd, "--out", csv, "--providers", "cpu", "--batch", "1");
        CliTests.AssertOneLineError(r, ExitCodes.InputError, "rows failed");
        EvaluationRow row = Assert.Single(CsvFile.ReadAll<EvaluationRow>(csv));
        Assert.Equal(EvaluationStatus.Failed, row.Status);
        Assert.Contains("metadata spikernel.spike_layer_neurons is 'many', expected a whole number", row.Reason);
    }

    [Fact]
    public void Should_FailWithOneLine_When_TheModelIsTruncated()
    {
        string cut = _out.File("cut.onnx");
        byte[] bytes = File.ReadAllBytes(_model);
        File.WriteAllBytes(cut, bytes[..(bytes.Length * 2 / 3)]);
        var r = CliTests.Run("evaluate", cut, "--out", _out.File("r.csv"), "--providers", "cpu", "--batch", "1");
        CliTests.AssertOneLineError(r, ExitCodes.InputError, "truncated");
    }

    [Theory]
    [InlineData("--providers", "cpu,tpu", "Unknown provider or profile 'tpu'")]
    [InlineData("--batch", "1,0", "--batch sizes must be at least 1 (got 0).")]
    [InlineData("--batch", "one", "--batch: 'one' is not a whole number.")]
    [InlineData("--precision", "fp64", "--precision must be auto, fp32, int8 or all")]
    [InlineData("--rtol", "-1", "--rtol must be a finite number, 0 or more (got -1).")] // (it named --atol's value beside it)
    [InlineData("--atol", "1e400", "--atol must be a finite number, 0 or more (got Infinity).")]
    [InlineData("--batch", "99999999999", "--batch: 99999999999 is out of range (-2147483648 to 2147483647).")]
    [InlineData("--input-shape", "=1,28,28", "--input-shape '=1,28,28' has an empty input name.")]
    [InlineData("--duration", "0.5", "--duration and --repeats both say how long to time a measurement; give one of them.")] // Evaluate gives --repeats
    public void Should_FailWithUsageLineAndWriteNothing_When_AnOptionIsInvalid(string option, string value, string expected)
    {
        string csv = _out.File("r.csv");
        CliTests.AssertOneLineError(Evaluate(csv, option, value), ExitCodes.Usage, expected);
        Assert.False(File.Exists(csv));
    }

    [Fact]
    public void Should_FailAsUnreadableInputAndWriteNothing_When_InputsDoNotExist()
    {
        string csv = _out.File("r.csv");
        CliTests.AssertOneLineError(Evaluate(csv, "--inputs", "/nonexistent-spikernel-inputs"), ExitCodes.InputError,
            "--inputs /nonexistent-spikernel-inputs: no such file or folder.");
        Assert.False(File.Exists(csv));
    }

    [Fact]
    public void Should_FailWithOneLine_When_TheOutputFolderIsMissing()
    {
        CliTests.AssertOneLineError(Evaluate("/nonexistent-spikernel/r.csv", "--providers", "cpu"), ExitCodes.InputError, "does not exist");
    }

    [Fact]
    public void Should_MeasureInAFreshProcess_When_Isolated()
    {
        string csv = _out.File("r.csv");
        var r = Evaluate(csv, "--providers", "edge", "--batch", "1,4", "--limit", "50", "--isolate");
        Assert.True(r.Code == 0, r.Err + r.Out);
        List<EvaluationRow> rows = CsvFile.ReadAll<EvaluationRow>(csv);
        Assert.Equal([1, 4], rows.Select(w => w.BatchSize));
        Assert.All(rows, w => Assert.True(w.Isolated && w.Status == EvaluationStatus.Ok, w.Reason));
        Assert.All(rows, w => Assert.Equal(50, w.TestSamples));
        // the test-set pass ran once (in the batch-1 child): the batch-4 row carries its figures, the layer rows are not doubled
        Assert.Equal(rows[0].CorrectTop1, rows[1].CorrectTop1);
        Assert.Equal(rows[0].CorrectBits, rows[1].CorrectBits); // each image's answer too: rank pairs the batch-4 row by it
        Assert.Equal(rows[0].SpikesPerSample, rows[1].SpikesPerSample);
        Assert.All(rows, w => Assert.Equal(Evaluators.Results.InputSource.Images, w.InputSource)); // every child times test images, not seeded values
        List<LayerRow> layers = CsvFile.ReadAll<LayerRow>(EvaluateStage.LayersPath(csv));
        Assert.NotEmpty(layers);
        Assert.Equal(layers.Count, layers.Select(l => (l.Model, l.Profile, l.Precision, l.LayerIndex)).Distinct().Count());
    }
    [Fact]
    public void Should_MeasureAgain_When_TheModelFileChangedSinceItsEvaluation()
    {
        string models = _out.File("models"), csv = _out.File("r.csv");
        Directory.CreateDirectory(models);
        string model = Path.Combine(models, "m.onnx");
        File.Copy(_model, model);
        var options = new EvaluateStageOptions(models, csv, Evaluators.Providers.EvaluationProfile.ParseList("cpu"), [1],
            new Evaluators.Measurement.LatencyOptions(1, 2), Accuracy: false, Resume: true);
        new EvaluateStage().Run(options, Core.NullProgress.Instance, CancellationToken.None);
        Assert.True(new EvaluateStage().IsComplete(options));

        // exported again (its candidate trained again): another file under the same name
        ModelProto proto = ModelProto.Parser.ParseFrom(File.ReadAllBytes(model));
        proto.DocString += " (exported again)";
        File.WriteAllBytes(model, proto.ToByteArray());
        Assert.False(new EvaluateStage().IsComplete(options));

        new EvaluateStage().Run(options, Core.NullProgress.Instance, CancellationToken.None);
        Assert.True(new EvaluateStage().IsComplete(options)); // its last rows are of the file as it is now
        List<EvaluationRow> rows = CsvFile.ReadAll<EvaluationRow>(csv);
        Assert.Equal(2, rows.Select(r => r.ModelSha256).Distinct().Count());
        Assert.Equal(Evaluators.Models.ModelInfo.HashOf(model), rows[^1].ModelSha256);

        // a copy of the folder (its rows name the original's file): complete as copied, not once its own file changes
        string copy = _out.File("copy");
        Directory.CreateDirectory(Path.Combine(copy, "models"));
        foreach (string f in Directory.GetFiles(_out.Path)) File.Copy(f, Path.Combine(copy, Path.GetFileName(f)));
        File.Copy(model, Path.Combine(copy, "models", "m.onnx"));
        var copied = options with { Models = Path.Combine(copy, "models"), OutputPath = Path.Combine(copy, "r.csv") };
        Assert.True(new EvaluateStage().IsComplete(copied));
        proto.DocString += " (and again, in the copy)";
        File.WriteAllBytes(Path.Combine(copy, "models", "m.onnx"), proto.ToByteArray());
        Assert.False(new EvaluateStage().IsComplete(copied)); // the original file is unchanged; the copy's is not

        // a file new beside the measured ones (a run's int8 file accepted after a refusal) is not seen: Reopen says so
        File.Copy(model, Path.Combine(models, "m.int8.onnx"));
        Assert.True(new EvaluateStage().IsComplete(options));
        EvaluateStage.Reopen(csv);
        Assert.False(new EvaluateStage().IsComplete(options));
    }

    [Fact]
    public void Should_TryASkippedRowAgain_When_AFinishedEvaluationIsResumed()
    {
        // a run folder evaluated on a machine without a provider (its rows skipped), then resumed where it runs: the run
        // asks HasWork, not IsComplete, so the skipped measurement is made now (here: the row edited as another machine left it)
        string models = _out.File("models"), csv = _out.File("r.csv");
        Directory.CreateDirectory(models);
        File.Copy(_model, Path.Combine(models, "m.onnx"));
        var options = new EvaluateStageOptions(models, csv, Evaluators.Providers.EvaluationProfile.ParseList("cpu,edge"), [1],
            new Evaluators.Measurement.LatencyOptions(1, 2), Accuracy: false, Resume: true);
        var stage = new EvaluateStage();
        stage.Run(options, Core.NullProgress.Instance, CancellationToken.None);
        Assert.False(stage.HasWork(options));
        List<EvaluationRow> rows = CsvFile.ReadAll<EvaluationRow>(csv);
        CsvFile.WriteAll(csv, rows.Select(r => r.Profile == "edge"
            ? r with { Status = EvaluationStatus.Skipped, Reason = "XnnpackExecutionProvider is not in this ONNX Runtime build", LatencyP50Ms = null } : r));
        Assert.True(stage.IsComplete(options)); // complete as a stage: its measurements were all made, one of them skipped
        Assert.True(stage.HasWork(options));

        stage.Run(options, Core.NullProgress.Instance, CancellationToken.None);
        List<EvaluationRow> after = CsvFile.ReadAll<EvaluationRow>(csv);
        Assert.Equal(["cpu ok", "edge ok"], after.Select(r => $"{r.Profile} {CsvFormat.Word(r.Status)}").Order(StringComparer.Ordinal));
        Assert.Equal(rows.Single(r => r.Profile == "cpu").TimestampUtc, after.Single(r => r.Profile == "cpu").TimestampUtc); // not measured again
        Assert.False(stage.HasWork(options));

        // a provider still missing here (CUDA on this machine): tried again on each resume, and a row that says the same
        // leaves the file as it was (no churn of results.csv, the ranking and the report)
        var withCuda = options with { Profiles = Evaluators.Providers.EvaluationProfile.ParseList("cpu,edge,cuda") };
        stage.Run(withCuda, Core.NullProgress.Instance, CancellationToken.None);
        Assert.Equal(EvaluationStatus.Skipped, CsvFile.ReadAll<EvaluationRow>(csv).Single(r => r.Profile == "cuda").Status);
        string before = File.ReadAllText(csv);
        Assert.True(stage.HasWork(withCuda));
        stage.Run(withCuda, Core.NullProgress.Instance, CancellationToken.None);
        Assert.Equal(before, File.ReadAllText(csv));
        Assert.True(stage.IsComplete(withCuda));
    }

    [Fact]
    public void Should_RewriteNothing_When_AFileStillFailsToLoadOnResume()
    {
        // a file that does not load is tried again on each resume (it may have been mended); the same failure leaves the
        // file as it was, and once the file loads its measurement replaces the failure
        string models = _out.File("models"), csv = _out.File("r.csv");
        Directory.CreateDirectory(models);
        File.Copy(_model, Path.Combine(models, "good.onnx"));
        File.WriteAllText(Path.Combine(models, "bad.onnx"), "not a model\n");
        var options = new EvaluateStageOptions(models, csv, Evaluators.Providers.EvaluationProfile.ParseList("cpu"), [1],
            new Evaluators.Measurement.LatencyOptions(1, 2), Accuracy: false, Resume: true);
        var stage = new EvaluateStage();
        stage.Run(options, Core.NullProgress.Instance, CancellationToken.None);
        string before = File.ReadAllText(csv);
        Assert.True(stage.HasWork(options));
        stage.Run(options, Core.NullProgress.Instance, CancellationToken.None);
        Assert.Equal(before, File.ReadAllText(csv));

        ModelProto mended = ModelProto.Parser.ParseFrom(File.ReadAllBytes(_model));
        mended.DocString += " (mended)"; // another file than good.onnx: measurements are keyed by the file's hash
        File.WriteAllBytes(Path.Combine(models, "bad.onnx"), mended.ToByteArray());
        stage.Run(options, Core.NullProgress.Instance, CancellationToken.None);
        Assert.Equal(["bad 1 ok", "good 1 ok"], CsvFile.ReadAll<EvaluationRow>(csv).Select(r => $"{r.Model} {r.BatchSize} {CsvFormat.Word(r.Status)}").Order(StringComparer.Ordinal));
        Assert.False(stage.HasWork(options));
    }

    [Fact]
    public void Should_ScoreAPrecisionAgain_When_ItWasFirstTimedWithoutTheAccuracyPass()
    {
        // scripted children (the real ones would need a precision whose timing fails at one batch size and not another):
        // at batch 1 the int8 file's timing fails; at batch 4 the parent asks for timing only (fp32's accuracy is known),
        // and int8 is timed for the first time — without accuracy. The parent runs that child again with the accuracy pass
        string name = Evaluators.Models.ModelGroup.Discover(_model)[0].Name, dir = _out.File("children");
        Directory.CreateDirectory(dir);
        EvaluationRow Row(string precision, int batch, EvaluationStatus status = EvaluationStatus.Ok, int? correct = null, string reason = "") => new()
        {
            TimestampUtc = "2026-12-07T00:00:00.000Z", Model = name, ModelPath = _model, ModelSha256 = "abc", Profile = "edge", Precision = precision,
            BatchSize = batch, Status = status, Reason = reason, LatencyP50Ms = status == EvaluationStatus.Ok ? 1 : null,
            CorrectTop1 = correct, TestSamples = correct is null ? null : 20, AccuracyTop1 = correct / 20.0,
        };
        CsvFile.WriteAll(Path.Combine(dir, "b1.csv"), [Row("fp32", 1, correct: 10), Row("int8", 1, EvaluationStatus.Failed, reason: "QLinearConv: not implemented")]);
        CsvFile.WriteAll(Path.Combine(dir, "b4-timing.csv"), [Row("fp32", 4), Row("int8", 4)]);
        CsvFile.WriteAll(Path.Combine(dir, "b4-accuracy.csv"), [Row("fp32", 4, correct: 10), Row("int8", 4, correct: 9)]);
        string child = $$"""
            batch=""; timing=0
            while [ $# -gt 0 ]; do case "$1" in --out) out="$2"; shift;; --batch) batch="$2"; shift;; --timing-images-only) timing=1;; esac; shift; done
            echo "$batch $timing" >> '{{dir}}/calls'
            if [ "$batch" = 1 ]; then cp '{{dir}}/b1.csv' "$out"; exit 1; fi
            if [ $timing = 1 ]; then cp '{{dir}}/b4-timing.csv' "$out"; else cp '{{dir}}/b4-accuracy.csv' "$out"; fi
            """;
        string csv = _out.File("r.csv");
        var options = new EvaluateStageOptions(_model, csv, Evaluators.Providers.EvaluationProfile.ParseList("edge"), [1, 4],
            new Evaluators.Measurement.LatencyOptions(1, 2), Evaluators.PrecisionChoice.All, Isolate: new ScaleOut.SelfLauncher("/bin/sh", ["-c", child, "sh"]));
        new EvaluateStage().Run(options, Core.NullProgress.Instance, CancellationToken.None);

        Assert.Equal(["1 0", "4 1", "4 0"], File.ReadAllLines(Path.Combine(dir, "calls")));
        List<EvaluationRow> rows = CsvFile.ReadAll<EvaluationRow>(csv);
        Assert.Equal(["fp32 1 ok 10", "int8 1 failed ", "fp32 4 ok 10", "int8 4 ok 9"], rows.Select(r => $"{r.Precision} {r.BatchSize} {CsvFormat.Word(r.Status)} {r.CorrectTop1}"));
    }

    [Fact]
    public void Should_StopAndNotMarkTheEvaluationComplete_When_AnIsolatedChildIsKilled()
    {
        string csv = _out.File("r.csv");
        // a child that creates its CSV with the header only (as a real one does before it measures), then dies by SIGKILL
        // (what the OOM killer does to it)
        const string child = """
            while [ "$1" != "--out" ]; do shift; done
            printf 'model,profile\n' > "$2"
            kill -9 $$
            """;
        var options = new EvaluateStageOptions(_model, csv, Evaluators.Providers.EvaluationProfile.ParseList("edge"), [1],
            new Evaluators.Measurement.LatencyOptions(1, 2), Accuracy: false, Isolate: new ScaleOut.SelfLauncher("/bin/sh", ["-c", child, "sh"]));

        var ex = Assert.Throws<ScaleOut.WorkerFailedException>(() => new EvaluateStage().Run(options, Core.NullProgress.Instance, CancellationToken.None));

        Assert.Equal(137, ex.ExitCode);
        Assert.Contains("was killed by signal 9", ex.Message);
        Assert.False(new EvaluateStage().IsComplete(options)); // measured again by the next evaluate
        Assert.Equal(ExitCodes.InternalError, CommandRunner.Run(_ => throw ex)); // not reported as bad input
    }

    [Fact]
    public void Should_KillTheChildAndReportAnInterruption_When_AnIsolatedEvaluationIsCancelled()
    {
        string csv = _out.File("r.csv"), pidFile = _out.File("child.pid");
        // a child that would measure for a minute: Ctrl+C in the parent must not wait for it, nor leave it running
        string child = $"echo $$ > '{pidFile}'; exec sleep 60";
        var options = new EvaluateStageOptions(_model, csv, Evaluators.Providers.EvaluationProfile.ParseList("edge"), [1],
            new Evaluators.Measurement.LatencyOptions(1, 2), Accuracy: false, Isolate: new ScaleOut.SelfLauncher("/bin/sh", ["-c", child, "sh"]));
        using var cancel = new CancellationTokenSource();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var stopper = new Thread(() =>
        {
            var waited = System.Diagnostics.Stopwatch.StartNew(); // a failure before the child starts must not hang the test host
            while ((!File.Exists(pidFile) || File.ReadAllText(pidFile).Trim().Length == 0) && waited.Elapsed < TimeSpan.FromMinutes(1)) Thread.Sleep(20);
            cancel.Cancel();
        }) { IsBackground = true };
        stopper.Start();

        Assert.ThrowsAny<OperationCanceledException>(() => new EvaluateStage().Run(options, Core.NullProgress.Instance, cancel.Token));
        stopper.Join();

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"the evaluation waited for its child: {clock.Elapsed}");
        int pid = int.Parse(File.ReadAllText(pidFile).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.False(Directory.Exists($"/proc/{pid}"), $"the isolated child {pid} is still running");
        Assert.False(new EvaluateStage().IsComplete(options));
    }
}
