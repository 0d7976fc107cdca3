namespace HilRig.Reports.Statistics;

/// <summary>Failed units out of units tested in one group (a chip lot, or a slot).</summary>
public readonly record struct GroupCount(string Name, int Failed, int Units);

/// <summary>Where a group's rate falls against its p-chart limits.</summary>
public enum ControlSignal
{
    Within,
    AboveUpperLimit,
    BelowLowerLimit,
}

/// <summary>One group on the p-chart: its rate and its own limits (they depend on its size).</summary>
public readonly record struct PChartPoint(string Name, int Failed, int Units, double Rate, double Centre, double LowerLimit, double UpperLimit, ControlSignal Signal)
{
    public bool IsFlagged => Signal != ControlSignal.Within;
}

public sealed record PChartResult(double PooledRate, IReadOnlyList<PChartPoint> Points);

/// <summary>
/// p-chart for attribute data (failed / tested) with varying group sizes.
/// </summary>
public static class PChart
{
    /// <summary>
    /// Pooled rate p̄ = Σfailedᵢ / Σunitsᵢ; for group i the limits are p̄ ± 3·√(p̄(1−p̄)/nᵢ),
    /// the lower clipped at 0 and the upper at 1. A group is flagged when its rate is strictly
    /// beyond a limit. Points come back in input order.
    /// </summary>
    public static PChartResult Compute(IReadOnlyList<GroupCount> groups)
    {
        ArgumentNullException.ThrowIfNull(groups);
        long failed = 0, units = 0;
        foreach (var g in groups)
        {
            if (g.Units <= 0)
            {
                throw new ArgumentException($"group '{g.Name}': units tested is {g.Units}; it must be at least 1", nameof(groups));
            }

            if (g.Failed < 0 || g.Failed > g.Units)
            {
                throw new ArgumentException($"group '{g.Name}': failed is {g.Failed}; it must be between 0 and {g.Units}", nameof(groups));
            }

            failed += g.Failed;
            units += g.Units;
        }

        var pooled = units == 0 ? 0 : (double)failed / units;
        var points = new PChartPoint[groups.Count];
        for (var i = 0; i < points.Length; i++)
        {
            var g = groups[i];
            var sigma = Math.Sqrt(pooled * (1 - pooled) / g.Units);
            var lower = Math.Max(0, pooled - (3 * sigma));
            var upper = Math.Min(1, pooled + (3 * sigma));
            var rate = (double)g.Failed / g.Units;
            var signal = rate > upper ? ControlSignal.AboveUpperLimit
                : rate < lower ? ControlSignal.BelowLowerLimit
                : ControlSignal.Within;
            points[i] = new PChartPoint(g.Name, g.Failed, g.Units, rate, pooled, lower, upper, signal);
        }

        return new PChartResult(pooled, points);
    }
}
