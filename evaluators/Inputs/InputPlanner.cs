using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime.Tensors;
using SpiKernel.Evaluators.Models;
using SpiKernel.Evaluators.Results;

namespace SpiKernel.Evaluators.Inputs;

/// <summary>
/// Decides the rows of one model from its declared inputs, <c>--input-shape</c>, <c>--batch</c>, test data and
/// labelled images. The first dimension of each input is its batch when symbolic; a model whose inputs all have a
/// fixed first dimension is measured at that size (the row says so) and other <c>--batch</c> sizes are
/// <c>skipped</c>. With test data, the data's shapes are fed and checked; other batch sizes of a model with a
/// symbolic batch get seeded values shaped like the data.
/// </summary>
internal static class InputPlanner
{
    /// <summary>
    /// The rows of <paramref name="model"/>: its own measurement first (fixed batch, test data), then <paramref name="batches"/>
    /// in order. A model <see cref="Unmeasurable"/> names is refused by the caller before it plans (Evaluator.Prepare).
    /// </summary>
    public static IReadOnlyList<PlannedRun> Plan(ModelInfo model, IReadOnlyList<int> batches, IReadOnlyList<TestDataSet> sets, TestData images, InputOptions options)
    {
        try
        {
            foreach (TensorSpec s in model.Inputs) TensorElements.Size(s.ElementType);
            long[][] dims = Declared(model, options.Shapes ?? []);
            int[] batched = Enumerable.Range(0, dims.Length).Where(i => dims[i].Length > 0 && dims[i][0] < 0).ToArray();
            if (sets.Count > 0) return FromData(model, batches, sets, dims, batched, options.Seed);
            if (batched.Length == 0)
            {
                (int own, string why) = FixedBatch(model, dims);
                PlannedRun run = Measure(own, BatchSource.Model, () => Fed(model, Concrete(model, dims, own, batched, images), own, BatchSource.Model, images, options.Seed));
                return [run with { Note = why }, .. Unfeedable(batches, own, why)];
            }
            return batches.Distinct().Select(b => Measure(b, BatchSource.Option, () => Fed(model, Concrete(model, dims, b, batched, images), b, BatchSource.Option, images, options.Seed))).ToArray();
        }
        catch (InvalidDataException ex)
        {
            return batches.Distinct().Select(b => PlannedRun.Refuse(b, BatchSource.Option, EvaluationStatus.Failed, ex.Message)).ToArray();
        }
        catch (NothingToTimeException ex) // a batch of 0 is nothing wrong with the model or its data: there is just nothing to time
        {
            return batches.Distinct().Select(b => PlannedRun.Refuse(b, BatchSource.Option, EvaluationStatus.Skipped, ex.Message)).ToArray();
        }
    }

    private sealed class NothingToTimeException(string message) : Exception(message);

    /// <summary>
    /// Why <paramref name="model"/> cannot be measured whatever it is fed, or null: an input that is not a tensor (nothing
    /// is fed to one), an output that is an optional value (ONNX Runtime's process died binding one). Said before any
    /// problem with its test data, which for such a model is a sequence or optional value that is not read either.
    /// </summary>
    public static string? Unmeasurable(ModelInfo model)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (model.Inputs.FirstOrDefault(s => !s.IsTensor) is { } input)
            return $"input '{input.Name}' is not a tensor (sequence, map and optional inputs are not fed)";
        return model.OptionalOutputs.Count > 0 ? $"output '{model.OptionalOutputs[0]}' is an optional value, which is not fetched (only tensors and sequences are)" : null;
    }

    /// <summary>The data's own batch (checked against the expected outputs), then the other sizes with seeded values shaped like it.</summary>
    private static PlannedRun[] FromData(ModelInfo model, IReadOnlyList<int> batches, IReadOnlyList<TestDataSet> sets, long[][] dims, int[] batched, int seed)
    {
        HostTensor[] first = DataMatching.Inputs(model, sets[0]);
        CheckSet[] checks = sets.Where(s => s.Outputs.Count > 0)
            .Select(s => new CheckSet(s.Path, DataMatching.Inputs(model, s), DataMatching.Outputs(model, s))).ToArray();
        var own = new PlannedRun(0, BatchSource.Inputs) { Source = InputSource.TestData, Inputs = () => first, Checks = checks, TestData = sets[0].Path };
        if (batched.Length == 0)
        {
            (int fixedSize, string why) = FixedBatch(model, dims);
            return [own with { Batch = fixedSize, BatchSource = BatchSource.Model, Note = why }, .. Unfeedable(batches, fixedSize, why)];
        }
        if (batched.FirstOrDefault(i => first[i].Shape.Length == 0, -1) is var scalar and >= 0)
            throw new InvalidDataException($"{sets[0].Path}: input '{model.Inputs[scalar].Name}' is a scalar in the test data, but the model takes it with a batch axis");
        int size = checked((int)first[batched[0]].Shape[0]);
        if (size < 1) throw new NothingToTimeException($"{sets[0].Path}: input '{model.Inputs[batched[0]].Name}' holds a batch of {size}: there is nothing to time");
        var runs = new List<PlannedRun> { own with { Batch = size, Note = $"batch {size} from the test data ({sets[0].Path})" } };
        foreach (int b in batches.Distinct().Where(b => b != size))
        {
            long[][] shapes = first.Select((t, i) => batched.Contains(i) ? [b, .. t.Shape[1..]] : t.Shape).ToArray();
            runs.Add(new PlannedRun(b, BatchSource.Option)
            {
                Source = InputSource.Seeded,
                Seed = seed,
                Inputs = () => SeededInputs.Create(model.Inputs, shapes, seed),
                Note = $"seeded values shaped like the test data, batch {b} for {size}",
            });
        }
        return runs.ToArray();
    }

    /// <summary>Labelled images when they fit the one input, seeded values otherwise.</summary>
    private static PlannedRun Fed(ModelInfo model, long[][] shapes, int batch, BatchSource source, TestData images, int seed)
    {
        if (images.Data is { } d && shapes.Length == 1 && shapes[0] is [_, var c, var h, var w] && c == d.Channels && h == d.Height && w == d.Width
            && model.Inputs[0].ElementType == TensorElementType.Float)
        {
            string name = model.Inputs[0].Name;
            return new PlannedRun(batch, source)
            {
                Source = InputSource.Images,
                Inputs = () => [new HostTensor(name, TensorElementType.Float, shapes[0], MemoryMarshal.AsBytes<float>(d.Normalized(0, batch, images.Mean!, images.Std!)).ToArray())],
            };
        }
        return new PlannedRun(batch, source) { Source = InputSource.Seeded, Seed = seed, Inputs = () => SeededInputs.Create(model.Inputs, shapes, seed) };
    }

    /// <summary>The run <paramref name="plan"/> makes, or a failed row saying why it cannot.</summary>
    private static PlannedRun Measure(int batch, BatchSource source, Func<PlannedRun> plan)
    {
        try
        {
            return plan();
        }
        catch (InvalidDataException ex)
        {
            return PlannedRun.Refuse(batch, source, EvaluationStatus.Failed, ex.Message);
        }
    }

    private static IEnumerable<PlannedRun> Unfeedable(IReadOnlyList<int> batches, int own, string why) =>
        batches.Distinct().Where(b => b != own).Select(b =>
            PlannedRun.Refuse(b, BatchSource.Option, EvaluationStatus.Skipped, $"{why}: batch {b} cannot be fed"));

    /// <summary>The batch size of a model whose inputs fix it: the first dimension of its first input that has one.</summary>
    private static (int Size, string Why) FixedBatch(ModelInfo model, long[][] dims)
    {
        int i = Array.FindIndex(dims, d => d.Length > 0);
        if (i < 0) return (1, "the model's inputs are scalars (batch 1)");
        if (dims[i][0] < 1) throw new NothingToTimeException($"input '{model.Inputs[i].Name}' fixes batch {dims[i][0]} ({Text(model.Inputs[i], dims[i])}): there is nothing to time");
        return (checked((int)dims[i][0]), $"the model fixes batch {dims[i][0]} (input '{model.Inputs[i].Name}' is {Text(model.Inputs[i], dims[i])})");
    }

    /// <summary>Each input's dimensions after <c>--input-shape</c> (-1 where still symbolic).</summary>
    private static long[][] Declared(ModelInfo model, IReadOnlyList<InputShape> shapes)
    {
        foreach (InputShape s in shapes)
            if (s.Name is { } n && model.Inputs.All(i => i.Name != n))
                throw new InvalidDataException($"--input-shape names input '{n}', which the model does not have (inputs: {string.Join(", ", model.Inputs.Select(i => $"'{i.Name}'"))})");
        InputShape? unnamed = shapes.FirstOrDefault(s => s.Name is null);
        return model.Inputs.Select(spec =>
        {
            InputShape? given = shapes.FirstOrDefault(s => s.Name == spec.Name) ?? unnamed;
            if (given is null) return spec.Dims.ToArray();
            if (given.Dims.Length == spec.Dims.Length) return given.Dims.ToArray();
            if (given.Dims.Length == spec.Dims.Length - 1) return [spec.Dims[0], .. given.Dims];
            throw new InvalidDataException($"--input-shape {given} has {given.Dims.Length} dimensions, input '{spec.Name}' {spec.DimsText} {spec.Dims.Length}");
        }).ToArray();
    }

    /// <summary>The shapes to feed at <paramref name="batch"/>: symbolic first dimensions set to it, other symbolic ones from the images.</summary>
    private static long[][] Concrete(ModelInfo model, long[][] dims, int batch, int[] batched, TestData images)
    {
        var shapes = new long[dims.Length][];
        for (int k = 0; k < dims.Length; k++)
        {
            long[] shape = dims[k].ToArray();
            if (batched.Contains(k)) shape[0] = batch;
            for (int i = 0; i < shape.Length; i++)
            {
                if (shape[i] >= 0) continue;
                if (images.Data is { } d && dims.Length == 1 && shape.Length == 4) shape[i] = i == 1 ? d.Channels : i == 2 ? d.Height : d.Width;
                else
                    throw new InvalidDataException(
                        $"input '{model.Inputs[k].Name}' {Text(model.Inputs[k], dims[k])} has a symbolic dimension {i}; give it with --input-shape {model.Inputs[k].Name}=… or feed test data with --inputs");
            }
            shapes[k] = shape;
        }
        return shapes;
    }

    private static string Text(TensorSpec spec, long[] dims) => (spec with { Dims = dims }).DimsText;
}
