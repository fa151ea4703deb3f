using SpiKernel.Core.Csv;
using System.Globalization;
using SpiKernel.Evaluators.Results;

namespace SpiKernel.Evaluators.Tests;

public class CsvTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>The documented column order (README, "Results CSV"); changing it breaks users' scripts.</summary>
    private const string Header =
        "timestamp_utc,model,candidate_id,model_path,model_sha256,profile,provider,precision,batch_size,status,reason,file_bytes,parameters,weight_bytes," +
        "session_create_ms,first_run_ms,warmup_runs,measured_runs,latency_p50_ms,latency_p90_ms,latency_p95_ms,latency_p99_ms,latency_min_ms," +
        "latency_max_ms,latency_mean_ms,latency_std_ms,throughput_sps,rss_before_mib,peak_rss_added_mib,accuracy_top1,accuracy_top5," +
        "correct_top1,test_samples,test_data,reference_accuracy,timesteps,spikes_per_sample,synops_per_sample,first_layer_macs,ann_macs," +
        "energy_snn_uj,energy_ann_uj,intra_op_threads,inter_op_threads,execution_mode,graph_optimization,memory_arena,memory_pattern,device_id," +
        "outputs_on_device,provider_options,isolated,ort_version,device_name,cpu_model,cores,os,tool_version," +
        "batch_source,input_source,input_shapes,seed,output_check,outputs_checked,output_mismatches,output_max_abs_error,output_max_rel_error," +
        "output_rtol,output_atol,note,correct_bits";

    private static EvaluationRow Row(EvaluationStatus status, double? p50) => new()
    {
        TimestampUtc = "2026-11-30T01:02:03.456Z",
        Model = "m, with a comma",
        Profile = "cpu",
        Provider = "CPUExecutionProvider",
        Precision = "fp32",
        BatchSize = 64,
        Status = status,
        Reason = status == EvaluationStatus.Ok ? "" : "line one \"quoted\"",
        LatencyP50Ms = p50,
        AccuracyTop1 = 0.869,
        ThroughputSps = 1234.5,
        Cores = 2,
        BatchSource = BatchSource.Model,
        InputSource = InputSource.TestData,
        InputShapes = "0=2x3; 1=3",
        OutputCheck = OutputCheck.Failed,
        OutputMismatches = 3,
        OutputMaxAbsError = 1.5e-7,
        OutputRtol = 1e-3,
        Note = "the model fixes batch 2",
    };

    [Fact]
    public void Should_WriteTheDocumentedColumnOrder_When_ANewFileIsStarted()
    {
        Assert.Equal(Header, CsvFormat.Header<EvaluationRow>());
        string path = _dir.File("r.csv");
        using (var log = new CsvLog<EvaluationRow>(path, append: true)) log.Append(Row(EvaluationStatus.Ok, 1.25));
        string[] lines = File.ReadAllLines(path);
        Assert.Equal(Header, lines[0]);
        Assert.Equal(2, lines.Length);
    }

    [Fact]
    public void Should_WriteTheHeaderAgain_When_AKillCutItBeforeItsLineEnd()
    {
        // the header whole but its line end not written: dropping that "torn row" took the header, and no new one came
        string path = _dir.File("r.csv");
        File.WriteAllText(path, Header);
        using (var log = new CsvLog<EvaluationRow>(path, append: true)) log.Append(Row(EvaluationStatus.Ok, 1.25));
        string[] lines = File.ReadAllLines(path);
        Assert.Equal([Header], lines.Take(1));
        Assert.Equal(Row(EvaluationStatus.Ok, 1.25), Assert.Single(CsvFile.ReadAll<EvaluationRow>(path)));
    }

    [Fact]
    public void Should_ReadBackTypedValues_When_RowsAreAppendedAcrossRuns()
    {
        string path = _dir.File("r.csv");
        CultureInfo saved = CultureInfo.CurrentCulture;
        try
        {
            CultureInfo.CurrentCulture = new CultureInfo("de-DE"); // a decimal comma must not leak into the file
            using (var log = new CsvLog<EvaluationRow>(path, append: true)) log.Append(Row(EvaluationStatus.Ok, 1.25));
            using (var log = new CsvLog<EvaluationRow>(path, append: true)) log.Append(Row(EvaluationStatus.Skipped, null));
        }
        finally
        {
            CultureInfo.CurrentCulture = saved;
        }
        List<EvaluationRow> back = CsvFile.ReadAll<EvaluationRow>(path);
        Assert.Equal(2, back.Count);
        Assert.Equal(1.25, back[0].LatencyP50Ms);
        Assert.Null(back[1].LatencyP50Ms);
        Assert.Equal("m, with a comma", back[1].Model);
        Assert.Equal("line one \"quoted\"", back[1].Reason);
        Assert.Equal(64, back[0].BatchSize);
        Assert.Contains(",1234.5,", File.ReadAllText(path));
        Assert.Contains(",model,test_data,0=2x3; 1=3,,failed,,3,1.5E-07,,0.001,,the model fixes batch 2", File.ReadAllText(path)); // enums as lower-case words
        Assert.Equal(Row(EvaluationStatus.Ok, 1.25), back[0]);
    }

    [Fact]
    public void Should_WriteLowerCaseBooleansAndLfLines_And_ReadTheOlderForm()
    {
        string path = _dir.File("b.csv");
        CsvFile.WriteAll(path, [Row(EvaluationStatus.Ok, 1.25) with { MemoryArena = true, OutputsOnDevice = false }]);
        string text = File.ReadAllText(path);
        Assert.DoesNotContain("\r", text);
        Assert.Contains(",true,", text);
        Assert.DoesNotContain("True", text);

        // a file of earlier versions: CRLF lines and True/False
        string old = _dir.File("old.csv");
        File.WriteAllText(old, text.Replace("\n", "\r\n", StringComparison.Ordinal).Replace(",true,", ",True,", StringComparison.Ordinal).Replace(",false,", ",False,", StringComparison.Ordinal));
        Assert.Equal(CsvFile.ReadAll<EvaluationRow>(path), CsvFile.ReadAll<EvaluationRow>(old));
        Assert.True(CsvFile.ReadAll<EvaluationRow>(old)[0].MemoryArena);
        using (var log = new CsvLog<EvaluationRow>(old, append: true)) log.Append(Row(EvaluationStatus.Skipped, null)); // LF after CRLF
        Assert.Equal([EvaluationStatus.Ok, EvaluationStatus.Skipped], CsvFile.ReadAll<EvaluationRow>(old).Select(r => r.Status));
    }

    [Fact]
    public void Should_RefuseToAppend_When_TheFileHasOtherColumns()
    {
        string path = _dir.File("other.csv");
        File.WriteAllText(path, "a,b\n1,2\n");
        var ex = Assert.Throws<InvalidDataException>(() => new CsvLog<EvaluationRow>(path, append: true));
        Assert.Contains("its columns are not those this command writes", ex.Message);
        Assert.Equal("a,b\n1,2\n", File.ReadAllText(path));
    }
}
