using HilRig.Composition;
using HilRig.Core.Led;
using HilRig.Core.Slots;
using HilRig.Core.Spark;
using HilRig.Core.Usb;
using HilRig.Sim.Device;

namespace HilRig.Tests.Life;

/// <summary>Button and power sequences as data, run by one interpreter (spark-core.md §3.3, §8).</summary>
public class ChoreographyTests
{
    private static (RigSession Session, RigSlot Slot, VirtualCore Core) Open(int number, string flash = "healthy")
    {
        var session = RigSession.Open(TestRigs.Load(TestRigs.DefaultCores((number, flash))));
        return (session, session.Slot(number), session.Sim!.Slot(number).Core);
    }

    [Test]
    public void With_an_LED_observer_enter_DFU_releases_MODE_as_soon_as_yellow_flashes()
    {
        var (session, slot, core) = Open(3);
        using var _ = session;
        using var stop = new CancellationTokenSource();
        var log = session.RunAsync(async () =>
        {
            var watched = slot with { Led = ProgramSlotLed.Watch(core.Led, session.Time, stop.Token) };
            var steps = await ChoreographyRunner.RunAsync(Choreographies.EnterDfu, watched, session.Usb, session.Time);
            stop.Cancel();
            return steps;
        }).GetAwaiter().GetResult();
        TestContext.Out.WriteLine(string.Join("\n", log));
        var release = log.Single(l => l.EndsWith("release MODE", StringComparison.Ordinal));
        var at = double.Parse(release.Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
        // power settle 0.2 s + RESET 0.1 s + yellow at 3 s from the release of RESET
        Assert.That(at, Is.InRange(3.2, 3.5), "released on seeing flashing yellow, not after the blind 4 s");
        Assert.That(core.State, Is.EqualTo(CoreState.Dfu));
        Assert.That(session.Usb.GetDevices().Any(d => d.Path == slot.UsbPath && d.Descriptor.ProductId == SparkUsb.DfuProductId));
    }

    [Test]
    public void Without_an_LED_observer_enter_DFU_holds_MODE_for_the_timed_4_s()
    {
        var (session, slot, core) = Open(2);
        using var _ = session;
        // every session slot has an LED observer now; a rig without a sensor has none
        var blind = slot with { Led = null };
        var log = session.RunAsync(() => ChoreographyRunner.RunAsync(Choreographies.EnterDfu, blind, session.Usb, session.Time)).GetAwaiter().GetResult();
        var release = log.Single(l => l.EndsWith("release MODE", StringComparison.Ordinal));
        Assert.That(release.Trim(), Does.StartWith("4.300 s"));
        Assert.That(core.State, Is.EqualTo(CoreState.Dfu));
    }

    [Test]
    public void A_step_that_does_not_see_its_LED_state_fails_with_the_timeline_and_releases_MODE()
    {
        // A Core in DFU ignores MODE: listening mode (flashing blue) never comes.
        var (session, slot, core) = Open(6);
        using var _ = session;
        using var stop = new CancellationTokenSource();
        var error = session.RunAsync(async () =>
        {
            await Choreography.EnterDfuAsync(slot, session.Usb, session.Time);
            var watched = slot with { Led = ProgramSlotLed.Watch(core.Led, session.Time, stop.Token) };
            try
            {
                await ChoreographyRunner.RunAsync(Choreographies.EnterListeningMode, watched, session.Usb, session.Time);
                return null;
            }
            catch (ChoreographyException ex)
            {
                return ex;
            }
            finally
            {
                stop.Cancel();
            }
        }).GetAwaiter().GetResult();
        Assert.That(error, Is.Not.Null, "the sequence must fail");
        Assert.That(error!.Step, Is.InstanceOf<ChoreographyStep.WaitForLed>());
        Assert.That(error.Message, Does.Contain("flashing blue").And.Contain("flashing yellow"));
        Assert.That(error.Timeline.Segments.Select(s => s.State.ToString()), Has.Some.EqualTo("flashing yellow"));
        Assert.That(core.ModePressed, Is.False, "MODE released after the failure");
    }

    [Test]
    public void With_DFU_preselected_by_the_flags_the_factory_reset_holds_MODE_through_the_dark_10_s_until_white()
    {
        // spark-core.md §3.3 edge case: invalid flags select DFU before MODE is read, so no yellow during the hold;
        // the LED stays dark until the factory reset starts at 10 s
        var (session, slot, core) = Open(7);
        using var _ = session;
        session.RunAsync(() =>
        {
            core.Flags.FlashOtaUpdate = 0xFFFF;
            core.Flags.BkpDr10 = 0xFFFF;
            core.Flags.Save(core.InternalFlash);
            return Task.CompletedTask;
        }).GetAwaiter().GetResult();
        var log = session.RunAsync(async () =>
        {
            var steps = await ChoreographyRunner.RunAsync(Choreographies.FactoryReset, slot, session.Usb, session.Time);
            await Task.Delay(TimeSpan.FromSeconds(15), session.Time);
            return steps;
        }).GetAwaiter().GetResult();
        TestContext.Out.WriteLine(string.Join("\n", log));
        TestContext.Out.WriteLine(string.Join("\n", core.History));
        var release = log.Single(l => l.EndsWith("release MODE", StringComparison.Ordinal));
        var at = double.Parse(release.Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
        Assert.That(at, Is.InRange(10.3, 11.5), "held past the bootloader's 10 s, released once white was seen");
        Assert.That(log, Has.None.Contains("not seen"), "white was seen");
        Assert.That(core.History, Has.Some.Contains("FactoryReset"));
        Assert.That(core.Led.Current, Is.EqualTo(LedProgram.Flashing(SparkColors.Blue, 250)), "listening mode after a factory reset");
    }

    [Test]
    public void Factory_reset_choreography_runs_the_bootloaders_factory_reset_and_wipes_Wi_Fi()
    {
        var (session, slot, core) = Open(1);
        using var _ = session;
        core.Nvmem.Add("old-network", 3, "secret");
        session.RunAsync(async () =>
        {
            await ChoreographyRunner.RunAsync(Choreographies.FactoryReset, slot, session.Usb, session.Time);
            await Task.Delay(TimeSpan.FromSeconds(15), session.Time);
        }).GetAwaiter().GetResult();
        Assert.That(core.History, Has.Some.Contains("FactoryReset"));
        Assert.That(core.Nvmem.Count, Is.Zero, "the app wiped the Wi-Fi profiles on the factory reset's flag");
        Assert.That(core.Led.Current, Is.EqualTo(LedProgram.Flashing(SparkColors.Blue, 250)), "listening mode after a factory reset");
    }

    [Test]
    public void Hub_port_power_switches_VBUS_with_hub_class_requests_and_GetPortStatus_reports_it()
    {
        var (session, slot, core) = Open(4);
        using var _ = session;
        var wiring = session.Config.Slot(4).Usb;
        var (before, off, on, dfuGone) = session.RunAsync(async () =>
        {
            await Choreography.EnterDfuAsync(slot, session.Usb, session.Time);
            using var hubs = HubPortPower.Open(session.Usb, wiring.HubPath);
            var before = await hubs.GetPortStatusAsync(wiring.Port);
            await hubs.SetPortPowerAsync(wiring.Port, false);
            var off = await hubs.GetPortStatusAsync(wiring.Port);
            var gone = session.Usb.GetDevices().All(d => d.Path != slot.UsbPath) && !core.Powered;
            await hubs.SetPortPowerAsync(wiring.Port, true);
            await Task.Delay(TimeSpan.FromSeconds(2), session.Time);
            var on = await hubs.GetPortStatusAsync(wiring.Port);
            return (before, off, on, gone);
        }).GetAwaiter().GetResult();
        Assert.That(before.Powered && before.Connected, Is.True, before.ToString());
        Assert.That(off.Powered || off.Connected, Is.False, off.ToString());
        Assert.That(dfuGone, Is.True, "VBUS off: the Core loses power and leaves the bus");
        Assert.That(on.Powered, Is.True);
        Assert.That(core.Powered, Is.True);
        Assert.That(core.State, Is.EqualTo(CoreState.App), "VBUS back: the Core boots its app");
        Assert.Throws<UsbException>(() => HubPortPower.Open(session.Usb, slot.UsbPath), "a Core is not a hub");
    }
}
