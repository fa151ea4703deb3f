using SpiKernel.Core;
using SpiKernel.Core.Csv;
using SpiKernel.Evaluators.Results;
using SpiKernel.Pipeline.Ranking;
using static SpiKernel.Pipeline.Tests.RankingTests;

namespace SpiKernel.Pipeline.Tests;

/// <summary>What counts as evidence in the ranking: which rows stand (a later failure to load voids them) and how two accuracies are compared.</summary>
public class RankingEvidenceTests
{
    /// <summary>Answers of 2,000 images: both right on <paramref name="both"/>, then only a on <paramref name="onlyA"/>, only b on <paramref name="onlyB"/>.</summary>
    internal static (string A, string B) Answers(int both, int onlyA, int onlyB)
    {
        bool[] a = new bool[2000], b = new bool[2000];
        for (int i = 0; i < both; i++) a[i] = b[i] = true;
        for (int i = both; i < both + onlyA; i++) a[i] = true;
        for (int i = both + onlyA; i < both + onlyA + onlyB; i++) b[i] = true;
        return (AnswerBits.Pack(a), AnswerBits.Pack(b));
    }

    [Fact]
    public void Should_CompareTheAccuraciesImageByImage_When_BothModelsAnsweredTheSameImages()
    {
        // 84.1 % against 83.8 % on 2,000 images: from the counts no clear difference (p = 0.80); image by image it depends
        // on where they disagree — a right on 6 images b got wrong and never the other way is clear (McNemar p = 0.031)
        Measurement With(Measurement m, string bits, string data = "fashion-mnist test") => m with { Row = m.Row with { CorrectBits = bits, TestData = data } };
        Measurement a = M("a", "cpu", 0.841, 2.0, 100, samples: 2000), b = M("b", "cpu", 0.838, 1.0, 100, samples: 2000);
        (string clearA, string clearB) = Answers(1676, 6, 0);
        var (_, recs) = Rank([With(a, clearA), With(b, clearB)]);
        Assert.EndsWith("decided by accuracy_top1:max (0.841 vs 0.838 of b) among the 2 models on the Pareto front", recs.Single().Why);
        // 16 against 10 disagreements: not clear, and said with the paired test's p (exact binomial, worked in Python: 0.327)
        (string looseA, string looseB) = Answers(1666, 16, 10);
        (_, recs) = Rank([With(a, looseA), With(b, looseB)]);
        Assert.Contains("not a clear difference on 2,000 test images (p = 0.33, McNemar's exact test on the same images)", recs.Single().Why);
        // answers on other images (another test set) are not paired: the counts decide, as before
        (_, recs) = Rank([With(a, clearA), With(b, clearB, "other test set")]);
        Assert.Contains("(p = 0.80, two-proportion z-test)", recs.Single().Why);
    }

    [Fact]
    public void Should_VoidTheEarlierMeasurements_When_TheFileLaterFailsToLoad()
    {
        // a.onnx was measured on two profiles and batch sizes, then replaced by a file that does not load (the evaluator's
        // row: no profile, no batch size); a.int8.onnx, which still loads, keeps its measurement, and so does the copy
        // measured on a bundle's device
        static Measurement Measured(string profile, double p50, int batch = 1, string file = "models/a.onnx", string precision = "fp32")
        {
            Measurement m = M("a", profile, 0.9, p50, 100, batch);
            return m with { Row = m.Row with { ModelPath = file, Precision = precision } };
        }
        static Measurement LoadFailure(string at, string profile = "", string precision = "fp32", string file = "/elsewhere/models/a.onnx")
        {
            Measurement f = M("a", profile, 0, 0, 100, status: EvaluationStatus.Failed, reason: "a.onnx: not an ONNX model");
            return f with { Row = f.Row with { BatchSize = null, Precision = precision, ModelPath = file, CandidateId = "", TimestampUtc = at } };
        }
        Measurement[] measured = [Measured("cpu", 1.0), Measured("edge", 1.2), Measured("cpu", 30, batch: 64), Measured("cpu", 0.5, file: "models/a.int8.onnx", precision: "int8"),
            Measured("cpu@jetson", 4.0), M("b", "cpu", 0.8, 2.0, 100), M("b", "edge", 0.8, 2.0, 100)];
        string[] Statuses(IEnumerable<RankingRow> rows) =>
            [.. rows.Where(r => r.Model == "a").Select(r => $"{r.Profile} {r.Precision} {r.BatchSize} {CsvFormat.Word(r.Status)}").Order(StringComparer.Ordinal)];

        var (rows, recs) = Rank([.. measured, LoadFailure("2026-12-02T00:00:00.000Z")]);
        Assert.Equal(["cpu fp32 1 unmeasured", "cpu fp32 64 unmeasured", "cpu int8 1 feasible", "cpu@jetson fp32 1 feasible", "edge fp32 1 unmeasured"], Statuses(rows));
        Assert.All(rows.Where(r => r.Status == RankStatus.Unmeasured && r.Model == "a"), r =>
        {
            Assert.Equal("failed: a.onnx: not an ONNX model", r.Reason);
            Assert.Equal("id-a", r.CandidateId); // the measurement's candidate, not the failure's empty one
        });
        Assert.Equal("b", recs.Single(r => r.Profile == "edge").Row!.Model);

        // a load failure before the measurements says nothing about them; one from earlier versions (no precision) goes by
        // the file's name as well; a bundle's (profile @jetson) voids that device's rows only
        Assert.DoesNotContain(Rank([.. measured, LoadFailure("2026-11-30T00:00:00.000Z")]).Rows, r => r.Model == "a" && r.Status == RankStatus.Unmeasured);
        Assert.Equal(Statuses(rows), Statuses(Rank([.. measured, LoadFailure("2026-12-02T00:00:00.000Z", precision: "")]).Rows));
        Assert.Equal(["cpu fp32 1 feasible", "cpu fp32 64 feasible", "cpu int8 1 feasible", "cpu@jetson fp32 1 unmeasured", "edge fp32 1 feasible"],
            Statuses(Rank([.. measured, LoadFailure("2026-12-02T00:00:00.000Z", profile: "@jetson", file: "/bundle/models/a.onnx")]).Rows));
    }

    [Fact]
    public void Should_NameAMachine_When_NoFileLoadedThere()
    {
        // a bundle's rows from a board where every file failed to load give it no profile: rank says so, not nothing
        static EvaluationRow LoadFailure(string device, string model) => M(model, device, 0, 0, 100, status: EvaluationStatus.Failed, reason: $"{model}.onnx: truncated").Row with { BatchSize = null };
        EvaluationRow[] rows = [M("a", "cpu", 0.9, 1, 100).Row, M("a", "cpu@rpi5", 0.9, 3, 100).Row, LoadFailure("@rpi5", "b"), LoadFailure("@jetson", "a"), LoadFailure("@jetson", "b")];
        Assert.Equal([("@jetson", 2, "a.onnx: truncated")], CurrentRows.MachinesWithoutMeasurements(rows));
        Assert.Empty(CurrentRows.MachinesWithoutMeasurements(rows[..3])); // rpi5 measured a, so its failure to load b is ranked as b's
    }
}
