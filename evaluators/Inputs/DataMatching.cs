using SpiKernel.Evaluators.Models;

namespace SpiKernel.Evaluators.Inputs;

/// <summary>
/// Pairs a test data set's tensors with a model's inputs and outputs: by name when every tensor carries the name of
/// one of them, else by position (<c>input_0</c> is the first input). Inputs of another numeric type than the model's
/// (numpy saves float64 by default) are converted.
/// </summary>
internal static class DataMatching
{
    /// <summary>The set's inputs, named and typed as the model's, in the model's order.</summary>
    public static HostTensor[] Inputs(ModelInfo model, TestDataSet set)
    {
        IReadOnlyList<TensorSpec> specs = model.Inputs;
        IReadOnlyList<HostTensor> given = set.Inputs;
        HostTensor[] ordered;
        if (ByName(given, specs.Select(s => s.Name).ToArray()))
        {
            ordered = specs.Select(s => given.FirstOrDefault(t => t.Name == s.Name)
                ?? throw new InvalidDataException($"{set.Path}: no test input for the model's input '{s.Name}'")).ToArray();
        }
        else
        {
            if (given.Count != specs.Count)
                throw new InvalidDataException($"{set.Path}: {given.Count} test inputs for the model's {specs.Count} ({string.Join(", ", specs.Select(s => $"'{s.Name}'"))})");
            ordered = given.ToArray();
        }
        return ordered.Select((t, i) => specs[i].IsTensor
            ? (t with { Name = specs[i].Name }).ConvertedTo(specs[i].ElementType)
            : throw new InvalidDataException($"the model's input '{specs[i].Name}' is not a tensor")).ToArray();
    }

    /// <summary>The set's expected outputs named as the model's outputs (a prefix of them when given by position).</summary>
    public static HostTensor[] Outputs(ModelInfo model, TestDataSet set)
    {
        IReadOnlyList<string> names = model.OutputNames;
        if (ByName(set.Outputs, names)) return set.Outputs.ToArray();
        if (set.Outputs.Count > names.Count)
            throw new InvalidDataException($"{set.Path}: {set.Outputs.Count} expected outputs for the model's {names.Count}");
        return set.Outputs.Select((t, i) => t with { Name = names[i] }).ToArray();
    }

    private static bool ByName(IReadOnlyList<HostTensor> tensors, IReadOnlyList<string> names) =>
        tensors.Count > 0 && tensors.All(t => t.Name.Length > 0 && names.Contains(t.Name));
}
