using HilRig.Composition;
using HilRig.Core.Config;
using HilRig.Core.Procedures;
using HilRig.Core.Slots;
using HilRig.Sim.Device;

namespace HilRig.Tests.Slots;

/// <summary>
/// Seed 2718's extra `relay-stuck` (issue 14): a relay stuck open on two switch-ons in a row leaves the Core dark for over a
/// minute, and the next cut's "LED off" check then looked at its last seconds alone. With no calibrated white level those
/// hold only the neighbours' leak, which was then its own brightest light and classified lit ("the LED still shows ...").
/// </summary>
public class RelayStuckOpenCutTests
{
    [TestCase("breathing cyan")]
    [TestCase("flashing yellow")]
    public void A_cut_after_two_switch_ons_stuck_open_is_not_taken_for_a_stuck_closed_relay_by_the_neighbours_leak(string neighbours)
    {
        var chaos = HilRig.Tests.Chaos.ChaosSoakTests.ChaosConfig();
        var config = chaos with
        {
            Slots = [.. chaos.Slots.Where(s => s.Number is 3 or 4 or 5)],
            Sim = chaos.Sim with { Faults = new SimFaultSettings() },
        };
        // calibrated at open as the chaos bench does: dark level only, no white level
        using var session = RigSession.Open(config, new RigSessionOptions { ObserveLeds = true, CalibrateAtOpen = true });
        var slot = session.Slot(4);
        var sim = session.Sim!;
        var log = new List<string>();
        RigRetryScope? scope = null;
        var up = session.RunAsync(async () =>
        {
            slot.Control.SetPower(true);
            await Task.Delay(TimeSpan.FromSeconds(20), session.Time);
            // both neighbours lit (unpowered Cores, their LEDs driven directly): a Core on the cloud, or one in DFU
            var program = neighbours == "breathing cyan" ? LedProgram.Breathing(SparkColors.Cyan) : LedProgram.Flashing(SparkColors.Yellow, 100);
            sim.Slot(3).Led.Show(program);
            sim.Slot(5).Led.Show(program);
            scope = RigRetries.Begin(4, session.Time);
            // from the cut on, the contact stays open on the first two switch-ons
            var sticks = 0;
            var cut = false;
            sim.Slot(4).RelaySticks = on =>
            {
                if (!on) cut = true;
                return on && cut && sticks++ < 2;
            };
            return await RelaySwitch.PowerCycleAsync(slot, session.Usb, session.Time, async () =>
            {
                var where = await session.Life.WaitAsync(slot, null, SoakRunner.AppAfterDfu, default, CoreWhereabouts.Listening, CoreWhereabouts.Dfu);
                return where switch { CoreWhereabouts.Listening => true, CoreWhereabouts.Dfu => false, _ => (bool?)null };
            }, log, unseenIsRelayFault: true);
        }).GetAwaiter().GetResult();

        var retries = scope!.All;
        foreach (var r in retries) TestContext.Out.WriteLine(r);
        Assert.That(up, Is.True, "the Core came up on the third switch on");
        Assert.That(retries.Select(r => (r.Kind, r.GaveUp, r.What.Contains("switched on"))), Is.EqualTo(new[] { ("relay-stuck", false, true), ("relay-stuck", false, true) }),
            "two sticks, two retries of the switch on; no cut taken for a stuck contact");
        Assert.That(sim.Slot(4).Core.Powered, Is.True);
    }
}
