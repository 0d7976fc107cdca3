using HilRig.Composition;
using HilRig.Core.Doctor;
using HilRig.Core.Led;

namespace HilRig.Tests.Doctor;

/// <summary>
/// The doctor puts a slot it found powered back on after its relay check: that switch on is checked by the one rule
/// (issue 14), and a contact that does not close then is the slot's relay finding, not a crash and not silence.
/// </summary>
public class DoctorRelayRestoreTests
{
    private static SlotCalibration Calibrated(int slot) => new(slot, 0.5, 0.6, 0.4, 1.7, 0.1, 4, 24);

    [Test]
    public void A_relay_that_does_not_close_when_the_doctor_switches_the_slot_back_on_is_a_failed_relay_check_of_that_slot()
    {
        var config = TestRigs.Load(TestRigs.DefaultCores());
        using var session = RigSession.Open(config);
        var doctor = new RigDoctor(config, session.Slots, session.Usb, session.I2c, session.Time, Calibrated);
        var report = session.RunAsync(() =>
        {
            session.Slot(2).Control.SetPower(true);
            // from the relay check's cut on, slot 2's contact stays open on every switch on
            var cut = false;
            session.Sim!.Slot(2).RelaySticks = on =>
            {
                if (!on) cut = true;
                return on && cut;
            };
            return doctor.RunAsync();
        }).GetAwaiter().GetResult();

        var relay = report.Checks.Single(c => c.Subject == "slot 2 relay");
        Assert.That(relay.Status, Is.EqualTo(CheckStatus.Failed), relay.ToString());
        Assert.That(relay.Detail, Does.Contain("switching the slot back on").And.Contain("does not close"));
        Assert.That(relay.Fix, Does.Contain("replace the relay"));
        Assert.That(report.Checks.Where(c => c.Status != CheckStatus.Ok).Select(c => c.Subject), Is.EqualTo(new[] { "slot 2 relay" }),
            string.Join("\n", report.Checks.Where(c => c.Status != CheckStatus.Ok)));
        Assert.That(report.Checks, Has.Count.EqualTo(2 + 8 * 6), "one relay check per slot, the restore's finding in it");
        Assert.That(session.Sim!.Slot(2).Core.Powered, Is.False);
    }

    [Test]
    public void A_slot_found_powered_is_switched_back_on_and_checked_lit()
    {
        var config = TestRigs.Load(TestRigs.DefaultCores());
        using var session = RigSession.Open(config);
        var doctor = new RigDoctor(config, session.Slots, session.Usb, session.I2c, session.Time, Calibrated);
        var report = session.RunAsync(() =>
        {
            session.Slot(5).Control.SetPower(true);
            // one stick on the switch back on: the one rule switches again and the Core comes up
            var cut = false;
            var stuck = 0;
            session.Sim!.Slot(5).RelaySticks = on =>
            {
                if (!on) cut = true;
                return on && cut && stuck++ == 0;
            };
            return doctor.RunAsync();
        }).GetAwaiter().GetResult();
        Assert.That(report.AllOk, Is.True, string.Join("\n", report.Checks.Where(c => c.Status != CheckStatus.Ok)));
        Assert.That(session.Sim!.Slot(5).Core.Powered, Is.True, "switched again after the contact stuck once: the slot is left as it was found");
    }
}
