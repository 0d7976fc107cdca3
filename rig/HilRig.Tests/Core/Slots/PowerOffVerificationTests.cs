using HilRig.Composition;
using HilRig.Core.Slots;

namespace HilRig.Tests.Slots;

/// <summary>The one power-off rule that `hilrig power off` and the doctor's relay check both apply.</summary>
public class PowerOffVerificationTests
{
    private static PowerOffFinding CutAndVerify(RigSession session, int number, bool probeDfu)
    {
        var slot = session.Slot(number);
        return session.RunAsync(async () =>
        {
            slot.Control.SetPower(true);
            await Task.Delay(TimeSpan.FromSeconds(3), session.Time);
            slot.Control.SetPower(false);
            return await PowerOffVerification.VerifyAsync(slot, session.Usb, session.Time, probeDfu);
        }).GetAwaiter().GetResult();
    }

    [Test]
    public void A_relay_that_cuts_the_supply_leaves_nothing_on_USB_a_dark_LED_and_no_DFU_answer()
    {
        using var session = RigSession.Open(TestRigs.Load(TestRigs.DefaultCores()));
        var finding = CutAndVerify(session, 3, probeDfu: true);
        Assert.That(finding.Cut, Is.True, finding.How("1-1.3", true, true));
        Assert.That(finding.How("1-1.3", ledSeen: true, probed: true), Is.EqualTo("nothing at 1-1.3, LED dark, and MODE held through a RESET brought up no DFU device"));
    }

    [Test]
    public void A_welded_relay_is_not_off_the_Core_is_still_on_USB()
    {
        using var session = RigSession.Open(TestRigs.Load(TestRigs.DefaultCores()));
        session.Sim!.Slot(2).RelayWelded = true;
        var finding = CutAndVerify(session, 2, probeDfu: false);
        Assert.That(finding.Cut, Is.False);
        Assert.That(finding.StillOnUsb, Does.EndWith("is still at 1-1.2"));
        Assert.That(finding.StillLit, Does.StartWith("the LED still shows"), "its LED still lights, seen by the slot's sensor");
    }

    [Test]
    public void A_measurement_that_sees_light_alone_makes_the_power_not_off()
    {
        using var session = RigSession.Open(TestRigs.Load(TestRigs.DefaultCores()), new RigSessionOptions { ObserveLeds = false });
        var slot = session.Slot(4);
        var finding = session.RunAsync(() => PowerOffVerification.VerifyAsync(slot, session.Usb, session.Time, probeDfu: true,
            _ => Task.FromResult<string?>("38 counts/ms"))).GetAwaiter().GetResult();
        Assert.That(finding.Cut, Is.False, "light from a Core that left USB still means powered (or light from outside)");
        Assert.That(finding.DfuOnModeReset, Is.Null, "no probe once the rule already failed");
    }
}
