using HilRig.Core.Config;
using HilRig.Core.Led;
using HilRig.Core.Spark;
using HilRig.Sim.Device;
using HilRig.Sim.Rig;

namespace HilRig.Tests.Sim;

/// <summary>
/// The simulated line on the virtual clock: Cores pulled from slots and dropped in (their memories travel with them),
/// the operator that keeps slots fed from a seeded population, and the CC3000's Wi-Fi profiles across power and
/// saved state, wiped as spark-core.md §8 says.
/// </summary>
public class SimLineTests
{
    private static SimRig Build(int seed = 42) => SimRig.Build(TestRigs.Load(TestRigs.DefaultCores(), seed));

    private static T OnSim<T>(SimRig rig, Func<Task<T>> work) => rig.Scheduler.Run(work);

    private static async Task PowerAsync(SimRig rig, int slot, bool on)
    {
        // the relay as the rig drives it: through the slot's line
        rig.Slot(slot).SetRelayLine(on);
        await Task.CompletedTask;
    }

    [Test]
    public void A_pulled_Core_is_off_USB_and_dark_and_the_slot_takes_a_new_Core_that_sees_the_relay_as_it_is()
    {
        using var rig = Build();
        var (emptyLed, usbWhileEmpty, newState, newLot, newFlash) = OnSim(rig, async () =>
        {
            await PowerAsync(rig, 2, true);
            await Task.Delay(TimeSpan.FromSeconds(3), rig.Time);
            var pulled = rig.Remove(2)!;
            var led = rig.Slot(2).Led.Current;
            var usb = rig.Usb.GetDevices().Any(d => d.Path == rig.Slot(2).Config.Usb.DevicePath);
            Assert.That(pulled.Powered, Is.False);
            var core = rig.Insert(2, "55ff00000000000000000abc", "SST25-9999Z", new FlashCondition.StuckBits(7));
            await Task.Delay(TimeSpan.FromSeconds(3), rig.Time);
            return (led, usb, core.State, core.Spec.Lot, core.Spec.Flash);
        });

        Assert.That(emptyLed.Pattern, Is.EqualTo(LedPattern.Off), "an empty slot is dark");
        Assert.That(usbWhileEmpty, Is.False, "an empty slot has nothing on USB");
        Assert.That(newState, Is.EqualTo(CoreState.App), "the relay was on: the new Core boots at once");
        Assert.That((newLot, newFlash), Is.EqualTo(("SST25-9999Z", (FlashCondition)new FlashCondition.StuckBits(7))));
        Assert.That(rig.Slot(2).Core.DeviceId, Is.EqualTo("55ff00000000000000000abc"));
    }

    [Test]
    public void A_Core_put_back_in_another_slot_keeps_its_flash_chip_and_Wi_Fi()
    {
        using var rig = Build();
        var (id, lot, cells, moved) = OnSim(rig, async () =>
        {
            var core = rig.Slot(3).Core;
            core.Nvmem.Add("line", 3, "pw");
            rig.Remove(3);
            rig.Remove(6);
            var back = rig.Insert(6, core.DeviceId, "ignored", FlashCondition.Healthy);
            await Task.Yield();
            return (core.DeviceId, core.Spec.Lot, core.Chip.SnapshotCells(), back);
        });

        Assert.That(moved.DeviceId, Is.EqualTo(id));
        Assert.That(moved.UsbPath, Is.EqualTo(rig.Slot(6).Config.Usb.DevicePath));
        SameBytes.AssertEqual(moved.Chip.SnapshotCells(), cells, "the same chip: same cells, same defects");
        Assert.That(moved.Spec.Lot, Is.EqualTo(lot), "its chip's lot, whatever the insert said");
        Assert.That(moved.Nvmem.Ssids, Is.EqualTo(new[] { "line" }));
    }

    [Test]
    public void Inserting_into_an_occupied_slot_or_a_Core_that_sits_elsewhere_is_refused()
    {
        using var rig = Build();
        OnSim(rig, async () =>
        {
            await Task.Yield();
            Assert.That(() => rig.Insert(1, SimDefaults.DeviceIdFor(1, 1), "x", FlashCondition.Healthy), Throws.InvalidOperationException.With.Message.Contains("slot 1 holds"));
            rig.Remove(1);
            Assert.That(() => rig.Insert(1, rig.Slot(2).Core.DeviceId, "x", FlashCondition.Healthy), Throws.InvalidOperationException.With.Message.Contains("is in slot 2"));
            Assert.That(rig.Remove(1), Is.Null, "nothing to pull from an empty slot");
            return 0;
        });
    }

    private static (List<string> Log, int Fed, int Pulled, List<string> Flash, bool AllEmpty) RunShift(int seed, TimeSpan length)
    {
        using var rig = Build();
        var op = new SimLineOperator(rig, new LineOperatorOptions(Cores: 40, Lots: 4, BadLots: 2, Seed: seed, Handling: TimeSpan.FromSeconds(10), Dwell: TimeSpan.FromSeconds(60)));
        var flash = new List<string>();
        op.Inserted += (_, device) => flash.Add(FlashWords.Describe(device.Flash));
        return OnSim(rig, async () =>
        {
            using var stop = new CancellationTokenSource();
            _ = op.RunAsync(stop.Token);
            await Task.Delay(length, rig.Time);
            stop.Cancel();
            return (op.Log.ToList(), op.Fed, op.Pulled, flash, rig.Slots.All(s => !s.Occupied));
        });
    }

    [Test]
    public void The_operator_feeds_every_Core_of_the_population_once_at_its_pace_and_the_same_seed_gives_the_same_line()
    {
        var first = RunShift(7, TimeSpan.FromMinutes(30));
        var again = RunShift(7, TimeSpan.FromMinutes(30));
        var other = RunShift(8, TimeSpan.FromMinutes(30));
        TestContext.Out.WriteLine(string.Join("\n", first.Log.Take(20)));

        Assert.That(first.Fed, Is.EqualTo(40));
        Assert.That(first.Pulled, Is.EqualTo(40 + 8), "the config's 8 Cores, then every Core fed");
        Assert.That(first.AllEmpty, Is.True, "the population ran out: slots left empty");
        var inserts = first.Log.Where(l => l.Contains(" insert ", StringComparison.Ordinal)).ToList();
        Assert.That(inserts.Select(l => l.Split(' ')[3]).Distinct().Count(), Is.EqualTo(40), "every Core once");
        Assert.That(first.Flash, Has.Some.Not.EqualTo("healthy"), "bad chips are mixed in (2 of 4 lots bad)");
        // one pair of hands at 10 s per slot: the eighth slot is fed 80 s after the start
        var times = inserts.Take(8).Select(l => TimeSpan.Parse(l.Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.That(times.Zip(times.Skip(1), (a, b) => (b - a).TotalSeconds), Is.All.EqualTo(10).Within(0.001));
        Assert.That(again.Log, Is.EqualTo(first.Log), "same seed, same line");
        Assert.That(other.Log, Is.Not.EqualTo(first.Log), "another seed, other Cores");
    }

    [Test]
    public void Without_a_dwell_the_operator_swaps_a_Core_only_on_its_done_cue()
    {
        using var rig = Build();
        var op = new SimLineOperator(rig, new LineOperatorOptions(Cores: 20, Lots: 2, BadLots: 0, Seed: 1, Handling: TimeSpan.FromSeconds(5)));
        var (before, after, queuedTwice) = OnSim(rig, async () =>
        {
            using var stop = new CancellationTokenSource();
            _ = op.RunAsync(stop.Token);
            await Task.Delay(TimeSpan.FromMinutes(2), rig.Time);
            var was = rig.Slot(4).Core.DeviceId;
            op.Done(4);
            var twice = op.Done(4);
            await Task.Delay(TimeSpan.FromSeconds(6), rig.Time);
            stop.Cancel();
            return (was, rig.Slot(4).Core.DeviceId, twice);
        });

        Assert.That(op.Fed, Is.EqualTo(9), "8 slots filled, then one swap");
        Assert.That(after, Is.Not.EqualTo(before));
        Assert.That(after, Is.EqualTo(op.Population.Device(8).DeviceId), "the next Core of the population");
        Assert.That(queuedTwice, Is.False, "a slot already queued is not queued again");
    }

    [Test]
    public void An_operator_given_some_slots_feeds_only_those_and_leaves_the_others_as_they_are()
    {
        using var rig = Build();
        var others = rig.Slots.Where(s => s.Number is not (2 or 5)).ToDictionary(s => s.Number, s => s.Core.DeviceId);
        var op = new SimLineOperator(rig, new LineOperatorOptions(Cores: 10, Lots: 2, BadLots: 0, Seed: 1, Handling: TimeSpan.FromSeconds(5), Slots: [2, 5]));
        OnSim(rig, async () =>
        {
            using var stop = new CancellationTokenSource();
            _ = op.RunAsync(stop.Token);
            await Task.Delay(TimeSpan.FromSeconds(30), rig.Time);
            Assert.That(op.Done(3), Is.False, "slot 3 is not the operator's");
            op.Done(2);
            await Task.Delay(TimeSpan.FromSeconds(30), rig.Time);
            stop.Cancel();
            return 0;
        });

        var inserted = op.Log.Where(l => l.Contains(" insert ", StringComparison.Ordinal)).Select(l => int.Parse(l.Split(' ')[2], System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.That(inserted, Is.EqualTo(new[] { 2, 5, 2 }), "slots 2 and 5 fed, then slot 2 swapped on its cue");
        Assert.That(rig.Slots.Where(s => s.Number is not (2 or 5)).ToDictionary(s => s.Number, s => (s.Occupied, s.Core.DeviceId)),
            Is.EqualTo(others.ToDictionary(kv => kv.Key, kv => (true, kv.Value))), "every other slot keeps the config's Core");
    }

    [Test]
    public void A_line_saved_by_one_process_is_picked_up_by_the_next_with_its_Cores_in_their_slots_and_the_next_Core_of_the_population()
    {
        var config = TestRigs.Load(TestRigs.DefaultCores());
        var dir = Directory.CreateTempSubdirectory("hilrig-line-state-").FullName;
        var options = new LineOperatorOptions(Cores: 30, Lots: 3, BadLots: 1, Seed: 5, Handling: TimeSpan.FromSeconds(4));
        Dictionary<int, (bool, string, string)> before;
        byte[] cells;
        int fed;
        using (var first = SimRig.Build(config))
        {
            var op = new SimLineOperator(first, options);
            OnSim(first, async () =>
            {
                using var stop = new CancellationTokenSource();
                _ = op.RunAsync(stop.Token);
                await Task.Delay(TimeSpan.FromSeconds(40), first.Time);
                op.Done(3);
                await Task.Delay(TimeSpan.FromSeconds(1), first.Time); // slot 3 queued, not yet pulled
                stop.Cancel();
                op.Save(dir);
                return 0;
            });
            // a cell written after the Core went in: the next process must see it
            first.Slot(4).Core.Chip.RestoreCells([.. first.Slot(4).Core.Chip.SnapshotCells().Select((b, i) => i == 0x20000 ? (byte)0x5A : b)]);
            before = first.Slots.ToDictionary(s => s.Number, s => (s.Occupied, s.Core.DeviceId, s.Core.Spec.Lot));
            cells = first.Slot(4).Core.Chip.SnapshotCells();
            fed = op.Fed;
            SimRigState.Save(first, dir);
        }

        using var next = SimRig.Build(config);
        SimRigState.Load(next, dir);
        var after = next.Slots.ToDictionary(s => s.Number, s => (s.Occupied, s.Core.DeviceId, s.Core.Spec.Lot));
        var again = new SimLineOperator(next, options);
        Assert.That(again.Resume(dir, keepQueue: true), Is.True);
        var pulledFrom3 = after[3].Item2;
        OnSim(next, async () =>
        {
            using var stop = new CancellationTokenSource();
            _ = again.RunAsync(stop.Token);
            await Task.Delay(TimeSpan.FromSeconds(10), next.Time);
            stop.Cancel();
            return 0;
        });

        Assert.That(fed, Is.EqualTo(8), "8 slots fed before the stop");
        Assert.That(after, Is.EqualTo(before), "every slot holds the Core it held (none pulled, none re-created from the config)");
        SameBytes.AssertEqual(next.Slot(4).Core.Chip.SnapshotCells(), cells, "with its flash");
        Assert.That(again.Fed, Is.EqualTo(9), "slot 3's queued swap done, with the next Core of the population");
        Assert.That(next.Slot(3).Core.DeviceId, Is.EqualTo(again.Population.Device(8).DeviceId).And.Not.EqualTo(pulledFrom3));
        Assert.That(next.Slots.Where(s => s.Number != 3).Select(s => s.Core.DeviceId), Is.EqualTo(before.Where(kv => kv.Key != 3).Select(kv => kv.Value.Item2)));
    }

    [Test]
    public void Wi_Fi_profiles_survive_a_saved_state_and_a_factory_fresh_Core_has_none()
    {
        var config = TestRigs.Load(TestRigs.DefaultCores());
        var dir = Directory.CreateTempSubdirectory("hilrig-state-").FullName;
        var rig = SimRig.Build(config);
        rig.Slot(5).Core.Nvmem.Add("line-net", 3, "pw");
        rig.Slot(5).Core.Nvmem.Add("spare", 0, "");
        rig.Dispose();
        SimRigState.Save(rig, dir);
        using var next = SimRig.Build(config);
        SimRigState.Load(next, dir);

        Assert.That(next.Slot(5).Core.Nvmem.Profiles, Is.EqualTo(new[] { ("line-net", 3, "pw"), ("spare", 0, "") }));
        Assert.That(next.Slot(4).Core.Nvmem.Count, Is.Zero);
    }

    [Test]
    public void MODE_held_on_in_listening_mode_deletes_the_Wi_Fi_profiles_under_rapid_blue()
    {
        using var rig = Build();
        var core = rig.Slot(1).Core;
        core.Nvmem.Add("old", 3, "pw");
        var (listening, rapid, afterWipe) = OnSim(rig, async () =>
        {
            await PowerAsync(rig, 1, true);
            await Task.Delay(TimeSpan.FromSeconds(6), rig.Time); // online: breathing cyan
            rig.Slot(1).SetModeLine(true);
            await Task.Delay(TimeSpan.FromSeconds(3.2), rig.Time); // 3 s: listening mode
            var inListening = core.Led.Current;
            await Task.Delay(TimeSpan.FromSeconds(7.1), rig.Time); // a further 7 s: the wipe starts
            var wiping = core.Led.Current;
            rig.Slot(1).SetModeLine(false);
            await Task.Delay(TimeSpan.FromSeconds(1.5), rig.Time);
            return (inListening, wiping, core.Led.Current);
        });

        Assert.That(listening, Is.EqualTo(LedProgram.Flashing(SparkColors.Blue, 250)));
        Assert.That(rapid, Is.EqualTo(LedProgram.Flashing(SparkColors.Blue, 50)), "rapid blue while the profiles go");
        Assert.That(core.Nvmem.Count, Is.Zero, string.Join(" | ", core.History));
        Assert.That(afterWipe, Is.EqualTo(LedProgram.Flashing(SparkColors.Blue, 250)), "listening mode goes on");
    }
}
