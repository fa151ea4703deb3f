using System.Globalization;

namespace SpiKernel.Core;

/// <summary>Work done under the invariant culture, the caller's culture restored after it.</summary>
public static class InvariantScope
{
    /// <summary>
    /// <paramref name="work"/> under the invariant culture: what formats with the current culture (ScottPlot's tick labels,
    /// System.CommandLine's number parsing, interpolated console text) then reads 0.05, not 0,05, under de-DE.
    /// </summary>
    public static T Run<T>(Func<T> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        CultureInfo culture = CultureInfo.CurrentCulture, ui = CultureInfo.CurrentUICulture;
        try
        {
            CultureInfo.CurrentCulture = CultureInfo.CurrentUICulture = CultureInfo.InvariantCulture;
            return work();
        }
        finally
        {
            CultureInfo.CurrentCulture = culture;
            CultureInfo.CurrentUICulture = ui;
        }
    }
}
