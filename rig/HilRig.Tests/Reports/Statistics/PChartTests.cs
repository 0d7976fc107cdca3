using HilRig.Reports.Statistics;

namespace HilRig.Tests.Reports;

public class PChartTests
{
    // Fleet: L1 4/100, L2 18/100, L3 8/200, L4 5/600 → p̄ = 35/1000 = 0.035, p̄(1 − p̄) = 0.033775.
    private static readonly GroupCount[] Fleet =
    [
        new("L1", 4, 100),
        new("L2", 18, 100),
        new("L3", 8, 200),
        new("L4", 5, 600),
    ];

    [Test]
    public void Pooled_rate_is_total_failed_over_total_units()
    {
        Assert.That(PChart.Compute(Fleet).PooledRate, Is.EqualTo(0.035).Within(1e-12));
    }

    [Test]
    public void Limits_follow_each_lot_size_and_the_lower_is_clipped_at_zero()
    {
        // n = 100: 3·√(0.033775/100) = 3·0.0183780 = 0.0551339 → UCL 0.0901339, LCL −0.020 → 0
        // n = 200: 3·√(0.033775/200) = 3·0.0129952 = 0.0389856 → UCL 0.0739856, LCL → 0
        // n = 600: 3·√(0.033775/600) = 3·0.0075028 = 0.0225083 → UCL 0.0575083, LCL 0.0124917
        var points = PChart.Compute(Fleet).Points;
        Assert.That(points[0].UpperLimit, Is.EqualTo(0.0901339).Within(1e-6));
        Assert.That(points[0].LowerLimit, Is.Zero);
        Assert.That(points[2].UpperLimit, Is.EqualTo(0.0739856).Within(1e-6));
        Assert.That(points[2].LowerLimit, Is.Zero);
        Assert.That(points[3].UpperLimit, Is.EqualTo(0.0575083).Within(1e-6));
        Assert.That(points[3].LowerLimit, Is.EqualTo(0.0124917).Within(1e-6));
        Assert.That(points.Select(p => p.Centre), Is.All.EqualTo(0.035).Within(1e-12));
    }

    [Test]
    public void Lots_beyond_their_limits_are_flagged_on_the_right_side()
    {
        // L2: 0.18 > 0.0901 → above; L4: 5/600 = 0.00833 < 0.01249 → below; L1 0.04 and L3 0.04 within.
        var points = PChart.Compute(Fleet).Points;
        Assert.That(points.Select(p => p.Signal), Is.EqualTo(new[]
        {
            ControlSignal.Within, ControlSignal.AboveUpperLimit, ControlSignal.Within, ControlSignal.BelowLowerLimit,
        }));
        Assert.That(points.Where(p => p.IsFlagged).Select(p => p.Name), Is.EqualTo(new[] { "L2", "L4" }));
    }

    [Test]
    public void A_fleet_without_failures_flags_nothing()
    {
        var result = PChart.Compute([new("A", 0, 50), new("B", 0, 80)]);
        Assert.That(result.PooledRate, Is.Zero);
        Assert.That(result.Points.Any(p => p.IsFlagged), Is.False);
    }

    [Test]
    public void A_lot_with_no_units_is_refused_by_name()
    {
        var ex = Assert.Throws<ArgumentException>(() => PChart.Compute([new("L9", 0, 0)]));
        Assert.That(ex!.Message, Does.Contain("'L9'").And.Contain("at least 1"));
    }
}
