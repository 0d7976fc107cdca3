using HilRig.Core.Procedures;
using HilRig.Reports.Results;
using HilRig.Reports.Statistics;

namespace HilRig.Tests.Reports;

public class LotReportTests
{
    [Test]
    public void A_lot_counts_devices_by_their_last_attempt_and_ignores_rig_fault_only_devices()
    {
        var rows = new RowsBuilder()
            .Screen(1, "L1", 1, 1, Verdict.Fail)     // retested in another slot and passed: not failed
            .Screen(1, "L1", 2, 2, Verdict.Pass)
            .Screen(2, "L1", 1, 1, Verdict.Fail)     // failed
            .Screen(3, "L1", 3, 1, Verdict.RigFault) // no verdict on the DUT: left out
            .Screen(4, "L1", 4, 1, Verdict.Pass)
            .Screen(5, "L2", 1, 1, Verdict.Pass)
            .Rows;

        Assert.That(LotReport.CountByLot(rows), Is.EqualTo(new[] { new GroupCount("L1", 1, 3), new GroupCount("L2", 0, 1) }));
    }

    [Test]
    public void Dashboard_rows_carry_both_intervals_the_rule_of_three_and_units_still_needed()
    {
        // L1: 1/10 → Wilson [0.0179, 0.4041], CP [0.0025, 0.4450]
        // L2: 0/200 → rule of three 3/200 = 0.015; 1 % claim needs 299 → 99 more
        // pooled 1/210; L1 UCL = 1/210 + 3·√((1/210)(209/210)/10) = 0.0047619 + 3·0.0217698 = 0.0700712 → 0.1 above
        var report = LotReport.Build([new("L1", 1, 10), new("L2", 0, 200)], targetUpper: 0.01);

        Assert.That(report[0].Wilson.Upper, Is.EqualTo(0.404149).Within(5e-5));
        Assert.That(report[0].ClopperPearson.Upper, Is.EqualTo(0.445016).Within(1e-5));
        Assert.That(report[0].RuleOfThreeUpper, Is.Null);
        Assert.That(report[0].PChart.UpperLimit, Is.EqualTo(0.0700712).Within(1e-6));
        Assert.That(report[0].PChart.Signal, Is.EqualTo(ControlSignal.AboveUpperLimit));
        Assert.That(report[1].RuleOfThreeUpper, Is.EqualTo(0.015));
        Assert.That(report[1].AdditionalUnitsNeeded, Is.EqualTo(99));
        Assert.That(report[1].PChart.IsFlagged, Is.False);
    }
}
