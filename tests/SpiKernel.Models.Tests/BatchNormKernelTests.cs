using SpiKernel.Models.Network;
using TorchSharp;
using static TorchSharp.torch;

namespace SpiKernel.Models.Tests;

/// <summary>
/// The BatchNorm kernel (<see cref="BatchNormStep"/>) against libtorch's batch_norm in training mode: the same outputs,
/// input, γ and β gradients and running statistics within float rounding, for rows of every length class (vector
/// tails, rows shorter than a vector, one value per row), channel counts that split unevenly over threads, a mean far
/// from zero, and a view at a storage offset.
/// </summary>
public class BatchNormKernelTests
{
    public static TheoryData<long[], float> Shapes => new()
    {
        { [64, 32, 28, 28], 0.3f },   // large: split over the OpenMP team
        { [32, 7, 28, 28], 0.3f },    // 7 channels: split 3 and 4 over two threads
        { [16, 7, 7, 7], -1f },       // 49 values per row: a vector tail
        { [9, 5, 3, 1], 2f },         // 3 values per row: scalar only
        { [40, 6], 0.5f },            // [N, C]: one value per row
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Kernel_trains_like_libtorchs_batch_norm(long[] shape, float mean)
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(7);
        Tensor input = randn(shape, generator: generator).mul_(2).add_(mean);
        Tensor gradOut = randn(shape, generator: generator);
        long c = shape[1];
        Tensor weight0 = rand([c], generator: generator).add_(0.5);
        Tensor bias0 = randn([c], generator: generator);

        var results = new (Tensor Y, Tensor Dx, Tensor Dw, Tensor Db, Tensor Mean, Tensor Var)[2];
        for (int k = 0; k < 2; k++)
        {
            Tensor x = input.detach().requires_grad_(true), w = weight0.detach().requires_grad_(true), b = bias0.detach().requires_grad_(true);
            Tensor runningMean = full([c], 0.2f), runningVar = full([c], 1.5f);
            Assert.True(k == 0 || BatchNormKernel.Supports(x));
            Tensor y = k == 0
                ? nn.functional.batch_norm(x, runningMean, runningVar, w, b, training: true, momentum: 0.1, eps: 1e-5)
                : BatchNormStep.Run(x, w, b, runningMean, runningVar, 0.1, 1e-5);
            y.backward([gradOut]);
            results[k] = (y.detach(), x.grad!, w.grad!, b.grad!, runningMean, runningVar);
        }
        var (want, got) = (results[0], results[1]);
        Close(want.Y, got.Y, "output");
        Close(want.Dx, got.Dx, "input gradient");
        Close(want.Dw, got.Dw, "γ gradient");
        Close(want.Db, got.Db, "β gradient");
        Close(want.Mean, got.Mean, "running mean");
        Close(want.Var, got.Var, "running variance");
    }

    [Fact]
    public void Variance_keeps_its_digits_when_the_mean_is_far_from_zero()
    {
        using var scope = NewDisposeScope();
        Tensor x = randn([8, 3, 16, 16], generator: new Generator(5)).mul_(0.5).add_(3e5); // spread 0.5 at 3·10⁵
        Tensor runningMean = zeros(3), runningVar = zeros(3);
        using (no_grad()) BatchNormStep.Run(x, ones(3), zeros(3), runningMean, runningVar, momentum: 1.0, eps: 1e-5); // running = batch
        Tensor xd = x.to_type(ScalarType.Float64);
        Tensor wantVar = xd.var([0L, 2L, 3L]).to_type(ScalarType.Float32), wantMean = xd.mean([0L, 2L, 3L]).to_type(ScalarType.Float32);
        Assert.True(runningVar.allclose(wantVar, rtol: 1e-5, atol: 0), $"variance {runningVar.max().ToDouble()} against {wantVar.max().ToDouble()}");
        Assert.True(runningMean.allclose(wantMean, rtol: 1e-7, atol: 0), "mean");
    }

    [Fact]
    public void Kernel_reads_a_view_at_its_storage_offset_and_leaves_other_tensors_to_libtorch()
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(3);
        Tensor whole = randn([3 * 8, 4, 5, 5], generator: generator);
        Tensor view = whole.narrow(0, 8, 8); // the middle timestep of three, as the multi-step path hands it over
        Tensor w = ones(4), b = zeros(4);
        using (no_grad())
        {
            Tensor expected = nn.functional.batch_norm(view.clone(), zeros(4), ones(4), w, b, training: true);
            Close(expected, BatchNormStep.Run(view, w, b, zeros(4), ones(4), 0.1, 1e-5), "offset view");
        }
        Assert.False(BatchNormKernel.Supports(whole.transpose(0, 1))); // not contiguous
        Assert.False(BatchNormKernel.Supports(whole.to_type(ScalarType.Float64)));
        Assert.False(BatchNormKernel.Supports(ones(1, 4))); // one value per channel: no batch statistics
    }

    [Fact]
    public void TimestepBatchNorm_trains_alike_with_and_without_the_kernel()
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(11);
        Tensor x = randn([12, 6, 9, 9], generator: generator).mul_(3).sub_(1);
        var outputs = new Tensor[2];
        var running = new Tensor[2];
        for (int k = 0; k < 2; k++)
        {
            using var bn = new TimestepBatchNorm("bn", 6, steps: 2) { UseKernel = k == 1 };
            bn.train();
            bn.Timestep = 1;
            outputs[k] = bn.forward(x).detach();
            running[k] = bn.RunningVar(1).clone();
        }
        Close(outputs[0], outputs[1], "output");
        Close(running[0], running[1], "timestep 1's running variance");
    }

    [Fact]
    public void All_timesteps_at_once_give_libtorchs_gradients_through_views_saved_for_backward()
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(13);
        Tensor input = randn([3 * 16, 5, 12, 12], generator: generator).mul_(1.5).add_(0.4); // T = 3 timesteps of 16
        Tensor weights = randn([3 * 16, 5, 12, 12], generator: generator);
        var grads = new Tensor[2][];
        for (int k = 0; k < 2; k++)
        {
            using var bn = new TimestepBatchNorm("bn", 5, steps: 3) { UseKernel = k == 1 };
            bn.train();
            Tensor x = input.detach().requires_grad_(true);
            Tensor y = bn.ForwardMultiStep(x, 3); // each timestep a chunk of x: a view at its own storage offset
            (y * weights).sum().backward();
            grads[k] = [x.grad!, bn.Weight.grad!, bn.Bias.grad!, bn.RunningVar(2).clone()];
        }
        string[] what = ["input gradient", "γ gradient", "β gradient", "timestep 2's running variance"];
        for (int i = 0; i < what.Length; i++) Close(grads[0][i], grads[1][i], what[i]);
    }

    // float rounding of sums over up to 50,000 values, relative to the largest value
    private static void Close(Tensor expected, Tensor actual, string what)
    {
        double scale = Math.Max(1e-6, expected.abs().max().ToDouble());
        double error = (expected - actual).abs().max().ToDouble();
        Assert.True(error <= 2e-6 * scale, $"{what}: max |Δ| {error:E2} against max |value| {scale:E2}");
    }
}
