using HilRig.Composition;
using HilRig.Core.Config;
using HilRig.Core.Procedures;
using HilRig.Core.Spark;
using HilRig.Sim.Faults;

namespace HilRig.Tests.Chaos;

/// <summary>
/// Faults on purpose at every boundary of the simulator (issue 14, items 6 and 7): each injected fault ends as a retry
/// that recovered or a rig fault, never as a verdict on a healthy Core; the bad-flash Cores still fail, every cycle they
/// are read back. A smaller seeded mix than `hilrig bench chaos` (8 slots x 200 cycles), with higher rates.
/// </summary>
public class ChaosSoakTests
{
    private static readonly RigSessionOptions NoLeds = new() { ObserveLeds = false, CalibrateAtOpen = false };

    internal static RigConfig ChaosConfig(double scale = 1)
    {
        var config = RigConfigLoader.Load(Path.Combine(TestContext.CurrentContext.TestDirectory, "..", "..", "..", "..", "..", "examples", "chaos-rig.yaml"));
        var f = config.Sim.Faults;
        return config with
        {
            Sim = config.Sim with
            {
                // the cloud's per-chunk faults stay as they are: a 267-chunk OTA would otherwise rarely get through
                Faults = new SimFaultSettings(f.UsbStall * scale, f.UsbTimeout * scale, f.UsbDisconnect * scale, f.I2cNack * scale, f.ButtonDead * scale,
                    Math.Min(0.5, f.Cloud5xx * scale), f.CloudDrop, f.CloudSlow, Math.Min(0.5, f.RelayStuck * scale), Math.Min(0.5, f.WornContact * scale),
                    Math.Min(0.5, f.BrownOut * scale), Math.Min(0.5, f.SensorId * scale)),
            },
        };
    }

    /// <param name="journal">The readbacks' region journal (screening's): a rig fault mid-readback puts the regions back from it.</param>
    internal static SoakPlan Plan(int cycles, int seed, int readbackEvery, RegionJournal? journal = null)
    {
        var recovery = SparkAppImageGenerator.Generate(seed, "recovery", "1.0.0");
        return new SoakPlan(cycles,
            (slot, cycle) =>
            {
                var image = SparkAppImageGenerator.Generate(seed * 100 + slot * 10 + cycle, "soak", $"1.0.{cycle}");
                return new SoakImage(image, SparkAppImageGenerator.ReadIdentity(image));
            },
            new RecoveryImages(recovery, "recovery 1.0.0", SparkAppImageGenerator.Tinker(seed)))
        {
            ReadbackEvery = readbackEvery,
            // a cold boot every other cycle: where a soak switches its relays, so a sticking contact meets the rig
            PowerCycleEvery = 2,
            Readback = new DfuReadbackOptions { Journal = journal },
        };
    }

    [Test]
    public void Every_injected_fault_ends_as_a_recovered_retry_or_a_rig_fault_and_only_the_bad_flash_Cores_fail()
    {
        // without the LEDs watched (for cost) no sensor chip id is read: the wrong sensor id is the bench test's below
        var chaos = ChaosConfig(scale: 4);
        var config = chaos with { Sim = chaos.Sim with { Faults = chaos.Sim.Faults with { SensorId = 0 } } };
        var folder = Directory.CreateTempSubdirectory("hilrig-chaos-journal-");
        SoakResult result;
        using var session = RigSession.Open(config, NoLeds);
        try
        {
            var journal = new RegionJournal(folder.FullName);
            result = session.RunAsync(() => new SoakRunner(session.Life, Plan(3, config.Sim.Seed, readbackEvery: 2, journal)).RunAsync(session.Select(null)))
                .GetAwaiter().GetResult();
            // a rig fault mid-readback is put back at once; only a Core whose put-back failed too (a worn slot's contact
            // letting go again) leaves its originals in the journal for `hilrig recover`, and leaves the run saying so
            foreach (var pending in journal.Pending())
            {
                var slot = result.Slots.Single(s => s.Slot == pending.Manifest.Slot);
                Assert.That(slot.OutAtCycle, Is.Not.Null, $"slot {slot.Slot} soaked on with its originals still in the journal");
                Assert.That(result.Rows.Last(r => r.Slot == slot.Slot).Signature, Does.Contain("journal keeps"), $"slot {slot.Slot}");
            }
        }
        finally
        {
            folder.Delete(recursive: true);
        }
        var ledger = session.Sim!.Faults.Ledger;
        var bad = new[] { 3, 6 };

        TestContext.Out.WriteLine($"{ledger.Count} faults injected: {string.Join(", ", ledger.GroupBy(f => f.Name).Select(g => $"{g.Key} {g.Count()}"))}");
        foreach (var row in result.Rows.Where(r => r.Verdict != Verdict.Pass))
            TestContext.Out.WriteLine($"slot {row.Slot} cycle {row.Cycle} {row.Test}: {row.Verdict.ToName()} {row.FailureMode}: {row.Signature}");

        // every kind of fault in the mix was injected at least once (relayStuck at the cold boots; brownOut mid-DFU: the
        // regions go back from the journal and the slot soaks on). The static rig faults (sim.weldedRelays, openRelays,
        // wrongSensorIds) are wiring, not dice.
        Assert.That(ledger.Select(f => f.Kind).Distinct().Order(),
            Is.EqualTo(Enum.GetValues<HilRig.Sim.Faults.FaultKind>().Where(k => config.Sim.Faults.Rate(k) > 0)));
        Assert.That(config.Sim.Faults.BrownOut, Is.GreaterThan(0), "brown-outs are in the mix");
        // a brown-out mid-readback is a rig fault whose regions were put back, and the Core soaks on
        Assert.That(result.Rows.Where(r => r.Test == SoakRunner.ReadbackTest && r.Verdict == Verdict.RigFault).Select(r => r.Signature),
            Has.Some.Contains("put back from the journal and verified"));

        // no healthy Core is failed
        var healthyFails = result.Rows.Where(r => !bad.Contains(r.Slot) && r.Verdict == Verdict.Fail).ToList();
        Assert.That(healthyFails.Select(r => $"slot {r.Slot} cycle {r.Cycle} {r.Test}: {r.FailureMode}: {r.Signature}"), Is.Empty);

        // the bad-flash Cores are confirmed: their failure comes back cycle after cycle, and every readback of them
        // that was judged finds the bad flash
        foreach (var slot in bad)
        {
            var fails = result.Rows.Where(r => r.Slot == slot && r.Verdict == Verdict.Fail).ToList();
            Assert.That(fails.Select(r => r.Cycle).Distinct().Count(), Is.GreaterThanOrEqualTo(2), $"slot {slot} failed cycles");
            Assert.That(fails.Where(r => r.Test == SoakRunner.ReadbackTest).Select(r => r.FailureMode), Is.All.EqualTo(FailureModes.BadExternalFlash), $"slot {slot}");
        }

        // every injected fault is accounted for, exactly: per kind the rig recorded as many retries (recovered, or given
        // up on in a rig-fault row) as the simulator injected, each in a stored row (a check the soak makes after a
        // failure is part of the failed step, so a slot's last row carries it too)
        var recorded = result.Rows.SelectMany(r => r.Retries).ToList();
        var byKind = recorded.GroupBy(r => r.Kind).ToDictionary(g => g.Key, g => g.Count());
        var injected = ledger.GroupBy(f => f.RigKind).ToDictionary(g => g.Key, g => g.Count());
        Assert.That(byKind, Is.EquivalentTo(injected));
        Assert.That(recorded, Has.Count.EqualTo(ledger.Count));
        // and per slot: a slot's rows carry the faults injected on its own lines, USB and cloud traffic (an I2C NACK
        // hits the expander the slots share: it is in the rows of whichever slot was driving it)
        foreach (var slot in result.Slots.Select(s => s.Slot))
            Assert.That(recorded.Count(r => r.Slot == slot && r.Kind != "i2c-nack"), Is.EqualTo(ledger.Count(f => f.Slot == slot)), $"slot {slot}");
        // a retry given up on is a rig-fault row; only a bad Core's failure stays a fail when the rig gave up in the check
        // that follows it (does the Core still run its app?), and that check's rig fault takes the slot out
        foreach (var row in result.Rows.Where(r => r.Retries.Any(x => x.GaveUp)))
        {
            if (bad.Contains(row.Slot) && row.Verdict == Verdict.Fail)
                Assert.That(row.Log, Has.Some.StartsWith("after the failure the rig could not ask the Core"), $"slot {row.Slot} cycle {row.Cycle} {row.Test}");
            else
                Assert.That(row.Verdict, Is.EqualTo(Verdict.RigFault), $"slot {row.Slot} cycle {row.Cycle} {row.Test} gave up on a retry: {row.Signature}");
        }
    }

    /// <summary>
    /// The chaos soak as `hilrig bench chaos` runs it, into a results store: a bad Core that fails cycle after cycle in its
    /// own slot stays unconfirmed (screening.confirm wants another slot, the rule screen applies), and is confirmed once it
    /// fails again in the slot it was moved to, where it arrives in DFU (its flash once factory-reset) and is known by
    /// its device id through the store's DFU serial link; no healthy Core ends with a confirmed failure; every row is
    /// stored. With the wrong sensor id in the mix the LEDs are watched, and every wrong id is accounted for too.
    /// </summary>
    [Test]
    public void The_bad_flash_Cores_are_confirmed_only_in_another_slot_and_nothing_is_lost()
    {
        // two cycles (a readback in the second): the bad Cores fail in their own slots all the same, and a wrong sensor
        // id one read in ten (0.04 at scale 4) puts that fault in the mix in two cycles as four did; the rest of the
        // run is the confirmation, whatever the cycles before it
        var chaos = ChaosConfig(scale: 4);
        var config = chaos with { Sim = chaos.Sim with { Faults = chaos.Sim.Faults with { SensorId = 0.1 } } };
        var folder = Directory.CreateTempSubdirectory("hilrig-chaos-test-");
        try
        {
            var outcome = HilRig.Cli.Bench.ChaosBench.RunChaosAsync(config, 2, 2, new HashSet<int> { 3, 6 }, Path.Combine(folder.FullName, "chaos.db"), CancellationToken.None)
                .GetAwaiter().GetResult();
            foreach (var d in outcome.Decisions)
                TestContext.Out.WriteLine($"slot {d.Slot} {d.DeviceId}: {d.Decision.Confirmation} (failed in {string.Join(", ", d.Decision.FailedSlots)})");
            foreach (var row in outcome.Confirm.Rows)
                TestContext.Out.WriteLine($"confirming: slot {row.Slot} {row.DeviceId} cycle {row.Cycle} {row.Test}: {row.Verdict.ToName()} {row.FailureMode}: {row.Signature}");

            Assert.That(outcome.Stored, Is.EqualTo(outcome.Rows.Count), "every judged row is in the store");
            Assert.That(outcome.Ledger.Count(f => f.Kind == FaultKind.SensorId), Is.GreaterThan(0), "wrong sensor ids were injected");
            // a NACK on a sensor's LED reading is the sampler's to ride out: left out, counted, in no row
            var recorded = outcome.Rows.SelectMany(r => r.Retries).GroupBy(r => r.Kind).ToDictionary(g => g.Key, g => g.Count());
            if (outcome.MissedReadings > 0) recorded["i2c-nack"] = recorded.GetValueOrDefault("i2c-nack") + (int)outcome.MissedReadings;
            Assert.That(recorded, Is.EquivalentTo(outcome.Ledger.GroupBy(f => f.RigKind).ToDictionary(g => g.Key, g => g.Count())), "the ledger balances over both runs");

            var bad = outcome.BadDevices.Values.ToHashSet();
            Assert.That(outcome.Rows.Where(r => !bad.Contains(r.DeviceId) && r.Verdict == Verdict.Fail).Select(r => $"slot {r.Slot} {r.Test}: {r.Signature}"), Is.Empty);
            foreach (var (slot, id) in outcome.BadDevices)
            {
                var decisions = outcome.Decisions.Where(d => d.Decision.DeviceId == id).ToList();
                Assert.That(decisions.Select(d => d.Decision.Confirmation), Is.EqualTo(new[] { HilRig.Core.Results.Confirmation.Unconfirmed, HilRig.Core.Results.Confirmation.Confirmed }),
                    $"bad Core of slot {slot}: unconfirmed after failing in its own slot, whatever the number of cycles; confirmed in slot {outcome.Moves[slot]}");
                Assert.That(decisions[^1].Decision.FailedSlots, Is.EquivalentTo(new[] { slot, outcome.Moves[slot] }));
            }
            Assert.That(outcome.Decisions.Where(d => !bad.Contains(d.Decision.DeviceId)).Select(d => d.Decision.Confirmation), Has.None.EqualTo(HilRig.Core.Results.Confirmation.Confirmed));
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }
}
