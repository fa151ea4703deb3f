using System.Globalization;
using System.Text.RegularExpressions;

namespace SpiKernel.Evaluators.Inputs;

/// <summary>
/// One set of real inputs and, when known, the outputs they should give: a <c>test_data_set_N</c> folder of the ONNX
/// backend tests and <c>onnxruntime_perf_test</c> (<c>input_K.pb</c>, <c>output_K.pb</c>), or <c>.npy</c>/<c>.npz</c>
/// files (<c>output_K.npy</c> are expected outputs, every other array an input).
/// </summary>
/// <param name="Path">The folder or file the set was read from.</param>
/// <param name="Inputs">Input tensors, in file order (<c>input_0</c>, <c>input_1</c>, …).</param>
/// <param name="Outputs">Expected outputs, in file order; empty when the set has none.</param>
internal sealed partial record TestDataSet(string Path, IReadOnlyList<HostTensor> Inputs, IReadOnlyList<HostTensor> Outputs)
{
    /// <summary>
    /// The sets at <paramref name="path"/>: every <c>test_data_set_*</c> folder in it (in numeric order), or the folder
    /// itself when it holds tensor files, or one <c>.pb</c>/<c>.npy</c>/<c>.npz</c> file. <see cref="InvalidDataException"/>
    /// when there is no test data there or a file cannot be read; <see cref="FileNotFoundException"/> when nothing is at the path.
    /// </summary>
    public static IReadOnlyList<TestDataSet> Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (File.Exists(path)) return [FromFiles(path, [path])];
        if (!Directory.Exists(path)) throw new FileNotFoundException($"{path}: no such file or folder", path);
        string[] sets = SetFolders(path);
        if (sets.Length > 0) return sets.Select(s => FromFiles(s, Directory.GetFiles(s))).ToArray();
        return [FromFiles(path, Directory.GetFiles(path))];
    }

    /// <summary>The <c>test_data_set_*</c> folders in <paramref name="folder"/>, in numeric order.</summary>
    public static string[] SetFolders(string folder) =>
        Directory.GetDirectories(folder, "test_data_set_*").OrderBy(Index).ThenBy(d => d, StringComparer.Ordinal).ToArray();

    private static TestDataSet FromFiles(string where, IEnumerable<string> files)
    {
        var inputs = new List<(long Index, HostTensor Tensor)>();
        var outputs = new List<(long Index, HostTensor Tensor)>();
        foreach (string file in files.Order(StringComparer.Ordinal))
        {
            string stem = System.IO.Path.GetFileNameWithoutExtension(file);
            bool isOutput = stem.StartsWith("output", StringComparison.Ordinal);
            List<(long, HostTensor)> into = isOutput ? outputs : inputs;
            switch (System.IO.Path.GetExtension(file).ToLowerInvariant())
            {
                case ".pb":
                    into.Add((Index(file), TensorProtoReader.Read(file)));
                    break;
                case ".npy":
                    // a file's name is the tensor's name, unless it only counts (input_0.npy)
                    HostTensor array = NpyReader.ReadNpy(file);
                    into.Add((Index(file), Counted().IsMatch(stem) ? array with { Name = "" } : array));
                    break;
                case ".npz":
                    inputs.AddRange(NpyReader.ReadNpz(file).Select(t => (long.MaxValue, t)));
                    break;
            }
        }
        if (inputs.Count == 0)
            throw new InvalidDataException($"{where}: no test inputs (input_*.pb, *.npy or *.npz files, or test_data_set_* folders of them)");
        // a .pb file may name its tensor; input_K.pb without a name is input K
        static HostTensor[] Ordered(List<(long Index, HostTensor Tensor)> list) => list.OrderBy(p => p.Index).Select(p => p.Tensor).ToArray();
        return new TestDataSet(where, Ordered(inputs), Ordered(outputs));
    }

    /// <summary>The number in input_12.pb or test_data_set_3 (long.MaxValue when there is none, so those sort last).</summary>
    private static long Index(string path)
    {
        Match m = TrailingNumber().Match(System.IO.Path.GetFileNameWithoutExtension(path));
        return m.Success && long.TryParse(m.Groups[1].Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out long n) ? n : long.MaxValue;
    }

    [GeneratedRegex(@"_(\d+)$")]
    private static partial Regex TrailingNumber();

    [GeneratedRegex(@"^(input|output)_\d+$")]
    private static partial Regex Counted();
}
