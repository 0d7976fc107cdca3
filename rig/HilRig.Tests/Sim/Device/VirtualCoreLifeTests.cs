using HilRig.Composition;
using HilRig.Core.Slots;
using HilRig.Core.Spark;
using HilRig.Sim.Device;
using HilRig.Sim.Device.Firmware;

namespace HilRig.Tests.EndToEnd;

/// <summary>The simulated Core as the buttons and power lines see it (spark-core.md §3).</summary>
public class VirtualCoreLifeTests
{
    [Test]
    public void Power_on_boots_the_app_and_power_off_takes_the_Core_off_the_bus_and_darkens_it()
    {
        using var session = RigSession.Open(TestRigs.Load(TestRigs.DefaultCores()));
        var slot = session.Slot(1);
        var core = session.Sim!.Slot(1).Core;
        var states = session.RunAsync(async () =>
        {
            slot.Control.SetPower(true);
            await Task.Delay(TimeSpan.FromSeconds(2), session.Time);
            var running = (core.State, core.RunningApp, core.Led.Current);
            slot.Control.SetPower(false);
            await Task.Delay(TimeSpan.FromMilliseconds(10), session.Time);
            return (running, off: (core.State, core.Led.Current.Pattern));
        }).GetAwaiter().GetResult();
        Assert.That(states.running.State, Is.EqualTo(CoreState.App));
        Assert.That(states.running.RunningApp, Does.StartWith("tinker"), "the factory app (Tinker) runs");
        Assert.That(states.running.Current, Is.EqualTo(LedProgram.Flashing(SparkColors.Blue, 250)), "a Core fresh from the factory has no Wi-Fi: listening mode");
        Assert.That(states.off.State, Is.EqualTo(CoreState.Off));
        Assert.That(states.off.Pattern, Is.EqualTo(Core.Led.LedPattern.Off));
    }

    [Test]
    public void MODE_held_through_RESET_for_4_s_enters_DFU_and_the_Core_appears_at_its_path()
    {
        using var session = RigSession.Open(TestRigs.Load(TestRigs.DefaultCores()));
        var slot = session.Slot(3);
        session.RunAsync(() => Choreography.EnterDfuAsync(slot, session.Usb, session.Time)).GetAwaiter().GetResult();
        var dfu = session.Usb.GetDevices().Single(d => d.Descriptor.ProductId == SparkUsb.DfuProductId);
        Assert.That(dfu.Path, Is.EqualTo("1-1.3"));
        Assert.That(session.Sim!.Slot(3).Core.State, Is.EqualTo(CoreState.Dfu));
        Assert.That(session.Sim.Slot(3).Core.Led.Current, Is.EqualTo(LedProgram.Flashing(SparkColors.Yellow, 100)));
    }

    [Test]
    public void MODE_held_past_10_s_starts_a_factory_reset_not_DFU()
    {
        using var session = RigSession.Open(TestRigs.Load(TestRigs.DefaultCores()));
        var slot = session.Slot(2);
        var core = session.Sim!.Slot(2).Core;
        var history = session.RunAsync(async () =>
        {
            slot.Control.SetPower(true);
            await Task.Delay(TimeSpan.FromSeconds(1), session.Time);
            slot.Control.SetMode(true);
            await Choreography.ResetAsync(slot, session.Time);
            await Task.Delay(TimeSpan.FromSeconds(11), session.Time);
            slot.Control.SetMode(false);
            await Task.Delay(TimeSpan.FromSeconds(15), session.Time);
            return string.Join("\n", core.History);
        }).GetAwaiter().GetResult();
        Assert.That(history, Does.Contain("FactoryReset"));
        Assert.That(core.State, Is.EqualTo(CoreState.App));
    }

    [Test]
    public void A_factory_image_corrupted_by_stuck_bits_ends_a_factory_reset_in_DFU_or_the_watchdog_chain()
    {
        // Many stuck cells: the factory copy of Tinker is certainly corrupt somewhere.
        using var session = RigSession.Open(TestRigs.Load(TestRigs.DefaultCores((5, "{ stuckBits: 2000 }"))));
        var core = session.Sim!.Slot(5).Core;
        SimulatedScreening.FactoryReset(session, 5);
        Assert.That(core.State, Is.EqualTo(CoreState.Dfu), string.Join("\n", core.History));
        Assert.That(core.Led.Current, Is.EqualTo(LedProgram.Flashing(SparkColors.Yellow, 100)), "the seed's symptom: flashing yellow after a factory reset");
    }
}
