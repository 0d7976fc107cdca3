using HilRig.Composition;
using HilRig.Core.Config;
using HilRig.Core.Procedures;
using HilRig.Core.Slots;
using HilRig.Core.Spark;
using HilRig.Sim.Device;
using HilRig.Sim.Device.Bootloader;
using HilRig.Sim.Device.Firmware;

namespace HilRig.Tests.Procedures;

/// <summary>The soak engine and its DFU procedures on the simulated rig, below the CLI.</summary>
public class SoakRunnerTests
{
    private static readonly RigSessionOptions NoLeds = new() { ObserveLeds = false, CalibrateAtOpen = false };

    /// <summary>Reports as they are raised, on the simulation thread (Progress&lt;T&gt; would post them elsewhere).</summary>
    private sealed class Recorder : IProgress<SoakProgress>
    {
        public List<SoakProgress> Seen { get; } = [];

        public void Report(SoakProgress value)
        {
            lock (Seen) Seen.Add(value);
        }

        public List<SoakProgress> SeenSnapshot()
        {
            lock (Seen) return [.. Seen];
        }
    }

    private static SoakPlan Plan(int cycles, int seed = 42)
    {
        var recovery = SparkAppImageGenerator.Generate(seed, "recovery", "1.0.0");
        return new SoakPlan(cycles,
            (slot, cycle) =>
            {
                var image = SparkAppImageGenerator.Generate(seed * 100 + slot * 10 + cycle, "soak", $"1.0.{cycle}");
                return new SoakImage(image, SparkAppImageGenerator.ReadIdentity(image));
            },
            new RecoveryImages(recovery, "recovery 1.0.0", SparkAppImageGenerator.Tinker(seed)));
    }

    private static byte[] BootloaderPages(RigSession session, int slot) =>
        session.Sim!.Slot(slot).Core.InternalFlash.View(SparkMemoryMap.BootloaderAddress, SparkMemoryMap.BootloaderMaxSize).ToArray();

    /// <summary>
    /// A soak started the moment a slot is switched on (a Core dropped into a powered slot, or the rig's previous run just
    /// ended) meets a Core still in its bootloader: the first identify waits that out instead of pressing MODE into it
    /// (which the bootloader takes for DFU), so a healthy Core is identified by its device id and never called stuck in
    /// DFU; a Core that really is in DFU at every boot (its app area blank) is still found there, at once.
    /// </summary>
    [Test]
    public void A_soak_started_at_power_on_waits_out_the_boot_and_still_finds_a_Core_stuck_in_DFU()
    {
        using var session = RigSession.Open(TestRigs.Load(TestRigs.DefaultCores()), NoLeds);
        var healthy = session.Slot(1);
        var stuck = session.Slot(2);
        var (result, seenInDfuAfter) = session.RunAsync(async () =>
        {
            // slot 2's app area erased (a flashing the line interrupted): its bootloader stays in DFU at every boot
            await Choreography.EnterDfuAsync(stuck, session.Usb, session.Time);
            using (var dfu = await Core.Dfu.DfuSeHost.OpenAsync(session.Usb, stuck.UsbPath, session.Time))
            {
                await dfu.SelectAltAsync(0);
                await dfu.EraseAsync(SparkMemoryMap.AppAddress, SparkMemoryMap.AppMaxSize);
            }
            await RelaySwitch.CutAsync(stuck, session.Usb, session.Time);
            await Task.Delay(TimeSpan.FromSeconds(1), session.Time);
            // both slots switched on, the soak starts on them at once
            healthy.Control.SetPower(true);
            stuck.Control.SetPower(true);
            var start = session.Time.GetTimestamp();
            var progress = new Recorder();
            var soak = await new SoakRunner(session.Life, Plan(1)).RunAsync([healthy, stuck], progress);
            var found = progress.SeenSnapshot().First(p => p.Slot == 2 && p.Step == SoakRunner.ReadbackTest && p.Phase == SoakPhase.Started);
            return (soak, found.DeviceTime);
        }).GetAwaiter().GetResult();
        foreach (var row in result.Rows) TestContext.Out.WriteLine($"slot {row.Slot} cycle {row.Cycle} {row.Test}: {row.Verdict.ToName()} {row.FailureMode}: {row.Signature}");

        var id = session.Sim!.Slot(1).Core.DeviceId;
        var rows = result.Rows.Where(r => r.Slot == 1).ToList();
        Assert.That(rows.Select(r => $"{r.Test} {r.Verdict.ToName()}"), Is.EqualTo(new[] { "ota pass", "factory-reset pass" }), "identified over serial, soaked, no readback of a Core found in DFU");
        Assert.That(rows.Select(r => r.DeviceId), Is.All.EqualTo(id));
        Assert.That(rows.Select(r => r.Signature), Has.None.Contains("DFU"));

        var arrived = result.Rows.First(r => r.Slot == 2);
        Assert.That((arrived.Test, arrived.Cycle), Is.EqualTo((SoakRunner.ReadbackTest, 0)), "the Core in DFU gets its readback before cycle 1");
        Assert.That(arrived.Signature, Does.Contain("arrived already in DFU (flashing yellow) after power-on"));
        Assert.That(seenInDfuAfter, Is.LessThan(SoakRunner.BootWithin), "a Core on USB in DFU shows itself: no boot is waited out");
    }

    [Test]
    public void Progress_is_raised_at_each_step_start_and_end_with_cycle_failures_recoveries_and_device_time()
    {
        using var session = RigSession.Open(TestRigs.Load(TestRigs.DefaultCores((2, "{ slow: 3 }")), bootloader: "candidate"), NoLeds);
        var progress = new Recorder();
        var result = session.RunAsync(() => new SoakRunner(session.Life, Plan(2) with { ReadbackEvery = 2 }).RunAsync(session.Select("1-2"), progress))
            .GetAwaiter().GetResult();

        foreach (var slot in new[] { 1, 2 })
        {
            var seen = progress.Seen.Where(p => p.Slot == slot).ToList();
            string[] steps = ["identify", .. result.Rows.Where(r => r.Slot == slot).Select(r => r.Test)];
            Assert.That(seen.Where(p => p.Phase == SoakPhase.Started && p.Step != "check app").Select(p => p.Step), Is.EqualTo(steps));
            Assert.That(seen.Where(p => p.Phase == SoakPhase.Ended && p.Step is not ("check app" or "done")).Select(p => p.Step), Is.EqualTo(steps));
            Assert.That(seen.Select(p => p.DeviceTime), Is.Ordered, "device time since the slot started");
            Assert.That(seen.Select(p => p.Cycles), Is.All.EqualTo(2));
            var last = seen[^1];
            Assert.That((last.Step, last.Done, last.Cycle), Is.EqualTo(("done", true, 2)));
            Assert.That(seen.Count(p => p.Done), Is.EqualTo(1));
        }
        var healthy = progress.Seen.Last(p => p.Slot == 1);
        var slow = progress.Seen.Last(p => p.Slot == 2);
        Assert.That((healthy.Failures, healthy.Recoveries), Is.EqualTo((0, 0)));
        Assert.That((slow.Failures, slow.Recoveries), Is.EqualTo((2, 2)), "the candidate fails each of the slow Core's factory resets; recovered each time");
        var firstFailure = progress.Seen.First(p => p.Slot == 2 && p.Verdict == Verdict.Fail);
        Assert.That((firstFailure.Step, firstFailure.Cycle, firstFailure.Failures), Is.EqualTo(("factory-reset", 1, 1)), "counted in the report that ends the failing step");
        Assert.That(result.Rows.Where(r => r.Slot == 1).Select(r => r.Test), Is.EqualTo(new[] { "ota", "factory-reset", "ota", "factory-reset", "dfu-readback" }));
        Assert.That(result.Slots.Single(s => s.Slot == 2), Is.EqualTo(new SoakSlotResult(2, session.Sim!.Slot(2).Core.DeviceId, 2, 2, 2, null, null)));
        Assert.That((result.Cycles, result.Failures), Is.EqualTo((4L, 2)));
        // a listener can store every row as its step ends: the reports carry exactly the result's rows, in order
        Assert.That(progress.Seen.Where(p => p.Row is not null).Select(p => p.Row!), Is.EquivalentTo(result.Rows));
        foreach (var slot in new[] { 1, 2 })
            Assert.That(progress.Seen.Where(p => p.Slot == slot && p.Row is not null).Select(p => p.Row!), Is.EqualTo(result.Rows.Where(r => r.Slot == slot)));
        Assert.That(progress.Seen.Where(p => p.Slot == 2 && p.Step != "identify").Select(p => p.DeviceId), Is.All.EqualTo(session.Sim!.Slot(2).Core.DeviceId));
    }

    [Test]
    public void A_cancelled_soak_stops_and_throws_with_the_rows_it_reported_so_far()
    {
        using var session = RigSession.Open(TestRigs.Load(TestRigs.DefaultCores()), NoLeds);
        var progress = new Recorder();
        using var cancel = new CancellationTokenSource();
        var soak = session.RunAsync(() => new SoakRunner(session.Life, Plan(1000)).RunAsync(session.Select("1-2"), progress, cancel.Token));
        // stop once a few cycles are in: the soak must not run on to its thousandth cycle
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!progress.SeenSnapshot().Any(p => p.Row is { Cycle: >= 3 }) && DateTime.UtcNow < deadline) Thread.Sleep(10);
        cancel.Cancel();
        Assert.That(() => soak.GetAwaiter().GetResult(), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(progress.SeenSnapshot().Where(p => p.Row is not null).Max(p => p.Row!.Cycle), Is.InRange(3, 6));
        foreach (var slot in new[] { 1, 2 })
        {
            var last = progress.SeenSnapshot().Last(p => p.Slot == slot);
            Assert.That((last.Step, last.Done), Is.EqualTo(("stopped", true)));
            Assert.That(last.Cycle, Is.LessThan(1000), "where it stopped, not its planned end");
        }
    }

    [Test]
    public void Sixteen_slots_soak_side_by_side_on_the_virtual_clock()
    {
        var config = RigConfigLoader.Load(Path.Combine(TestRigs.RepoRoot, "examples", "soak-16-rig.yaml"));
        using var session = RigSession.Open(config, NoLeds);
        var slots = session.Select(null);
        Assert.That(slots, Has.Count.EqualTo(16));
        var before = session.Sim!.Scheduler.Time.Elapsed;
        var result = session.RunAsync(() => new SoakRunner(session.Life, Plan(1)).RunAsync(slots)).GetAwaiter().GetResult();
        var elapsed = session.Sim.Scheduler.Time.Elapsed - before;

        Assert.That(result.Rows.Select(r => (r.Slot, r.Test, r.Verdict)), Is.EquivalentTo(
            Enumerable.Range(1, 16).SelectMany(n => new[] { (n, "ota", Verdict.Pass), (n, "factory-reset", Verdict.Pass) })));
        // every slot busy at once: the clock advances about one slot's soak, not the sum of sixteen
        var longestSlot = result.Rows.GroupBy(r => r.Slot).Max(g => g.Sum(r => r.DeviceTime.Ticks));
        var summed = result.Rows.Sum(r => r.DeviceTime.Ticks);
        Assert.That(elapsed.Ticks, Is.LessThan(longestSlot * 2), $"virtual clock advanced {elapsed}; longest slot {TimeSpan.FromTicks(longestSlot)}");
        Assert.That(summed, Is.GreaterThan(elapsed.Ticks * 10), "sixteen slots' device time fits in the clock's advance");
    }

    [Test]
    public void A_write_protected_Core_keeps_its_bootloader_byte_for_byte_and_the_slot_is_a_rig_fault()
    {
        using var session = RigSession.Open(TestRigs.Load(TestRigs.DefaultCores()), NoLeds);
        var core = session.Sim!.Slot(4).Core;
        var before = BootloaderPages(session, 4);
        var image = SparkBootloaderImage.Generate(BootloaderBuild.Candidate(SimCandidateConfig.Default), seed: 9);

        var result = session.RunAsync(() => new BootloaderFlash(session.Life).RunAsync(session.Slot(4), core.DeviceId, image)).GetAwaiter().GetResult();

        Assert.That(result.Verdict, Is.EqualTo(Verdict.RigFault), result.ToString());
        Assert.That(result.FailureMode, Is.EqualTo(FailureModes.BootloaderProtected));
        SameBytes.AssertEqual(BootloaderPages(session, 4), before, "no page changed: not the protected ones, not 16-18");
        Assert.That(core.InternalFlash.WriteProtectionError, Is.True, "the flash controller refused; the DFU status said OK");
        session.RunAsync(async () =>
        {
            session.Slot(4).Control.SetPower(false);
            await Task.Delay(TimeSpan.FromSeconds(1), session.Time);
            session.Slot(4).Control.SetPower(true);
            await Task.Delay(TimeSpan.FromSeconds(3), session.Time);
        }).GetAwaiter().GetResult();
        Assert.That(core.Bootloader, Is.EqualTo(BootloaderBuild.BL14));
        Assert.That(core.State, Is.EqualTo(CoreState.App));
    }

    [Test]
    public void An_unlocked_Core_takes_the_image_reads_it_back_and_runs_the_new_build_from_its_next_reset()
    {
        using var session = RigSession.Open(TestRigs.Load(TestRigs.DefaultCores((4, "healthy, bootloaderProtected: false"))), NoLeds);
        var core = session.Sim!.Slot(4).Core;
        var build = BootloaderBuild.Candidate(new SimCandidateConfig(12, false));
        var image = SparkBootloaderImage.Generate(build, seed: 9);

        var result = session.RunAsync(() => new BootloaderFlash(session.Life).RunAsync(session.Slot(4), core.DeviceId, image)).GetAwaiter().GetResult();

        Assert.That(result.Verdict, Is.EqualTo(Verdict.Pass), result.ToString());
        Assert.That(result.Log, Has.Some.Contains("pages 0-15 are not write-protected").And.Some.Contains("read back"));
        SameBytes.AssertEqual(BootloaderPages(session, 4).AsSpan(0, image.Length), image);
        Assert.That(core.Bootloader, Is.EqualTo(build));
        Assert.That(core.State, Is.EqualTo(CoreState.App));
    }
}
