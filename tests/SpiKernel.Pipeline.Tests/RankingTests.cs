using SpiKernel.Core;
using SpiKernel.Core.Csv;
using SpiKernel.Evaluators.Results;
using SpiKernel.Pipeline.Ranking;
using SpiKernel.Pipeline.Stages;

namespace SpiKernel.Pipeline.Tests;

/// <summary>Constraints, Pareto fronts, tie-breaks and recommendations on hand-made rows whose answers are known.</summary>
public class RankingTests
{
    internal static Measurement M(string model, string profile, double acc, double p50, long parameters, int batch = 1,
        EvaluationStatus status = EvaluationStatus.Ok, string reason = "", double? p95 = null, int? samples = null) =>
        new(new EvaluationRow
        {
            TimestampUtc = "2026-12-01T00:00:00.000Z", Model = model, CandidateId = "id-" + model, Profile = profile, Precision = "fp32",
            BatchSize = batch, Status = status, Reason = reason, AccuracyTop1 = status == EvaluationStatus.Ok ? acc : null,
            LatencyP50Ms = status == EvaluationStatus.Ok ? p50 : null, LatencyP95Ms = p95 ?? p50 * 1.2, Parameters = parameters, TestSamples = samples,
        }, "hand.csv");

    internal static (IReadOnlyList<RankingRow> Rows, IReadOnlyList<Recommendation> Recs) Rank(IReadOnlyList<Measurement> m, params string[] constraints) =>
        Ranker.Rank(m, constraints.Select(Constraint.Parse).ToArray(), Objective.Defaults);

    [Fact]
    public void Should_SayTheLatencyIsPredicted_When_APredictedRowIsRecommended()
    {
        Measurement guess = M("guess", "cpu", 0.9, 1.0, 100) with { Latency = LatencySource.Predicted };
        var (_, recs) = Rank([guess, M("meas", "cpu", 0.9, 2.0, 50)]);
        string why = recs.Single(r => r.Profile == "cpu").Why;
        Assert.True(why.StartsWith("guess (fp32, latency predicted) at batch 1: decided by latency_p50_ms:min (1 predicted vs 2 of meas)", StringComparison.Ordinal), why);
        (_, recs) = Rank([guess with { Latency = LatencySource.Measured }, M("meas", "cpu", 0.9, 2.0, 50)]);
        Assert.StartsWith("guess (fp32) at batch 1: decided by latency_p50_ms:min (1 vs 2 of meas)", recs.Single(r => r.Profile == "cpu").Why);
    }

    [Theory]
    [InlineData("score:max", null)]
    [InlineData(null, "score>=1")]
    public void Should_AskForTheCandidates_When_TheScoreIsRankedOnWithoutThem(string? objective, string? constraint)
    {
        using var dir = new TempDir();
        CsvFile.WriteAll(dir.File("r.csv"), [M("a", "cpu", 0.9, 1.0, 100).Row]);
        var options = new RankStageOptions([dir.File("r.csv")], dir.File("ranking.csv"), constraint is null ? [] : [Constraint.Parse(constraint)],
            objective is null ? Objective.Defaults : [Objective.Parse(objective)]);
        var ex = Assert.Throws<SettingsException>(() => new RankStage().Run(options, NullProgress.Instance, default));
        Assert.Contains("--candidates", ex.Message);
        Assert.False(File.Exists(dir.File("ranking.csv")));
    }

    [Fact]
    public void Should_LeaveOutATornLastRow_When_TheResultsAreStillBeingWritten()
    {
        // an evaluation killed (or still appending) mid-row: rank refused the file, or, with the cut where every later
        // column may be empty, read "0.85" cut to "0" as a 0 ms latency; the report already left such a row out
        using var dir = new TempDir();
        CsvFile.WriteAll(dir.File("r.csv"), [M("a", "cpu", 0.9, 1.0, 100).Row, M("b", "cpu", 0.8, 0.85, 100).Row]);
        string[] lines = File.ReadAllLines(dir.File("r.csv"));
        string b = lines[2];
        int latency = Array.IndexOf(lines[0].Split(','), "latency_p50_ms");
        File.WriteAllText(dir.File("r.csv"), string.Join('\n', lines[..2]) + "\n" + string.Join(',', b.Split(',')[..latency]) + ",0");
        var options = new RankStageOptions([dir.File("r.csv")], dir.File("ranking.csv"), [], [Objective.Parse("latency_p50_ms:min")]);
        Assert.Equal("a", Assert.Single(new RankStage().Run(options, NullProgress.Instance, default).Rows).Model);

        // a whole last row without its newline (another tool's file, or one edited by hand) is a row
        File.WriteAllText(dir.File("r.csv"), string.Join('\n', lines));
        Assert.Equal(["a", "b"], new RankStage().Run(options, NullProgress.Instance, default).Rows.Select(r => r.Model).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Should_TakeTheRetrysScore_When_AnInterruptedSearchLogsAFailureThenTheScore()
    {
        using var dir = new TempDir();
        CsvFile.WriteAll(dir.File("r.csv"), [M("a", "cpu", 0.9, 1.0, 100).Row]);
        CsvFile.WriteAll(dir.File("candidates.csv"), [
            new Search.CandidateRow { CandidateId = "id-a", Status = Search.CandidateStatus.Failed, Reason = "killed" },
            new Search.CandidateRow { CandidateId = "id-a", Status = Search.CandidateStatus.Scored, Score = 42.5 }]);
        var options = new RankStageOptions([dir.File("r.csv")], dir.File("ranking.csv"), [Constraint.Parse("score>=1")], Objective.Defaults, Candidates: dir.File("candidates.csv"));
        RankingRow row = Assert.Single(new RankStage().Run(options, NullProgress.Instance, default).Rows);
        Assert.Equal((RankStatus.Feasible, 42.5), (row.Status, row.Score)); // the failed row's empty score made it infeasible
    }

    [Fact]
    public void Should_RankTwoGpusApart_When_TheirRowsCarryTheirDeviceIds()
    {
        using var dir = new TempDir();
        EvaluationRow a = M("a", "cuda", 0.9, 1.0, 100).Row, b = M("b", "cuda", 0.9, 2.0, 100).Row;
        // GPU 1 (evaluate --device-id 1), later: the same models the other way round
        CsvFile.WriteAll(dir.File("r.csv"), [a, b,
            a with { DeviceId = 1, LatencyP50Ms = 3.0, TimestampUtc = "2026-12-02T00:00:00.000Z" },
            b with { DeviceId = 1, LatencyP50Ms = 0.5, TimestampUtc = "2026-12-02T00:00:00.000Z" }]);
        var options = new RankStageOptions([dir.File("r.csv")], dir.File("ranking.csv"), [Constraint.Parse("latency_p50_ms<=2@cuda:1")], Objective.Defaults);
        RankStageResult result = new RankStage().Run(options, NullProgress.Instance, default);
        Assert.Equal([("cuda", "a"), ("cuda:1", "b")], result.Recommendations.Select(r => (r.Profile, r.Row!.Model)));
        Assert.Equal(RankStatus.Infeasible, result.Rows.Single(r => r.Profile == "cuda:1" && r.Model == "a").Status);
        Assert.Equal(1.0, result.Rows.Single(r => r.Profile == "cuda" && r.Model == "a").LatencyP50Ms); // GPU 0's row, not GPU 1's later one
        Assert.Equal("cuda:1@jetson", CurrentRows.OnDevice(a with { Profile = "cuda@jetson", DeviceId = 1 }).Profile); // a bundle's device after it
        Assert.Equal("cpu", CurrentRows.OnDevice(a with { Profile = "cpu", Provider = "CPUExecutionProvider", DeviceId = 1 }).Profile); // never a GPU's
        Assert.Equal("cuda:1", CurrentRows.OnDevice(CurrentRows.OnDevice(a with { DeviceId = 1 })).Profile); // named once
        // layer rows as their measurement's rows: GPU 1's are cuda:1's, a CPU's stay as they are
        var layer = new LayerRow { Profile = "cuda@jetson", DeviceId = 1 };
        Assert.Equal(("cuda:1@jetson", "cpu"), (CurrentRows.OnDevice(layer).Profile, CurrentRows.OnDevice(layer with { Profile = "cpu", DeviceId = 0 }).Profile));
        // a ':' in a device's name is not an accelerator index (it kept the GPU's rows unnamed)
        Assert.Equal("cuda:1@host:2", CurrentRows.OnDevice(a with { Profile = "cuda@host:2", DeviceId = 1 }).Profile);
        Assert.False(CurrentRows.IsProfile("@host:2"));
    }

    [Fact]
    public void Should_SortIntoFronts_When_PointsDominateEachOther()
    {
        // a and b trade accuracy for latency (front 1); c is worse than a everywhere (front 2); d worse than c (front 3)
        int[] fronts = ParetoFronts.Sort([[0.9, -2, -10], [0.8, -1, -10], [0.85, -3, -10], [0.8, -4, -11]]);
        Assert.Equal([1, 1, 2, 3], fronts);
    }

    [Fact]
    public void Should_WriteAndCompareExactValues_When_ModelsDifferBeyondSixDigits()
    {
        // a is faster by 0.1 ns, b smaller: both on the front, and the latency decides, which six digits would not show
        var (rows, recs) = Rank([M("a", "cpu", 0.9, 1.0000001, 1_002_372), M("b", "cpu", 0.9, 1.0000002, 1_002_371)]);
        Assert.Equal("a (fp32) at batch 1: decided by latency_p50_ms:min (1.0000001 vs 1.0000002 of b) among the 2 models on the Pareto front", Assert.Single(recs).Why);
        Assert.Equal("accuracy_top1=0.9;latency_p50_ms=1.0000002;parameters=1002371", rows.Single(r => r.Model == "b").Objectives);
    }

    [Fact]
    public void Should_ShareAFront_When_PointsAreEqual()
    {
        Assert.Equal([1, 1, 2], ParetoFronts.Sort([[1, 1], [1, 1], [0, 1]]));
        Assert.False(ParetoFronts.Dominates([1, 1], [1, 1]));
    }

    [Fact]
    public void Should_RecommendTheMostAccurateFrontModel_When_NoConstraintBinds()
    {
        var (rows, recs) = Rank([M("fast", "cpu", 0.80, 1.0, 100), M("exact", "cpu", 0.90, 3.0, 300), M("worse", "cpu", 0.79, 3.5, 400)]);
        Assert.Equal(["exact", "fast", "worse"], rows.Select(r => r.Model));
        Assert.Equal([1, 1, 2], rows.Select(r => r.Front!.Value));
        Recommendation rec = Assert.Single(recs);
        Assert.Equal("exact", rec.Row!.Model);
        Assert.True(rows.Single(r => r.Model == "exact").Recommended);
        Assert.Equal("exact (fp32) at batch 1: decided by accuracy_top1:max (0.9 vs 0.8 of fast) among the 2 models on the Pareto front", rec.Why);
    }

    [Theory] // 95 % Wilson score intervals, worked by hand from the formula (50 of 100: 0.4038–0.5962, the textbook case)
    [InlineData(0.5, 100, 0.403832, 0.596168)]
    [InlineData(0.0, 10, 0.0, 0.277533)]
    [InlineData(1.0, 10, 0.722467, 1.0)]
    [InlineData(0.841, 2000, 0.824322, 0.856370)]
    public void Should_GiveTheWilsonInterval_When_AnAccuracyHasItsSampleCount(double accuracy, int samples, double low, double high)
    {
        (double l, double h) = RankStatistics.Wilson95(accuracy, samples)!.Value;
        Assert.Equal(low, l, 6);
        Assert.Equal(high, h, 6);
        Assert.Null(RankStatistics.Wilson95(accuracy, null));
        Assert.Null(RankStatistics.Wilson95(null, samples));
    }

    [Theory] // the pooled two-proportion z-test, worked in Python (2·(1 − Φ(|z|)) = math.erfc(|z| / √2))
    [InlineData(0.841, 2000, 0.838, 2000, 0.7960611)]
    [InlineData(0.875, 2000, 0.850, 2000, 0.0216949)] // 95 % intervals that overlap, and yet a clear difference
    [InlineData(0.5, 100, 0.6, 100, 0.1552185)]
    public void Should_GiveTheTwoSidedPOfADifferenceInAccuracy_When_BothSampleCountsAreKnown(double a, int n, double b, int m, double expected)
    {
        Assert.Equal(expected, RankStatistics.DifferenceP(a, n, b, m)!.Value, 6);
        Assert.Null(RankStatistics.DifferenceP(a, null, b, m));
        Assert.Null(RankStatistics.DifferenceP(1.2, n, b, m));
    }

    [Theory]
    [InlineData(0.2345, "p = 0.23")]
    [InlineData(0.0042, "p = 0.004")]
    [InlineData(0.00016, "p < 0.001")] // the kernel study's k=3 against k=5 on 5,000 images: was "p = 0.00"
    [InlineData(0.0496, "p = 0.0496")] // beside the line at 0.05: not "p = 0.05" in a sentence that says "differ clearly"
    [InlineData(0.049996, "p = 0.0499")] // below the line stays below it
    [InlineData(double.NaN, "p undefined")]
    public void Should_WriteAPValueThatSaysSomething_When_ItIsSmall(double p, string expected) =>
        Assert.Equal(expected, RankStatistics.PText(p));

    [Fact]
    public void Should_SayAnAccuracyDecisionIsNotClear_When_TheTestImagesCannotTellTheModelsApart()
    {
        // 2,000 images: 84.1 % against 83.8 % is no clear difference (p = 0.80); 87.5 % against 85 % is (p = 0.02)
        var (rows, recs) = Rank([M("a", "cpu", 0.841, 2.0, 100, samples: 2000), M("b", "cpu", 0.838, 1.0, 100, samples: 2000)]);
        RankingRow a = rows.Single(r => r.Model == "a");
        Assert.Equal((0.824322, 0.856370, 2000), (Math.Round(a.AccuracyCi95Low!.Value, 6), Math.Round(a.AccuracyCi95High!.Value, 6), a.TestSamples));
        Assert.EndsWith("decided by accuracy_top1:max (0.841 vs 0.838 of b), not a clear difference on 2,000 test images (p = 0.80, two-proportion z-test) among the 2 models on the Pareto front", recs.Single().Why);
        (rows, recs) = Rank([M("a", "cpu", 0.875, 2.0, 100, samples: 2000), M("b", "cpu", 0.85, 1.0, 100, samples: 2000)]);
        Assert.EndsWith("(0.875 vs 0.85 of b) among the 2 models on the Pareto front", recs.Single().Why); // their intervals overlap, and no remark
        // the counts in the sentence are the invariant culture's, whatever the process's
        System.Globalization.CultureInfo saved = System.Globalization.CultureInfo.CurrentCulture;
        try
        {
            System.Globalization.CultureInfo.CurrentCulture = new System.Globalization.CultureInfo("de-DE");
            (_, recs) = Rank([M("a", "cpu", 0.841, 2.0, 100, samples: 2000), M("b", "cpu", 0.838, 1.0, 100, samples: 2000)]);
            Assert.Contains("not a clear difference on 2,000 test images (p = 0.80,", recs.Single().Why);
        }
        finally
        {
            System.Globalization.CultureInfo.CurrentCulture = saved;
        }
        // without a sample count there is no interval, and nothing is claimed
        (rows, recs) = Rank([M("a", "cpu", 0.841, 2.0, 100), M("b", "cpu", 0.838, 1.0, 100)]);
        Assert.Null(rows[0].AccuracyCi95Low);
        Assert.DoesNotContain("clear difference", recs.Single().Why, StringComparison.Ordinal);
        // an accuracy outside [0, 1] (a hand-edited results file) gets no interval rather than NaN
        Assert.Null(RankStatistics.Wilson95(1.2, 2000));
        Assert.Null(RankStatistics.Wilson95(double.NaN, 2000));
    }

    [Fact]
    public void Should_BreakTiesByTheNextObjectiveThenByName_When_TheFirstIsEqual()
    {
        var (rows, recs) = Rank([M("b", "cpu", 0.9, 1.0, 100), M("a", "cpu", 0.9, 1.0, 100), M("c", "cpu", 0.9, 2.0, 50)]);
        // equal a and b share front 1 with c (fewer parameters, slower); latency decides between c and a/b, the name between a and b
        Assert.Equal(["a", "b", "c"], rows.Select(r => r.Model));
        Assert.All(rows, r => Assert.Equal(1, r.Front));
        Assert.Equal("a", recs.Single().Row!.Model);
        Assert.Contains("tied with b on every objective, first by name", recs.Single().Why);
    }

    [Fact]
    public void Should_KeepInfeasibleRowsWithTheConstraintTheyFail_When_AConstraintBinds()
    {
        var (rows, recs) = Rank([M("fast", "edge", 0.80, 1.0, 100), M("exact", "edge", 0.90, 3.0, 300), M("cpu-only", "cpu", 0.95, 0.5, 100)],
            "latency_p95_ms<=2@edge");
        RankingRow exact = rows.Single(r => r.Model == "exact" && r.Profile == "edge");
        Assert.Equal(RankStatus.Infeasible, exact.Status);
        Assert.Equal("latency_p95_ms<=2@edge (latency_p95_ms = 3.6)", exact.Reason);
        Assert.Null(exact.Front);
        Recommendation edge = recs.Single(r => r.Profile == "edge");
        Assert.Equal("fast", edge.Row!.Model);
        Assert.Equal("fast (fp32) at batch 1: the only model on the Pareto front; latency_p95_ms<=2@edge excluded 1 of 2", edge.Why);
        Assert.Equal("cpu-only", recs.Single(r => r.Profile == "cpu").Row!.Model); // the constraint is for edge only
        Assert.Contains(rows, r => r.Model == "cpu-only" && r.Profile == "edge" && r.Status == RankStatus.Unmeasured);
    }

    [Fact]
    public void Should_RecommendNothingAndSaySo_When_EveryModelIsInfeasible()
    {
        var (rows, recs) = Rank([M("a", "cpu", 0.80, 1.0, 100), M("b", "cpu", 0.85, 3.0, 300)], "accuracy_top1>=0.9");
        Assert.All(rows, r => Assert.Equal(RankStatus.Infeasible, r.Status));
        Recommendation rec = Assert.Single(recs);
        Assert.Null(rec.Row);
        Assert.StartsWith("no model meets the constraints on cpu (2 measured rows; accuracy_top1>=0.9", rec.Why);
    }

    [Fact]
    public void Should_ReportAModelMissingOnAProfile_When_ItWasSkippedThereOrAbsent()
    {
        var (rows, _) = Rank([
            M("a", "cpu", 0.8, 1.0, 100), M("a", "cuda", 0, 0, 100, status: EvaluationStatus.Skipped, reason: "libcudart.so.13: cannot open"),
            M("b", "cpu", 0.9, 2.0, 100), M("b", "cuda", 0.9, 0.5, 100)]);
        RankingRow missing = rows.Single(r => r.Status == RankStatus.Unmeasured);
        Assert.Equal(("a", "cuda"), (missing.Model, missing.Profile));
        Assert.Equal("skipped: libcudart.so.13: cannot open", missing.Reason);

        var (absent, _) = Rank([M("a", "cpu", 0.8, 1.0, 100), M("b", "edge", 0.9, 2.0, 100)]);
        Assert.Contains(absent, r => r.Status == RankStatus.Unmeasured && r.Model == "a" && r.Profile == "edge" && r.Reason == "no row for a on edge in the inputs");
    }

    [Fact]
    public void Should_UseTheLatestMeasurement_When_AModelIsMeasuredTwice()
    {
        Measurement old = M("a", "cpu", 0.8, 9.0, 100);
        Measurement fresh = M("a", "cpu", 0.8, 1.0, 100) with { Row = M("a", "cpu", 0.8, 1.0, 100).Row with { TimestampUtc = "2026-12-02T00:00:00.000Z" } };
        var (rows, _) = Rank([old, fresh]);
        Assert.Equal(1.0, Assert.Single(rows).LatencyP50Ms);
    }

    [Fact]
    public void Should_SaySo_When_TwoNetworksShareAModelName()
    {
        // spikernel export RUN --out model.onnx, twice, into two folders, each evaluated: one name, so one model, whose
        // newest rows count — and rank says which networks share it (they went into the ranking unsaid)
        using var dir = new TempDir();
        EvaluationRow InFolder(string folder, double accuracy, string time) =>
            M("model", "cpu", accuracy, 1.0, 100).Row with { ModelPath = $"{folder}/model.onnx", CandidateId = "id-" + folder, TimestampUtc = time };
        CsvFile.WriteAll(dir.File("a.csv"), [InFolder("a", 0.9, "2026-12-01T00:00:00.000Z")]);
        CsvFile.WriteAll(dir.File("b.csv"), [InFolder("b", 0.8, "2026-12-02T00:00:00.000Z"), M("other", "cpu", 0.5, 1.0, 100).Row]);
        var notes = new TrainerTests.NoteLog();
        RankStageResult result = new RankStage().Run(new RankStageOptions([dir.File("a.csv"), dir.File("b.csv")], dir.File("ranking.csv"), [], Objective.Defaults),
            notes, default);
        Assert.Equal(["id-b", "id-other"], result.Rows.Select(r => r.CandidateId).Order(StringComparer.Ordinal));
        Assert.Equal("'model' names 2 networks in the inputs (id-a, id-b): only the newest row of each measurement counts; if they are two files, give them distinct names to rank both",
            Assert.Single(notes.Lines, n => n.StartsWith('\'')));
    }

    [Fact]
    public void Should_TreatANaNAsMissing_When_AnObjectiveIsNotANumber()
    {
        // NaN is neither better nor worse than anything: as a value it would share the first front with every point
        var (rows, recs) = Rank([M("nan", "cpu", double.NaN, 0.5, 100), M("good", "cpu", 0.9, 1.0, 100), M("fast", "cpu", 0.5, 0.6, 100)]);
        RankingRow nan = rows.Single(r => r.Model == "nan");
        Assert.Equal((RankStatus.Infeasible, "no accuracy_top1 to rank on"), (nan.Status, nan.Reason));
        Assert.Equal("good", recs.Single().Row!.Model);
    }

    [Fact]
    public void Should_MakeTheMeasurementUnmeasured_When_ItsLatestRowFailed()
    {
        static Measurement At(Measurement m, string time) => m with { Row = m.Row with { TimestampUtc = time } };
        var (rows, recs) = Rank([
            M("a", "cpu", 0.9, 1.0, 100), At(M("a", "cpu", 0, 0, 100, status: EvaluationStatus.Failed, reason: "out of memory"), "2026-12-02T00:00:00.000Z"),
            M("b", "cpu", 0.8, 2.0, 100)]);
        RankingRow a = rows.Single(r => r.Model == "a");
        Assert.Equal((RankStatus.Unmeasured, "failed: out of memory"), (a.Status, a.Reason)); // the stale ok row does not stand
        // a skipped row from another machine after the failure: still unmeasured for the failure's reason
        var (later, _) = Rank([M("a", "cpu", 0.9, 1.0, 100), At(M("a", "cpu", 0, 0, 100, status: EvaluationStatus.Failed, reason: "out of memory"), "2026-12-02T00:00:00.000Z"),
            At(M("a", "cpu", 0, 0, 100, status: EvaluationStatus.Skipped, reason: "no such provider"), "2026-12-03T00:00:00.000Z"), M("b", "cpu", 0.8, 2.0, 100)]);
        Assert.Equal("failed: out of memory", later.Single(r => r.Model == "a").Reason);
        Assert.Equal("b", recs.Single().Row!.Model);

        // an ok row after the failure, or a skipped row after the ok one (another machine), leaves it measured
        var (again, _) = Rank([At(M("a", "cpu", 0.9, 1.0, 100), "2026-12-03T00:00:00.000Z"), At(M("a", "cpu", 0, 0, 100, status: EvaluationStatus.Failed, reason: "x"), "2026-12-02T00:00:00.000Z")]);
        Assert.Equal(RankStatus.Feasible, Assert.Single(again).Status);
        var (skipped, _) = Rank([M("a", "cpu", 0.9, 1.0, 100), At(M("a", "cpu", 0, 0, 100, status: EvaluationStatus.Skipped, reason: "x"), "2026-12-02T00:00:00.000Z")]);
        Assert.Equal(RankStatus.Feasible, Assert.Single(skipped).Status);
    }

    [Fact]
    public void Should_ListAFailedPrecisionOrBatch_When_TheModelIsMeasuredOtherwiseOnTheProfile()
    {
        Measurement int8 = M("a", "cpu", 0, 0, 100, status: EvaluationStatus.Failed, reason: "QLinearConv not implemented");
        var (rows, _) = Rank([M("a", "cpu", 0.9, 1.0, 100), int8 with { Row = int8.Row with { Precision = "int8" } },
            M("a", "cpu", 0, 0, 100, batch: 64, status: EvaluationStatus.Failed, reason: "out of memory")]);
        Assert.Equal(["fp32 1 feasible", "fp32 64 unmeasured", "int8 1 unmeasured"],
            rows.Select(r => $"{r.Precision} {r.BatchSize} {CsvFormat.Word(r.Status)}").Order(StringComparer.Ordinal));
        Assert.Equal("failed: QLinearConv not implemented", rows.Single(r => r.Precision == "int8").Reason);
    }

    [Fact]
    public void Should_GiveTheReasonMostModelsGive_When_NothingWasMeasuredOnAProfile()
    {
        Measurement Skipped(string model) => M(model, "cuda", 0, 0, 100, status: EvaluationStatus.Skipped, reason: "libcublasLt.so.13: cannot open");
        // model 0c (listed first) has no row on cuda at all (say, a prediction from another file)
        var (_, recs) = Rank([M("a", "cpu", 0.9, 1.0, 100), M("b", "cpu", 0.8, 1.0, 100), M("0c", "cpu", 0.7, 1.0, 100), Skipped("a"), Skipped("b")]);
        Assert.Equal("nothing measured on cuda: skipped: libcublasLt.so.13: cannot open", recs.Single(r => r.Profile == "cuda").Why);
    }

    [Theory]
    [InlineData("latency<=2", "'latency' is not a numeric column of the results")]
    [InlineData("accuracy_top1 ~ 0.9", "is not COLUMN<=VALUE[@PROFILE[/BATCH]]")]
    [InlineData("latency_p50_ms<=2@cpu/99999999999", "the batch size after '/' must be a whole number from 1 to 2,147,483,647 (got 99999999999)")]
    [InlineData("latency_p50_ms<=2@cpu/0", "the batch size after '/' must be a whole number")]
    [InlineData("latency_p50_ms<=2@cpu/٣", "is not COLUMN<=VALUE[@PROFILE[/BATCH]]")]
    [InlineData("parameters<=1M@tpu", "profile 'tpu' is not in the results (profiles there: cpu)")]
    [InlineData("latency_p50_ms<0.5@cpu/64", "no row at batch 64 on cpu in the results (batch sizes there: 1)")]
    [InlineData("latency_p50_ms<=5m", "K and M suffixes are for counts (parameters, ann_macs, file_bytes, …); write latency_p50_ms as a plain number in its unit")]
    public void Should_RefuseWithOneSentence_When_AConstraintIsInvalid(string constraint, string expected)
    {
        var ex = Assert.Throws<SettingsException>(() => Rank([M("a", "cpu", 0.8, 1.0, 100)], constraint));
        Assert.Contains(expected, ex.Message);
    }

    [Fact]
    public void Should_ParseSuffixesAndScopes_When_AConstraintIsWritten()
    {
        Constraint c = Constraint.Parse("parameters<=1.5M@edge/64");
        Assert.Equal(("parameters", "<=", 1_500_000d, "edge", (int?)64), (c.Column, c.Operator, c.Bound, c.Profile, c.Batch));
        Assert.True(c.AppliesTo("edge", 64));
        Assert.False(c.AppliesTo("edge", 1));
        Assert.False(c.Holds(null));
    }

    [Fact]
    public void Should_WriteRankingAndFailWithOneLine_When_RunFromTheCli()
    {
        using var dir = new TempDir();
        CsvFile.WriteAll(dir.File("gpu.csv"), new[] { M("a", "cuda", 0.8, 0.5, 100).Row, M("b", "cuda", 0.9, 0.7, 200).Row });
        CsvFile.WriteAll(dir.File("here.csv"), new[] { M("a", "cpu", 0.8, 1.0, 100).Row, M("b", "cpu", 0.9, 2.0, 200).Row });
        var r = CliTests.Run("rank", dir.File("gpu.csv"), dir.File("here.csv"), "--out", dir.File("ranking.csv"), "--constraint", "latency_p50_ms<=1.5@cpu");
        Assert.True(r.Code == 0, r.Err + r.Out);
        List<RankingRow> rows = CsvFile.ReadAll<RankingRow>(dir.File("ranking.csv"));
        Assert.Equal(4, rows.Count);
        Assert.Equal(["a", "b"], rows.Where(x => x.Recommended).Select(x => x.Model).Order());
        Assert.StartsWith("candidate_id,model,precision,profile,batch_size,status,reason,front,position,recommended", File.ReadLines(dir.File("ranking.csv")).First());
        Assert.Contains("infeasible", File.ReadAllText(dir.File("ranking.csv")));

        // names from a hand-merged file are printed as text, not read as console markup (was a crash, exit 70)
        CsvFile.WriteAll(dir.File("lab.csv"), new[] { M("a[x]", "edge@[lab]", 0.8, 1.0, 100).Row, M("b", "edge@[lab]", 0.9, 2.0, 200).Row });
        r = CliTests.Run("rank", dir.File("lab.csv"), "--out", dir.File("lab-ranking.csv"));
        Assert.True(r.Code == 0, r.Err + r.Out);
        Assert.Contains("edge@[lab]", r.Out);

        File.WriteAllText(dir.File("bad.csv"), "model,profile\nx,cpu\n");
        CliTests.AssertOneLineError(CliTests.Run("rank", dir.File("bad.csv"), "--out", dir.File("r2.csv")), 1, "missing columns precision, batch_size, status");
        CliTests.AssertOneLineError(CliTests.Run("rank", dir.File("gpu.csv"), "--out", dir.File("r3.csv"), "--objective", "speed:max"), 2, "'speed' is not a numeric column");
        Assert.False(File.Exists(dir.File("r3.csv")));
    }
}
