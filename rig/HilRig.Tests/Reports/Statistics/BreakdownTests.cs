using HilRig.Core.Procedures;
using HilRig.Reports.Results;
using HilRig.Reports.Statistics;

namespace HilRig.Tests.Reports;

public class BreakdownTests
{
    [Test]
    public void Failure_modes_per_lot_count_failures_and_distinct_devices()
    {
        var rows = new RowsBuilder()
            .Screen(1, "L1", 1, 1, Verdict.Fail, "stuck-bits", "bit 3 low @0x20000")
            .Screen(1, "L1", 2, 2, Verdict.Fail, "stuck-bits", "bit 3 low @0x20000")
            .Screen(2, "L1", 3, 1, Verdict.Fail, "stuck-bits", "bit 5 low @0x40000")
            .Screen(3, "L1", 1, 1, Verdict.Fail, "erase-failure", null)
            .Screen(4, "L1", 4, 1, Verdict.RigFault, "relay", null)
            .Screen(5, "L2", 1, 1, Verdict.Pass)
            .Rows;

        var byLot = Breakdown.FailureModesByLot(rows);

        // L1 modes: stuck-bits 3 failures on devices 1, 2; erase-failure 1 on device 3; the rig fault is the slot's.
        Assert.That(byLot.Select(b => b.Lot), Is.EqualTo(new[] { "L1", "L2" }));
        Assert.That(byLot[0].FailureModes, Is.EqualTo(new[] { new CategoryCount("stuck-bits", 3, 2), new CategoryCount("erase-failure", 1, 1) }));
        Assert.That(byLot[0].Signatures, Is.EqualTo(new[]
        {
            new CategoryCount("bit 3 low @0x20000", 2, 1),
            new CategoryCount(Breakdown.Unclassified, 1, 1),
            new CategoryCount("bit 5 low @0x40000", 1, 1),
        }));
        Assert.That(byLot[1].FailureModes, Is.Empty);
    }

    [Test]
    public void A_slot_that_fails_many_different_devices_is_suspect_but_one_bad_device_retried_is_not()
    {
        var b = new RowsBuilder();
        for (var d = 1; d <= 40; d++)
        {
            var slot = ((d - 1) / 10) + 1;
            var verdict = slot switch
            {
                3 when d <= 27 => d % 2 == 0 ? Verdict.RigFault : Verdict.Fail, // devices 21..27 fail in slot 3
                4 when d == 31 => Verdict.Fail,
                _ => Verdict.Pass,
            };
            b.Screen(d, "L1", slot, 1, d == 11 ? Verdict.Fail : verdict);
        }

        // device 11 fails four more times in slot 2: still one device
        for (var attempt = 2; attempt <= 5; attempt++)
        {
            b.Screen(11, "L1", 2, attempt, Verdict.Fail);
        }

        // failed devices per slot: 0/10, 1/10, 7/10, 1/10 → pooled 9/40 = 0.225
        // UCL = 0.225 + 3·√(0.225·0.775/10) = 0.225 + 3·0.132051 = 0.621153; slot 3 at 0.7 is above
        var health = Breakdown.SlotHealth(b.Rows);
        Assert.That(health.Select(h => (h.Slot, h.Devices, h.FailedDevices)), Is.EqualTo(new[] { (1, 10, 0), (2, 10, 1), (3, 10, 7), (4, 10, 1) }));
        Assert.That(health[2].UpperLimit, Is.EqualTo(0.621153).Within(1e-6));
        Assert.That(health.Where(h => h.Suspect).Select(h => h.Slot), Is.EqualTo(new[] { 3 }));
    }

    [Test]
    public void Device_history_comes_back_oldest_first_whatever_the_store_order()
    {
        var rows = new RowsBuilder()
            .Screen(7, "L1", 1, 1, Verdict.RigFault)
            .Screen(8, "L1", 2, 1, Verdict.Pass)
            .Screen(7, "L1", 3, 2, Verdict.Fail, "slow-chip")
            .Screen(7, "L1", 4, 3, Verdict.Pass)
            .Rows;
        var shuffled = rows.Reverse().ToList();

        var history = Breakdown.DeviceHistory(shuffled, RowsBuilder.Device(7).ToUpperInvariant());

        Assert.That(history.Select(r => (r.Attempt, r.Slot, r.Verdict)), Is.EqualTo(new[]
        {
            (1, 1, Verdict.RigFault), (2, 3, Verdict.Fail), (3, 4, Verdict.Pass),
        }));
    }
}
