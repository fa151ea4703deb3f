using SpiKernel.Models.Network;
using TorchSharp;
using static TorchSharp.torch;

namespace SpiKernel.Models.Tests;

/// <summary>
/// The spike convolution (<see cref="SpikeConvKernel"/>, <see cref="SpikeConvStep"/>) against libtorch's conv2d: the same
/// output, input gradient and weight gradient within float rounding, for 3×3 (the unrolled loops) and 5×5 and 7×7 (the
/// general ones), channel counts that are and are not multiples of a vector, images whose pixel count is not a multiple
/// of 16 (transpose tails), images taller than one band, smaller than the kernel, one pixel high, firing rates from none
/// to all, 7 images split 3 and 4 over two threads. The kernel runs here whether or not the machine has AVX-512 (slowly
/// without).
/// </summary>
public class SpikeConvKernelTests
{
    public static TheoryData<int, int, int, int, int, int, double> Shapes => new()
    {
        // n, cin, cout, h, w, k, firing rate
        { 64, 32, 32, 28, 28, 3, 0.15 }, // the small Fashion-MNIST network's cell 1: split over the OpenMP team
        { 7, 32, 16, 28, 28, 3, 0.1 },   // 7 images: parts of 3 and 4 (with two threads)
        { 2, 4, 16, 40, 40, 5, 0.2 },    // 5×5 over 40 rows: several bands
        { 3, 6, 16, 2, 3, 5, 0.5 },      // an image smaller than the kernel
        { 2, 5, 16, 1, 20, 3, 0.4 },     // one pixel high
        { 5, 32, 64, 14, 14, 3, 0.2 },   // 196 pixels: a transpose tail; two vectors of output channels
        { 3, 5, 16, 7, 9, 3, 0.5 },      // 63 pixels, 5 input channels
        { 2, 3, 16, 11, 6, 5, 0.3 },     // 5×5, a band of a few rows
        { 2, 4, 32, 9, 9, 7, 0.25 },     // 7×7 on a 9×9 image: most taps fall outside
        { 3, 8, 16, 6, 6, 3, 0.0 },      // no spike at all
        { 2, 8, 16, 6, 6, 3, 1.0 },      // every position fires
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Computes_libtorchs_convolution_and_gradients(int n, int cin, int cout, int h, int w, int k, double rate)
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(5);
        Tensor spikes = rand([n, cin, h, w], generator: generator).lt(rate).to_type(ScalarType.Float32);
        Tensor weight = randn([cout, cin, k, k], generator: generator).mul_(0.2);
        Tensor gradOutput = randn([n, cout, h, w], generator: generator);
        Assert.True(SpikeConvKernel.Handles(spikes, weight));

        var results = new Tensor[2][];
        for (int kernel = 0; kernel < 2; kernel++)
        {
            Tensor s = spikes.clone().requires_grad_(true);
            Tensor wt = weight.clone().requires_grad_(true);
            Tensor y = kernel == 1 ? SpikeConvStep.Run(s, wt) : nn.functional.conv2d(s, wt, padding: [k / 2, k / 2]);
            y.backward([gradOutput]);
            results[kernel] = [y.detach(), s.grad!, wt.grad!];
        }
        string[] what = ["output", "input gradient", "weight gradient"];
        for (int i = 0; i < what.Length; i++) Close(results[0][i], results[1][i], what[i]);
    }

    [Fact]
    public void Forward_does_not_depend_on_the_thread_count_and_reads_any_nonzero_as_a_spike()
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(9);
        Tensor spikes = rand([16, 16, 28, 28], generator: generator).lt(0.2).to_type(ScalarType.Float32);
        Tensor weight = randn([32, 16, 3, 3], generator: generator);
        int threads = get_num_threads();
        Tensor one, two;
        try
        {
            set_num_threads(1);
            one = SpikeConvKernel.Forward(spikes, weight);
            set_num_threads(2);
            two = SpikeConvKernel.Forward(spikes, weight);
        }
        finally
        {
            set_num_threads(threads);
        }
        Assert.True(one.eq(two).all().ToBoolean(), "per image, the same sums in the same order");
        // the kernel's contract: positions, not values — a 0.5 counts as a spike (callers pass exact spikes)
        Tensor halves = spikes * 0.5;
        Assert.True(SpikeConvKernel.Forward(halves, weight).eq(one).all().ToBoolean());
    }

    [Fact]
    public void Gives_only_the_gradients_asked_for()
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(4);
        Tensor spikes = rand([4, 8, 9, 9], generator: generator).lt(0.3).to_type(ScalarType.Float32);
        Tensor weight = randn([16, 8, 3, 3], generator: generator).requires_grad_(true);
        SpikeConvStep.Run(spikes, weight).sum().backward(); // spikes without a gradient: no input gradient computed
        Assert.Null(spikes.grad);
        Tensor expected = weight.grad!.clone();
        weight.grad = null;
        nn.functional.conv2d(spikes, weight, padding: [1, 1]).sum().backward();
        Close(weight.grad!, expected, "weight gradient alone");

        Tensor frozen = weight.detach();
        Tensor input = spikes.clone().requires_grad_(true);
        SpikeConvStep.Run(input, frozen).sum().backward(); // a frozen weight: only the input gradient
        Assert.NotNull(input.grad);
        Assert.Null(frozen.grad);
    }

    [Fact]
    public void Handles_only_its_shapes()
    {
        using var scope = NewDisposeScope();
        Tensor s = zeros(2, 8, 6, 6);
        Assert.True(SpikeConvKernel.Handles(s, zeros(16, 8, 3, 3)));
        Assert.False(SpikeConvKernel.Handles(s, zeros(16, 8, 1, 1)));   // 1×1: dense is cheap, libtorch's
        Assert.False(SpikeConvKernel.Handles(s, zeros(16, 8, 4, 4)));   // even kernel
        Assert.False(SpikeConvKernel.Handles(s, zeros(24, 8, 3, 3)));   // 24 output channels: not whole vectors
        Assert.False(SpikeConvKernel.Handles(s, zeros(16, 4, 3, 3)));   // channel mismatch
        Assert.False(SpikeConvKernel.Handles(s.transpose(2, 3), zeros(16, 8, 3, 3))); // not contiguous
        Assert.False(SpikeConvKernel.Handles(s.to_type(ScalarType.Float64), zeros(16, 8, 3, 3).to_type(ScalarType.Float64)));
        Assert.False(SpikeConvKernel.Handles(zeros(0, 8, 6, 6), zeros(16, 8, 3, 3)));   // no image
        Assert.False(SpikeConvKernel.Handles(empty(1, 1, 1 << 12, 1 << 13), zeros(16, 1, 3, 3))); // a 128 MiB input, but a 2 GiB output: past what a span addresses
    }

    [Theory] // a convolution the kernel does not compute stays libtorch's, rather than trained without its bias, dilation or stride
    [InlineData("bias")]
    [InlineData("dilation")]
    [InlineData("stride")]
    [InlineData("groups")]
    [InlineData("padding")] // the one setting only the convolution's own check sees: the kernel pads k/2 whatever it was given
    public void Should_LeaveAConvolutionToLibtorch_When_TheKernelDoesNotComputeItsSettings(string setting)
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(5);
        using var conv = setting switch
        {
            "bias" => nn.Conv2d(16, 16, 3, padding: 1, bias: true),
            "dilation" => nn.Conv2d(16, 16, 3, padding: 1, dilation: 2, bias: false),
            "stride" => nn.Conv2d(16, 16, 3, stride: 2, padding: 1, bias: false),
            "padding" => nn.Conv2d(16, 16, 3, padding: 0L, bias: false),
            _ => nn.Conv2d(16, 16, 3, padding: 1, groups: 2, bias: false),
        };
        if (conv.bias is { } b) using (no_grad()) b.uniform_(0.5, 1.0);
        conv.train();
        Tensor spikes = rand([2, 16, 8, 8], generator: generator).lt_(0.3).to_type(ScalarType.Float32).requires_grad_(true);
        Tensor expected = conv.forward(spikes);
        Tensor actual = SpikeConvStep.Convolve(conv, spikes, SpikeConvUse.Always);
        Assert.Equal(expected.shape, actual.shape);
        TensorAssert.SameBits(expected, actual, setting);
    }

    [Fact]
    public void A_spiking_edge_trains_alike_with_and_without_the_kernel()
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(3);
        Tensor input = randn([16, 16, 12, 12], generator: generator).mul_(2);
        Tensor projection = randn([16, 16, 12, 12], generator: generator); // not Σy²: through BatchNorm its gradient cancels to rounding noise
        var grads = new Tensor[2][];
        for (int kernel = 0; kernel < 2; kernel++)
        {
            manual_seed(1);
            using var edge = new SpikingConv("o01", 16, 3, Lif.LifOptions.Default) { ConvolutionKernel = kernel == 1 ? SpikeConvUse.Always : SpikeConvUse.Off };
            edge.train();
            Tensor x = input.detach().requires_grad_(true);
            Tensor y = edge.forward(x);
            (y * projection).sum().backward();
            Tensor convWeight = edge.parameters().First(p => p.dim() == 4);
            grads[kernel] = [y.detach(), x.grad!, convWeight.grad!];
        }
        string[] what = ["output", "input gradient", "weight gradient"];
        for (int i = 0; i < what.Length; i++) Close(grads[0][i], grads[1][i], what[i]);
    }

    // float rounding of sums over up to Cin·k²·N·H·W values, relative to the largest value
    private static void Close(Tensor expected, Tensor actual, string what)
    {
        Assert.Equal(expected.shape, actual.shape);
        double scale = Math.Max(1e-6, expected.abs().max().ToDouble());
        double error = (expected - actual).abs().max().ToDouble();
        Assert.True(error <= 2e-6 * scale, $"{what}: max |Δ| {error:E2} against max |value| {scale:E2}");
    }
}
