namespace SpiKernel.Pipeline.Ranking;

/// <summary>
/// Non-dominated sorting. Point a dominates b when a is at least as good in every objective and strictly better in
/// one (values oriented so larger is better); equal points do not dominate each other and share a front. Front 1 is
/// the Pareto front; front k holds the points dominated only by points of fronts below k.
/// </summary>
internal static class ParetoFronts
{
    /// <summary>The 1-based front of each point of <paramref name="points"/> (each an array of oriented objective values).</summary>
    public static int[] Sort(IReadOnlyList<double[]> points)
    {
        ArgumentNullException.ThrowIfNull(points);
        int n = points.Count;
        var front = new int[n];
        var dominatedBy = new int[n];
        var dominates = new List<int>[n];
        for (int i = 0; i < n; i++)
        {
            dominates[i] = [];
            for (int j = 0; j < n; j++)
            {
                if (i == j) continue;
                if (Dominates(points[i], points[j])) dominates[i].Add(j);
                else if (Dominates(points[j], points[i])) dominatedBy[i]++;
            }
        }
        var current = Enumerable.Range(0, n).Where(i => dominatedBy[i] == 0).ToList();
        for (int k = 1; current.Count > 0; k++)
        {
            var next = new List<int>();
            foreach (int i in current)
            {
                front[i] = k;
                foreach (int j in dominates[i])
                    if (--dominatedBy[j] == 0) next.Add(j);
            }
            current = next;
        }
        return front;
    }

    /// <summary>a is no worse than b everywhere and better somewhere.</summary>
    public static bool Dominates(double[] a, double[] b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        bool better = false;
        for (int k = 0; k < a.Length; k++)
        {
            if (a[k] < b[k]) return false;
            if (a[k] > b[k]) better = true;
        }
        return better;
    }
}
