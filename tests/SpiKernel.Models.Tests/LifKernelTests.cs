using SpiKernel.Models.Lif;
using TorchSharp;
using static TorchSharp.torch;

namespace SpiKernel.Models.Tests;

/// <summary>
/// The fused multi-step LIF kernel against the tensor operations it replaces: the same spikes, charged membranes and
/// input gradients to the bit (signs of zero included), for every reset mode, a non-zero v_reset, a τ and α whose
/// constants round, neuron counts that leave a vector tail, one thread and several, and an input with a storage offset.
/// </summary>
public class LifKernelTests
{
    public static TheoryData<string, int, int> Cases => new()
    {
        { "default", 5, 64 * 32 * 7 + 5 },   // several threads, a 5-neuron tail
        { "hard-attached", 4, 9_999 },        // one thread
        { "soft", 3, 70_001 },
        { "soft-attached", 5, 131_077 },
        { "v-reset", 2, 1_003 },
        { "tau-alpha", 5, 66_001 },
        { "default", 1, 33 },
    };

    private static LifOptions Options(string name) => name switch
    {
        "default" => new LifOptions(),
        "hard-attached" => new LifOptions(DetachReset: false, Tau: 1.7, Alpha: 3),
        "soft" => new LifOptions(Reset: ResetMode.Soft),
        "soft-attached" => new LifOptions(Reset: ResetMode.Soft, DetachReset: false, Tau: 1.7, VThreshold: 0.7),
        "v-reset" => new LifOptions(VReset: -0.3, DetachReset: false, Tau: 2.5),
        "tau-alpha" => new LifOptions(Tau: 1.7, Alpha: 3, VThreshold: 0.9),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Should_LeaveNoMembranesInTheStepsScope_When_TheMultiStepLifRunsForwardAndBackward(bool kernel)
    {
        // T membranes per LIF layer were held through the whole backward of a training step
        using Tensor x = randn(4 * 64).mul_(2).requires_grad_(true);
        TensorAssert.LeavesFewHandles(() =>
        {
            using Tensor spikes = MultiStepLif.Run(x, 4, new LifOptions(), kernel);
            using Tensor loss = spikes.sum();
            loss.backward();
        });
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Kernel_gives_the_tensor_forms_spikes_and_gradients_bit_for_bit(string options, int steps, int neurons)
    {
        LifOptions o = Options(options);
        using var scope = NewDisposeScope();
        (Tensor currents, Tensor weights) = Inputs([steps * neurons], (ulong)(17 + steps));
        currents[TensorIndex.Slice(0, 7)] = tensor(new[] { 0.7f, 0.9f, 1f, -0f, 0f, 1.3333334f, 0.5f }); // thresholds and zeros
        Assert.True(LifKernel.Supports(currents, o));

        Tensor[] spikes = new Tensor[2], grads = new Tensor[2];
        for (int k = 0; k < 2; k++)
        {
            Tensor x = currents.detach().requires_grad_(true);
            spikes[k] = MultiStepLif.Run(x, steps, o, kernel: k == 1);
            grads[k] = autograd.grad([(spikes[k] * weights).sum()], [x])[0];
        }
        TensorAssert.SameBits(spikes[0], spikes[1], $"{options}: spikes");
        TensorAssert.SameBits(grads[0], grads[1], $"{options}: input gradient");
        Assert.True(spikes[0].sum().ToDouble() > 0 && grads[0].abs().sum().ToDouble() > 0, "nothing fired or no gradient: the comparison would prove little");

        using (no_grad())
            TensorAssert.SameBits(spikes[0], MultiStepLif.Run(currents, steps, o), $"{options}: spikes without autograd");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Fused_steps_give_the_tensor_forms_spikes_and_its_gradients(string options, int steps, int neurons)
    {
        LifOptions o = Options(options);
        using var scope = NewDisposeScope();
        (Tensor currents, Tensor weights) = Inputs([steps, neurons], (ulong)(29 + steps));
        Tensor[] spikes = new Tensor[2], grads = new Tensor[2], evalSpikes = new Tensor[2];
        for (int k = 0; k < 2; k++)
        {
            using var lif = new LifNode("lif", o) { UseKernel = k == 1 };
            Tensor x = currents.detach().requires_grad_(true);
            spikes[k] = stack(Enumerable.Range(0, steps).Select(t => lif.forward(x[t])).ToArray());
            grads[k] = autograd.grad([(spikes[k] * weights).sum()], [x])[0];
            using var eval = new LifNode("lif", o) { UseKernel = k == 1 };
            using (no_grad())
                evalSpikes[k] = stack(Enumerable.Range(0, steps).Select(t => eval.forward(currents[t])).ToArray());
        }
        TensorAssert.SameBits(spikes[0], spikes[1], $"{options}: spikes");
        TensorAssert.SameBits(evalSpikes[0], evalSpikes[1], $"{options}: spikes without autograd");
        TensorAssert.SameBits(spikes[0], evalSpikes[0], $"{options}: spikes with and without autograd");
        // two terms reach h in the detached modes and a sum of two is the same either way round: to the bit
        if (o.DetachReset) TensorAssert.SameBits(grads[0], grads[1], $"{options}: input gradient");
        else Assert.True(grads[1].allclose(grads[0], rtol: 1e-6, atol: 1e-7), $"{options}: max |Δgrad| {(grads[1] - grads[0]).abs().max().ToSingle()}");
        Assert.True(grads[0].abs().sum().ToDouble() > 0 && spikes[0].sum().ToDouble() > 0, "nothing fired or no gradient");
    }

    // currents around the threshold (mean 0.4, sd 1.3) and the weights of a loss that reads every spike
    private static (Tensor Currents, Tensor Weights) Inputs(long[] shape, ulong seed)
    {
        var generator = new Generator(seed);
        Tensor currents = randn(shape, generator: generator).mul_(1.3).add_(0.4);
        return (currents, randn(shape, generator: generator));
    }

    [Fact]
    public void A_state_of_another_shape_is_refused_not_read_past()
    {
        using var scope = NewDisposeScope();
        using var lif = new LifNode("lif", new LifOptions());
        using (no_grad())
        {
            lif.forward(ones(4, 10));
            var e = Assert.Throws<ArgumentException>(() => lif.forward(ones(3, 10)));
            Assert.Contains("reset the state", e.Message);
        }
    }

    [Fact]
    public void Kernel_reads_a_view_at_its_storage_offset_and_leaves_sigmoid_to_the_tensor_form()
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(5);
        Tensor whole = randn([3 * 4 * 100], generator: generator).add_(0.5);
        Tensor view = whole.narrow(0, 4 * 100, 2 * 4 * 100); // two timesteps of 400 neurons, offset by 400 floats
        var o = new LifOptions();
        Tensor expected = MultiStepLif.Run(view.clone(), 2, o, kernel: false);
        TensorAssert.SameBits(expected, MultiStepLif.Run(view, 2, o), "offset view");

        Assert.False(LifKernel.Supports(view, new LifOptions(Surrogate: SurrogateKind.Sigmoid)));
        Assert.False(LifKernel.Supports(view.to_type(ScalarType.Float64), o));
        Assert.False(LifKernel.Supports(whole.view(12, 100).t(), o)); // not contiguous
    }
}
