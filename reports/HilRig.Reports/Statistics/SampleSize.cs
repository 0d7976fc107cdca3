using System.Globalization;

namespace HilRig.Reports.Statistics;

/// <summary>When a failure rate's interval is too wide to judge by, and the line that says so.</summary>
public static class SampleSize
{
    /// <summary>
    /// An interval wider than 20 percentage points cannot tell a 2 % lot from a 20 % one, which is the decision a
    /// lot's page is for: four units (0 of 4 failed, Wilson 0-49 %) is well past it, about fifteen is where it ends.
    /// </summary>
    public const double WideInterval = 0.20;

    public static bool TooWide(Interval interval) => interval.Upper - interval.Lower > WideInterval;

    /// <summary>"n=4: too few units to judge, interval 0-49 %"; null when the interval is narrow enough.</summary>
    public static string? Warning(int units, Interval interval) =>
        TooWide(interval)
            ? string.Create(CultureInfo.InvariantCulture, $"n={units}: too few units to judge, interval {Whole(interval.Lower)}-{Whole(interval.Upper)} %")
            : null;

    private static string Whole(double proportion) => Math.Round(proportion * 100, MidpointRounding.AwayFromZero).ToString("0", CultureInfo.InvariantCulture);
}
