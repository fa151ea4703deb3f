using SpiKernel.Core;
using System.Text;

namespace SpiKernel.Models.Architecture;

/// <summary>
/// The 4-node connection matrix shared by both cells of a network (node 0 input, node 3 output).
/// <c>m[i][j]</c> with i &lt; j is a forward edge i→j, with i &gt; j a backward (feedback) edge; each entry is an
/// operation code of a <see cref="KernelSet"/>. Text form: the four rows, e.g. SNASNet's CIFAR-10 cell
/// <c>0303 0030 2002 0200</c>; codes above 9 are written a, b, c, … (base 36).
/// </summary>
public sealed class CellTopology : IEquatable<CellTopology>
{
    /// <summary>Nodes in a cell.</summary>
    public const int Nodes = 4;

    private readonly int[,] _m;

    /// <summary>SNASNet's published CIFAR-10 backward cell.</summary>
    public static CellTopology SnasnetCifar10 { get; } = Parse("0303 0030 2002 0200");

    /// <summary>Creates a topology from a 4×4 matrix of non-negative codes (diagonal must be 0).</summary>
    public CellTopology(int[,] matrix)
    {
        ArgumentNullException.ThrowIfNull(matrix);
        if (matrix.GetLength(0) != Nodes || matrix.GetLength(1) != Nodes)
            throw new ArgumentException($"A cell matrix is {Nodes}×{Nodes}.", nameof(matrix));
        _m = (int[,])matrix.Clone();
        for (int i = 0; i < Nodes; i++)
        {
            if (_m[i, i] != 0) throw new SettingsException($"Cell matrix diagonal entry m[{i}][{i}] must be 0 (a node has no edge to itself).");
            for (int j = 0; j < Nodes; j++)
            {
                if (_m[i, j] < 0 || _m[i, j] >= 36) throw new SettingsException($"Cell matrix entry m[{i}][{j}] = {_m[i, j]} is not an operation code.");
            }
        }
    }

    /// <summary>The operation code on edge i→j.</summary>
    public int this[int i, int j] => _m[i, j];

    /// <summary>
    /// True when any feedback (lower-triangle) edge is present: the one test for feedback, used by the cell module (to carry
    /// state between timesteps), the exporter (to unroll such a cell timestep by timestep) and the metadata.
    /// </summary>
    public bool IsBackward
    {
        get
        {
            for (int i = 1; i < Nodes; i++)
                for (int j = 0; j < i; j++)
                    if (_m[i, j] != 0) return true;
            return false;
        }
    }

    /// <summary>A copy of the matrix.</summary>
    internal int[,] ToMatrix() => (int[,])_m.Clone();

    /// <summary>Largest code used.</summary>
    internal int MaxCode => _m.Cast<int>().Max();

    /// <summary>
    /// Zeroes the row and column of every node that cannot reach node 3 or cannot be reached from node 0
    /// (reachability on m + m² + m³ + m⁴, feedback edges included), as SNASNet does.
    /// </summary>
    public CellTopology Pruned()
    {
        bool[,] reach = Reachability();
        int[,] m = ToMatrix();
        for (int n = 1; n < Nodes - 1; n++)
        {
            if (reach[0, n] && reach[n, Nodes - 1]) continue;
            for (int k = 0; k < Nodes; k++)
            {
                m[n, k] = 0;
                m[k, n] = 0;
            }
        }
        return new CellTopology(m);
    }

    /// <summary>True when node 3 can be reached from node 0 (otherwise the cell output is constant).</summary>
    internal bool OutputReachable => Reachability()[0, Nodes - 1];

    /// <summary>r[i,j] is true when a path of 1 to 4 edges leads from i to j.</summary>
    internal bool[,] Reachability()
    {
        var r = new bool[Nodes, Nodes];
        var power = new bool[Nodes, Nodes];
        for (int i = 0; i < Nodes; i++)
            for (int j = 0; j < Nodes; j++)
                power[i, j] = r[i, j] = _m[i, j] != 0;
        for (int step = 2; step <= Nodes; step++)
        {
            var next = new bool[Nodes, Nodes];
            for (int i = 0; i < Nodes; i++)
                for (int j = 0; j < Nodes; j++)
                    for (int k = 0; k < Nodes && !next[i, j]; k++)
                        next[i, j] = power[i, k] && _m[k, j] != 0;
            power = next;
            for (int i = 0; i < Nodes; i++)
                for (int j = 0; j < Nodes; j++)
                    r[i, j] |= power[i, j];
        }
        return r;
    }

    /// <summary>Parses four rows of four code digits separated by spaces or '/', e.g. "0303 0030 2002 0200".</summary>
    public static CellTopology Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string[] rows = text.Split([' ', '/', '_'], StringSplitOptions.RemoveEmptyEntries);
        if (rows.Length != Nodes || rows.Any(r => r.Length != Nodes))
            throw new SettingsException($"Cell '{text}' must be {Nodes} rows of {Nodes} operation codes, e.g. \"0303 0030 2002 0200\".");
        var m = new int[Nodes, Nodes];
        for (int i = 0; i < Nodes; i++)
        {
            for (int j = 0; j < Nodes; j++)
            {
                char c = char.ToLowerInvariant(rows[i][j]);
                m[i, j] = c is >= '0' and <= '9' ? c - '0' : c is >= 'a' and <= 'z' ? c - 'a' + 10
                    : throw new SettingsException($"Cell '{text}' has '{rows[i][j]}' at row {i}, column {j}; codes are 0-9 then a-z.");
            }
        }
        try
        {
            return new CellTopology(m);
        }
        catch (ArgumentException ex)
        {
            throw new SettingsException($"Cell '{text}': {ex.Message}");
        }
    }

    /// <summary>"0303 0030 2002 0200".</summary>
    public override string ToString()
    {
        var sb = new StringBuilder(Nodes * (Nodes + 1));
        for (int i = 0; i < Nodes; i++)
        {
            if (i > 0) sb.Append(' ');
            for (int j = 0; j < Nodes; j++)
                sb.Append(_m[i, j] < 10 ? (char)('0' + _m[i, j]) : (char)('a' + _m[i, j] - 10));
        }
        return sb.ToString();
    }

    /// <inheritdoc />
    public bool Equals(CellTopology? other) => other is not null && _m.Cast<int>().SequenceEqual(other._m.Cast<int>());

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as CellTopology);

    /// <inheritdoc />
    public override int GetHashCode() => _m.Cast<int>().Aggregate(17, (h, v) => h * 37 + v);
}
