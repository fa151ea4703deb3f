using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SpiKernel.Pipeline.Training.KeptScalars;

// TorchSharp 0.107's optimizers make a Scalar for every number they pass libtorch (x.mul_(beta1), add_(grad, alpha:
// 1 − beta1), …) and nothing keeps it alive during the call: a garbage collection on another thread can free it under
// libtorch ("Expected false to be true … toFloat at c10/core/Scalar.h"), as GcPressureTests shows for TorchSharp's
// AdamW. These are the same optimizers, step for step the same operations in the same order (OptimizerTests: identical
// parameters and state files), with each Scalar in a using block that ends after its call. State and state files are
// TorchSharp's own (the State classes are inherited), and so are the class names, which TorchSharp writes into the state
// file and checks on loading: a checkpoint of either optimizer resumes with the other.

/// <summary>TorchSharp's AdamW step with every Scalar kept alive through its call.</summary>
internal sealed class AdamW(IEnumerable<TorchSharp.Modules.AdamW.ParamGroup> groups, double lr, double beta1, double beta2)
    : TorchSharp.Modules.AdamW(groups, lr, beta1, beta2)
{
    /// <inheritdoc />
    public override Tensor step(Func<Tensor>? closure = null) => _step<ParamGroup>(group =>
    {
        var options = (Options)group.Options;
        double beta1 = options.beta1!.Value, beta2 = options.beta2!.Value, weightDecay = options.weight_decay!.Value;
        double eps = options.eps!.Value, lr = options.LearningRate!.Value;
        if (options.amsgrad!.Value || options.maximize!.Value) throw new NotSupportedException("amsgrad and maximize are not used here");
        // the group's numbers, made once per step (each parameter's step count gives the bias corrections below)
        using Scalar keep = (1 - lr * weightDecay).ToScalar(), b1 = beta1.ToScalar(), a1 = (1 - beta1).ToScalar();
        using Scalar b2 = beta2.ToScalar(), a2 = (1 - beta2).ToScalar(), e = eps.ToScalar(), one = 1.ToScalar();
        foreach (Parameter param in group.Parameters)
        {
            var state = (State)_state[param.Handle];
            Tensor? grad = param.grad;
            if (grad is null) continue;
            state.step += 1;
            param.mul_(keep);
            double correction1 = 1 - Math.Pow(beta1, state.step), correction2 = 1 - Math.Pow(beta2, state.step);
            state.exp_avg.mul_(b1).add_(grad, a1);
            state.exp_avg_sq.mul_(b2).addcmul_(grad, grad, a2);
            using Scalar root = Math.Sqrt(correction2).ToScalar();
            using Tensor sqrt = state.exp_avg_sq.sqrt();
            using Tensor denom = sqrt.div(root).add_(e, one);
            using Scalar stepSize = (-(lr / correction1)).ToScalar();
            param.addcdiv_(state.exp_avg, denom, stepSize);
        }
    }, closure);
}

/// <summary>TorchSharp's SGD step (momentum, dampening, weight decay; no Nesterov) with every Scalar kept alive through its call.</summary>
internal sealed class SGD(IEnumerable<TorchSharp.Modules.SGD.ParamGroup> groups, double lr, double momentum) : TorchSharp.Modules.SGD(groups, lr, momentum)
{
    /// <inheritdoc />
    public override Tensor step(Func<Tensor>? closure = null) => _step<ParamGroup>(group =>
    {
        var options = group.Options;
        double momentum = options.momentum!.Value, dampening = options.dampening!.Value, weightDecay = options.weight_decay!.Value;
        double lr = options.LearningRate!.Value;
        if (options.nesterov!.Value || options.maximize!.Value) throw new NotSupportedException("nesterov and maximize are not used here");
        // the group's numbers, made once per step
        using Scalar decay = weightDecay.ToScalar(), m = momentum.ToScalar(), kept = (1 - dampening).ToScalar(), alpha = (-lr).ToScalar();
        foreach (Parameter param in group.Parameters)
        {
            var state = (State)_state[param.Handle];
            Tensor? grad = param.grad;
            if (grad is null) continue;
            if (weightDecay != 0) grad = grad.add(param, decay);
            if (momentum != 0)
            {
                Tensor? buf = state.momentum_buffer;
                if (buf is null)
                {
                    buf = grad.clone().detach().DetachFromDisposeScope();
                    state.momentum_buffer = buf;
                }
                else buf.mul_(m).add_(grad, kept);
                grad = buf;
            }
            param.add_(grad, alpha);
        }
    }, closure);
}
