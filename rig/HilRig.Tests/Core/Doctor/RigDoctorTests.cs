using HilRig.Composition;
using HilRig.Core.Config;
using HilRig.Core.Doctor;
using HilRig.Core.Led;

namespace HilRig.Tests.Doctor;

/// <summary>`hilrig doctor` on the simulated rig: all green on a healthy rig, and each injected rig fault caught by its check.</summary>
public class RigDoctorTests
{
    private static SlotCalibration Calibrated(int slot) => new(slot, 0.5, 0.6, 0.4, 1.7, 0.1, 4, 24);

    private static (RigSession Session, DoctorReport Report) Run(Action<RigSession>? fault = null, Func<int, SlotCalibration?>? calibration = null, Func<RigConfig, RigConfig>? userConfig = null)
    {
        var config = TestRigs.Load(TestRigs.DefaultCores());
        var session = RigSession.Open(config);
        var checkedAgainst = userConfig?.Invoke(config) ?? config;
        var slots = session.Slots.Select(s => s with { UsbPath = checkedAgainst.Slot(s.Number).Usb.DevicePath }).ToList();
        var doctor = new RigDoctor(checkedAgainst, slots, session.Usb, session.I2c, session.Time, calibration ?? Calibrated);
        // Faults are injected on the simulation thread, where the simulated hardware lives, in the same run as the
        // doctor: between two runs an idle virtual clock moves on by however long this thread took to post the next
        // one, so a Core powered by the fault would be met by the doctor at a different device time on a busy machine.
        var report = session.RunAsync(() =>
        {
            fault?.Invoke(session);
            return doctor.RunAsync();
        }).GetAwaiter().GetResult();
        return (session, report);
    }

    private static DoctorCheck Check(DoctorReport report, string subject) =>
        report.Checks.Single(c => c.Subject == subject);

    private static IEnumerable<DoctorCheck> NotOk(DoctorReport report) => report.Checks.Where(c => c.Status != CheckStatus.Ok);

    [Test]
    public void A_healthy_calibrated_rig_is_all_green_and_every_check_is_there()
    {
        var (session, report) = Run();
        using (session)
        {
            Assert.That(NotOk(report), Is.Empty);
            Assert.That(report.AllOk, Is.True);
            // 1 expander + 1 mux + per slot: sensor, calibration, USB, hub port, relay, dark
            Assert.That(report.Checks, Has.Count.EqualTo(2 + 8 * 6));
            Assert.That(Check(report, "slot 5 hub port").Detail, Does.Contain("the Core went dark with VBUS off"));
        }
    }

    [Test]
    public void Slots_are_left_powered_as_they_were_found()
    {
        var (session, report) = Run(s => s.Slot(2).Control.SetPower(true));
        using (session)
        {
            Assert.That(report.AllOk, Is.True, string.Join("\n", NotOk(report)));
            Assert.That(session.Slots.Select(s => s.Control.PowerOn), Is.EqualTo(new[] { false, true, false, false, false, false, false, false }));
            Assert.That(session.Sim!.Slot(2).Core.Powered, Is.True);
            Assert.That(session.Sim.Hubs["1-1"].IsPortPowered(2), Is.True);
        }
    }

    [Test]
    public void Missing_calibrations_fail_with_the_calibrate_command_as_the_fix()
    {
        var (session, report) = Run(calibration: slot => slot == 4 ? Calibrated(4) : null);
        using (session)
        {
            var failed = NotOk(report).ToList();
            Assert.That(failed.Select(c => c.Subject), Is.EquivalentTo(new[] { 1, 2, 3, 5, 6, 7, 8 }.Select(n => $"slot {n} calibration")));
            Assert.That(Check(report, "slot 3 calibration").Fix, Does.Contain("hilrig led calibrate --slots 3"));
        }
    }

    [Test]
    public void A_welded_relay_keeps_the_Core_on_USB_and_lit_with_power_off()
    {
        var (session, report) = Run(s => s.Sim!.Slot(2).RelayWelded = true);
        using (session)
        {
            Assert.That(NotOk(report).Select(c => c.Subject), Is.EquivalentTo(new[] { "slot 2 relay", "slot 2 dark" }));
            var relay = Check(report, "slot 2 relay");
            Assert.That(relay.Detail, Does.Contain("is still on USB at 1-1.2").And.Contain("still lights its LED"));
            Assert.That(relay.Fix, Does.Contain("welded contact").And.Contain("gpio 6"));
            Assert.That(Check(report, "slot 2 dark").Detail, Does.Contain("the Core is still powered"));
        }
    }

    [Test]
    public void A_sensor_with_the_wrong_id_fails_its_check_and_its_light_checks_are_not_judged()
    {
        var (session, report) = Run(s => s.Sim!.Slot(3).Sensor!.Id = 0x10);
        using (session)
        {
            var sensor = Check(report, "slot 3 sensor");
            Assert.That(sensor.Status, Is.EqualTo(CheckStatus.Failed));
            Assert.That(sensor.Detail, Does.Contain("answered ID 0x10; expected 0x44 (TCS34725) or 0x4D (TCS34727)"));
            Assert.That(sensor.Fix, Does.Contain("mux 0x70 channel 2"));
            Assert.That(Check(report, "slot 3 dark").Status, Is.EqualTo(CheckStatus.NotChecked));
            Assert.That(NotOk(report).Select(c => c.Subject), Is.EquivalentTo(new[] { "slot 3 sensor", "slot 3 dark" }));
        }
    }

    [Test]
    public void A_hub_port_whose_VBUS_stays_on_is_caught_by_the_Core_staying_lit()
    {
        var (session, report) = Run(s => s.Sim!.Hubs["1-1"].SetVbusStuckOn(4, true));
        using (session)
        {
            var port = Check(report, "slot 4 hub port");
            Assert.That(port.Status, Is.EqualTo(CheckStatus.Failed));
            Assert.That(port.Detail, Does.Contain("hub 1-1 port 4 reports power off but the Core's LED stays lit").And.Contain("VBUS is not cut"));
            Assert.That(port.Fix, Does.Contain("per-port power switching"));
            Assert.That(NotOk(report).Select(c => c.Subject), Is.EqualTo(new[] { "slot 4 hub port" }));
        }
    }

    [Test]
    public void A_mux_that_does_not_answer_fails_and_leaves_its_sensors_unjudged()
    {
        var (session, report) = Run(s => s.Sim!.Muxes[0x70].Nack = true);
        using (session)
        {
            Assert.That(Check(report, "TCA9548A 0x70").Status, Is.EqualTo(CheckStatus.Failed));
            Assert.That(Check(report, "TCA9548A 0x70").Fix, Does.Contain("i2cdetect -y 1"));
            Assert.That(report.Checks.Where(c => c.Subject.EndsWith(" sensor", StringComparison.Ordinal)).Select(c => c.Status), Is.All.EqualTo(CheckStatus.NotChecked));
            Assert.That(Check(report, "slot 1 USB").Status, Is.EqualTo(CheckStatus.Ok), "USB and power checks do not need the sensors");
        }
    }

    [Test]
    public void An_expander_that_stops_answering_fails_and_each_slot_reports_its_lines()
    {
        var (session, report) = Run(s => s.Sim!.I2c.Detach(0x20));
        using (session)
        {
            var expander = Check(report, "MCP23017 0x20");
            Assert.That(expander.Status, Is.EqualTo(CheckStatus.Failed));
            Assert.That(expander.Detail, Does.Contain("no answer"));
            Assert.That(Check(report, "slot 1 lines").Detail, Does.Contain("expander 0x20 pin 0"));
        }
    }

    [Test]
    public void A_Core_plugged_into_another_port_than_the_config_says_is_pointed_out()
    {
        // The user's config says slot 2 is on port 6; the cable is in port 2.
        var (session, report) = Run(userConfig: c => c with
        {
            Slots = [.. c.Slots.Select(s => s.Number == 2 ? s with { Usb = s.Usb with { Port = 6 } } : s)],
        });
        using (session)
        {
            var usb = Check(report, "slot 2 USB");
            Assert.That(usb.Status, Is.EqualTo(CheckStatus.Failed));
            Assert.That(usb.Detail, Does.Contain("1-1.6"));
            Assert.That(usb.Fix, Does.Contain("a Core shows up at 1-1.2, which no slot uses"));
            Assert.That(Check(report, "slot 2 relay").Status, Is.EqualTo(CheckStatus.NotChecked));
        }
    }
}
