using System.Globalization;

namespace HilRig.Reports.Statistics;

/// <summary>A point estimate with its confidence bounds, all in the same unit (a proportion, or failures per 1,000 cycles).</summary>
public readonly record struct Interval(double Point, double Lower, double Upper)
{
    /// <summary>"0.100 [0.018, 0.404]", the form the dashboard shows.</summary>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Point:0.000} [{Lower:0.000}, {Upper:0.000}]");
}
