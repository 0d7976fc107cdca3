using HilRig.Core.Procedures;
using HilRig.Reports.Results;
using HilRig.Reports.Statistics;

namespace HilRig.Tests.Reports;

public class SoakTrendsTests
{
    private static IReadOnlyList<ResultRow> TwoBuilds()
    {
        var b = new RowsBuilder();

        // BL14 soaked first: 1000 cycles, failures at cycles 100 and 600
        for (var cycle = 1; cycle <= 1000; cycle++)
        {
            b.Soak(1, "BL14", cycle, cycle is 100 or 600 ? Verdict.Fail : Verdict.Pass);
        }

        // BL15: 1000 counted cycles with 10 failures, plus one rig-fault cycle that counts for nothing
        for (var cycle = 1; cycle <= 1001; cycle++)
        {
            var verdict = cycle == 1001 ? Verdict.RigFault : cycle % 100 == 0 ? Verdict.Fail : Verdict.Pass;
            b.Soak(2, "BL15", cycle, verdict);
        }

        b.Screen(3, "L1", 1, 1, Verdict.Fail); // not a soak row
        return b.Rows;
    }

    [Test]
    public void Builds_come_back_in_soak_order_with_rates_per_thousand_cycles()
    {
        var builds = SoakTrends.ByBootloader(TwoBuilds());

        // BL14: 2/1000 → 2 per 1000, Garwood [χ²(0.025;4)/2, χ²(0.975;6)/2] = [0.242209, 7.224687]
        // BL15: 10/1000 → [4.795389, 18.390356]
        Assert.That(builds.Select(s => (s.Bootloader, s.Cycles, s.Failures)), Is.EqualTo(new[] { ("BL14", 1000L, 2), ("BL15", 1000L, 10) }));
        Assert.That(builds[0].PerThousandCycles.Lower, Is.EqualTo(0.242209).Within(1e-5));
        Assert.That(builds[0].PerThousandCycles.Upper, Is.EqualTo(7.224687).Within(1e-5));
        Assert.That(builds[1].PerThousandCycles.Point, Is.EqualTo(10));
    }

    [Test]
    public void The_morning_report_says_the_new_build_is_worse()
    {
        var builds = SoakTrends.ByBootloader(TwoBuilds());

        // 79/4096 = 0.0193 (see ExactTestsTests)
        var comparison = SoakTrends.Compare(builds[1], builds[0]);
        Assert.That(comparison.Verdict, Is.EqualTo("BL15 is worse than BL14: p = 0.0193"));
    }
}
