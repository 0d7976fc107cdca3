using HilRig.Core.Spark;
using HilRig.Composition;
using HilRig.Core.Procedures;
using HilRig.Sim.Device;
using HilRig.Sim.Device.Firmware;

namespace HilRig.Tests.Life;

/// <summary>The seed's two loops (OTA, factory reset) on the simulated rig, judged by the rig alone (spark-core.md §6, §8, §9).</summary>
public class LifeLoopTests
{
    private static readonly byte[] NewApp = SparkAppImageGenerator.Generate(77, "blink", "2.0.0", 70_000);

    private static IReadOnlyList<SlotOutcome> ScreenWithLoops(RigSession session, string? slots = null) =>
        session.RunAsync(() => new Screening(session.Usb, session.Time, new ScreeningOptions
        {
            Cloud = session.Cloud,
            OtaImage = NewApp,
            OtaApp = "blink 2.0.0",
        }).RunAsync(session.Select(slots))).GetAwaiter().GetResult().OrderBy(o => o.Slot).ToList();

    private static string Report(IEnumerable<SlotOutcome> outcomes) => string.Join("\n", outcomes.Select(o =>
        $"slot {o.Slot} {o.Verdict.ToName()} {o.FailureMode} {o.DeviceTime.TotalSeconds:0.0} s: readback {o.Evidence.Readback?.DeviceTime.TotalSeconds:0.0} s; "
        + string.Join("; ", (o.Evidence.Loops ?? []).Select(l => l.ToString()))));

    [Test]
    public void Seed_replay_a_stuck_bit_Core_ends_both_loops_in_flashing_yellow_and_is_bad_external_flash_while_its_neighbours_pass()
    {
        using var session = RigSession.Open(TestRigs.Load(TestRigs.DefaultCores((5, "{ stuckBits: 2000 }"))));

        var outcomes = ScreenWithLoops(session);
        TestContext.Out.WriteLine(Report(outcomes));
        TestContext.Out.WriteLine(string.Join("\n", session.Sim!.Slot(5).Core.History));

        var bad = outcomes.Single(o => o.Slot == 5);
        Assert.That(bad.Verdict, Is.EqualTo(Verdict.Fail), Report([bad]));
        Assert.That(bad.FailureMode, Is.EqualTo(FailureModes.BadExternalFlash));
        Assert.That(bad.Evidence.Readback!.Verdict, Is.EqualTo(Verdict.Fail), "DFU readback finds the mismatch");
        var loops = bad.Evidence.Loops!.ToDictionary(l => l.Loop);
        Assert.That(loops["ota"].FailureMode, Is.EqualTo(FailureModes.StuckInDfu), loops["ota"].ToString());
        Assert.That(loops["factory-reset"].FailureMode, Is.EqualTo(FailureModes.StuckInDfu), loops["factory-reset"].ToString());
        var core = session.Sim!.Slot(5).Core;
        Assert.That(core.State, Is.EqualTo(CoreState.Dfu));
        Assert.That(core.Led.Current, Is.EqualTo(LedProgram.Flashing(SparkColors.Yellow, 100)), "the seed's symptom: flashing yellow");

        foreach (var good in outcomes.Where(o => o.Slot != 5))
        {
            Assert.That(good.Verdict, Is.EqualTo(Verdict.Pass), Report([good]));
            Assert.That(good.Evidence.Loops!.Select(l => l.Verdict), Is.All.EqualTo(Verdict.Pass));
            var goodCore = session.Sim.Slot(good.Slot).Core;
            Assert.That(goodCore.RunningApp, Does.StartWith("tinker"), "the factory reset put Tinker back after the OTA");
            Assert.That(session.Sim.Cloud.GetDevice(goodCore.DeviceId)!.Connected, Is.True, "back on the cloud, breathing cyan");
            Assert.That(goodCore.Led.Current, Is.EqualTo(LedProgram.Breathing(SparkColors.Cyan)));
        }
        Assert.That(outcomes.Where(o => o.Slot != 5).SelectMany(o => o.Evidence.Loops!).Where(l => l.Loop == "ota").Select(l => l.Signature),
            Is.All.StartsWith("now running blink 2.0.0"));
    }

    /// <summary>
    /// spark-core.md §6: a chunk the Core's OTA region will not take is read back wrong, its sector erased and asked for
    /// again (ChunkMissed), under the app's magenta; the Flasher gives up after 10 misses ("Update failed"), the Core
    /// sits in its update mode until the 30 s timeout resets it (flags unchanged) and it comes back on its old app. Its
    /// OTA region then reads back wrong over DFU: the Core's failure, ota-failed, after one transfer, not three runs to
    /// the 600 s transfer limit.
    /// </summary>
    [Test]
    public void With_the_verified_firmware_the_stuck_bit_Cores_OTA_fails_after_one_transfer_and_it_keeps_its_old_app()
    {
        var path = TestRigs.WriteConfig(TestRigs.DefaultCores((5, "{ stuckBits: 2000 }")));
        File.WriteAllText(path, File.ReadAllText(path).Replace("  bootloader: BL14\n", "  bootloader: BL14\n  firmware: verified\n", StringComparison.Ordinal));
        using var session = RigSession.Open(Core.Config.RigConfigLoader.Load(path));
        Assert.That(session.Config.Sim.Firmware, Is.EqualTo(Core.Config.SimFirmware.Verified));
        var slot = session.Slot(5);
        var core = session.Sim!.Slot(5).Core;

        var result = session.RunAsync(async () =>
        {
            var context = session.Life;
            var id = await slot.Identity.ReadDeviceIdAsync();
            return await new Ota(context).RunAsync(slot, id!, NewApp, "blink 2.0.0");
        }).GetAwaiter().GetResult();
        TestContext.Out.WriteLine(result);
        TestContext.Out.WriteLine(string.Join("\n", result.Log));
        TestContext.Out.WriteLine(string.Join("\n", core.History));

        Assert.That(result.Verdict, Is.EqualTo(Verdict.Fail), result.ToString());
        Assert.That(result.FailureMode, Is.EqualTo(FailureModes.OtaFailed));
        Assert.That(result.Signature, Does.Contain("the cloud failed the transfer").And.Contain($"missed {HilRig.Sim.Cloud.SimCloud.MaxMissedChunks} times")
            .And.Contain("old app tinker").And.Contain("reads back wrong over DFU"));
        // the cloud reported one failed update: the rig did not spend its retries on the Core's own flash
        var flashStatus = session.Sim.Cloud.Events(core.DeviceId).Where(e => e.Name == Core.Cloud.CloudEvent.FlashStatus).Select(e => e.Data).ToList();
        Assert.That(flashStatus.Count(d => d.StartsWith("failed", StringComparison.Ordinal)), Is.EqualTo(1), string.Join(", ", flashStatus));
        Assert.That(flashStatus, Has.None.StartsWith("success"));
        Assert.That(result.DeviceTime, Is.LessThan(HilRig.Sim.Cloud.SimCloud.TransferLimit), "the verdict comes before the transfer limit");
        Assert.That(core.RunningApp, Does.StartWith("tinker"), "the old app still runs");
        Assert.That(core.History, Has.Some.Contains("did not verify"));
        Assert.That(core.History, Has.Some.Contains($"no chunk for {HilRig.Sim.Device.App.TinkerApp.UpdateTimeout.TotalSeconds:0} s: reset (flags unchanged)"), "the app's OTA timeout reset it");
        Assert.That(core.History, Has.None.Contains("OtaApply"), "the bootloader never applied a broken image");
        // the LED: the app's magenta while chunks came, back to breathing cyan on the old app, never the bootloader's apply
        Assert.That(result.Timeline, Does.Contain("magenta").And.Contain("breathing cyan"));
        Assert.That(result.Timeline, Does.Not.Contain("fast flashing magenta"));
    }

    [Test]
    public void With_an_LED_observer_the_OTA_is_seen_as_magenta_then_fast_magenta_then_breathing_cyan()
    {
        using var session = RigSession.Open(TestRigs.Load(TestRigs.DefaultCores()));
        var core = session.Sim!.Slot(2).Core;
        using var stop = new CancellationTokenSource();
        var result = session.RunAsync(async () =>
        {
            var slot = session.Slot(2) with { Led = ProgramSlotLed.Watch(core.Led, session.Time, stop.Token) };
            var id = await slot.Identity.ReadDeviceIdAsync();
            var ota = await new Ota(session.Life).RunAsync(slot, id!, NewApp, "blink 2.0.0");
            await stop.CancelAsync();
            return ota;
        }).GetAwaiter().GetResult();
        TestContext.Out.WriteLine(result);
        TestContext.Out.WriteLine(string.Join("\n", result.Log));
        TestContext.Out.WriteLine(string.Join("\n", core.History));
        Assert.That(result.Verdict, Is.EqualTo(Verdict.Pass), result.ToString());
        Assert.That(result.Timeline, Does.Contain("fast flashing magenta").And.Contain("breathing cyan"));
    }

    [Test]
    public void A_lossy_cloud_link_only_makes_the_OTA_slower()
    {
        LoopResult Run(string cloud)
        {
            var path = TestRigs.WriteConfig(TestRigs.DefaultCores());
            File.AppendAllText(path, $"  cloud: {cloud}\n");
            using var session = RigSession.Open(Core.Config.RigConfigLoader.Load(path));
            var slot = session.Slot(1);
            return session.RunAsync(async () =>
            {
                var id = await slot.Identity.ReadDeviceIdAsync();
                return await new Ota(session.Life).RunAsync(slot, id!, NewApp, "blink 2.0.0");
            }).GetAwaiter().GetResult();
        }
        var clean = Run("{ latencyMs: 20, loss: 0 }");
        var lossy = Run("{ latencyMs: 20, loss: 0.05 }");
        TestContext.Out.WriteLine($"{clean}\n{lossy}");
        Assert.That(clean.Verdict, Is.EqualTo(Verdict.Pass), clean.ToString());
        Assert.That(lossy.Verdict, Is.EqualTo(Verdict.Pass), lossy.ToString());
        Assert.That(lossy.DeviceTime, Is.GreaterThan(clean.DeviceTime + TimeSpan.FromSeconds(2)), "lost messages are resent after 2 s each");
    }

    [Test]
    public void A_slow_chip_passes_every_loop_under_BL14_and_only_takes_longer()
    {
        using var session = RigSession.Open(TestRigs.Load(TestRigs.DefaultCores((3, "{ slow: 3 }"))));
        // the slow chip and a healthy neighbour to compare it with: the other six slots would only cost CPU
        var outcomes = ScreenWithLoops(session, "2-3").ToDictionary(o => o.Slot);
        TestContext.Out.WriteLine(Report(outcomes.Values));

        Assert.That(outcomes[3].Verdict, Is.EqualTo(Verdict.Pass), Report([outcomes[3]]));
        Assert.That(outcomes[3].Evidence.Loops!.Select(l => l.Verdict), Is.All.EqualTo(Verdict.Pass));
        Assert.That(outcomes[3].DeviceTime, Is.GreaterThan(outcomes[2].DeviceTime + TimeSpan.FromSeconds(5)), "the slow chip shows in device time");
        TimeSpan Loop(int slot, string name) => outcomes[slot].Evidence.Loops!.Single(l => l.Loop == name).DeviceTime;
        // the OTA erases and programs the external flash; the BL14 factory reset only reads it
        Assert.That(Loop(3, "ota"), Is.GreaterThan(Loop(2, "ota")));
    }
}
