using HilRig.Composition;
using HilRig.Core.Procedures;
using HilRig.Core.Spark;

namespace HilRig.Tests.EndToEnd;

/// <summary>The walking skeleton's promises: `hilrig screen`'s procedure on the simulated rig, judged by the flash model alone.</summary>
public class ScreeningTests
{
    private static IReadOnlyList<SlotOutcome> Screen(RigSession session) =>
        session.RunAsync(() => new Screening(session.Usb, session.Time).RunAsync(session.Slots)).GetAwaiter().GetResult()
            .OrderBy(o => o.Slot).ToList();

    private static byte[] FactoryRegion(RigSession session, int slot)
    {
        var cells = session.Sim!.Slot(slot).Core.Chip.SnapshotCells();
        return cells.AsSpan((int)SparkMemoryMap.FactoryImageAddress, SparkMemoryMap.ImageRegionSize).ToArray();
    }

    /// <summary>
    /// The default rig screened once for the tests that only read what it left: its outcomes, the factory images from
    /// before and after, and the Cores two seconds after the screening ended.
    /// </summary>
    private sealed record DefaultRigScreened(RigSession Session, IReadOnlyList<SlotOutcome> Outcomes, Dictionary<int, byte[]> FactoryBefore);

    private DefaultRigScreened _default = null!;

    [OneTimeSetUp]
    public void ScreenTheDefaultRig()
    {
        var session = RigSession.Open(TestRigs.Load(TestRigs.DefaultCores()));
        var before = session.Slots.ToDictionary(s => s.Number, s => FactoryRegion(session, s.Number));
        var outcomes = Screen(session);
        session.RunAsync(() => Task.Delay(TimeSpan.FromSeconds(2), session.Time)).GetAwaiter().GetResult();
        _default = new DefaultRigScreened(session, outcomes, before);
    }

    [OneTimeTearDown]
    public void CloseTheDefaultRig() => _default?.Session.Dispose();

    [Test]
    public void Default_rig_passes_all_eight_Cores_and_leaves_every_factory_image_byte_identical()
    {
        var (session, outcomes, before) = _default;

        Assert.That(outcomes, Has.Count.EqualTo(8));
        Assert.That(outcomes.Select(o => o.Verdict), Is.All.EqualTo(Verdict.Pass), string.Join("\n", outcomes.Select(o => $"{o.Slot}: {o.Signature}")));
        foreach (var o in outcomes)
        {
            SameBytes.AssertEqual(FactoryRegion(session, o.Slot), before[o.Slot], $"slot {o.Slot} factory image changed");
            Assert.That(o.Evidence.Readback!.Regions.Select(r => r.RestoreVerified), Is.All.True);
            Assert.That(o.DeviceId, Is.EqualTo(session.Sim!.Slot(o.Slot).Core.DeviceId));
            Assert.That(o.Evidence.DfuSerial, Is.EqualTo(SparkIdentity.DfuSerial(o.DeviceId!)));
        }
    }

    [Test]
    public void Screening_leaves_the_Cores_running_their_app_again()
    {
        var session = _default.Session;
        Assert.That(session.Sim!.Slots.Select(s => s.Core.State), Is.All.EqualTo(HilRig.Sim.Device.CoreState.App));
        Assert.That(session.Usb.GetDevices().Where(d => d.Descriptor.ProductId == SparkUsb.DfuProductId), Is.Empty);
    }

    [Test]
    public void Bad_chips_fail_with_their_signature_and_the_healthy_slots_beside_them_pass()
    {
        var config = TestRigs.Load(TestRigs.DefaultCores((3, "{ stuckBits: 12 }"), (5, "{ badSectors: 2 }"), (7, "{ dead: true }")));
        using var session = RigSession.Open(config);
        var outcomes = Screen(session).ToDictionary(o => o.Slot);

        var stuck = outcomes[3];
        Assert.That(stuck.Verdict, Is.EqualTo(Verdict.Fail));
        Assert.That(stuck.FailureMode, Is.EqualTo(FailureModes.BadExternalFlash));
        var cells = session.Sim!.Slot(3).Core.Chip.StuckCells;
        var at0 = cells.Count(c => !c.StuckAtOne);
        Assert.That(stuck.Signature, Does.Contain($"{at0} stuck-at-0, {cells.Count - at0} stuck-at-1"));
        Assert.That(stuck.Evidence.Readback!.BitErrors.ErrorBits, Is.GreaterThanOrEqualTo(12));

        var erase = outcomes[5];
        Assert.That(erase.Verdict, Is.EqualTo(Verdict.Fail));
        Assert.That(erase.FailureMode, Is.EqualTo(FailureModes.BadExternalFlash));
        foreach (var sector in session.Sim.Slot(5).Core.Chip.BadSectorAddresses)
            Assert.That(erase.Signature, Does.Contain($"0x{sector:X6}"), "the sectors that do not erase are named");
        Assert.That(erase.Signature, Does.Contain("erase failure in 2 sector(s)"));

        var dead = outcomes[7];
        Assert.That(dead.Verdict, Is.EqualTo(Verdict.Fail));
        Assert.That(dead.FailureMode, Is.EqualTo(FailureModes.BadExternalFlash));
        Assert.That(dead.Signature, Does.Contain("dead or hung chip"));
        Assert.That(session.Sim.Slot(7).Core.State, Is.EqualTo(HilRig.Sim.Device.CoreState.Off), "a hung Core is left powered off, not hung in DFU");

        foreach (var slot in new[] { 1, 2, 4, 6, 8 })
            Assert.That(outcomes[slot].Verdict, Is.EqualTo(Verdict.Pass), $"slot {slot}: {outcomes[slot].Signature}");
    }

    [Test]
    public void A_slow_chip_passes_but_takes_longer_in_device_time()
    {
        using var session = RigSession.Open(TestRigs.Load(TestRigs.DefaultCores((8, "{ slow: 3 }"))));
        var outcomes = Screen(session).ToDictionary(o => o.Slot);
        Assert.That(outcomes[8].Verdict, Is.EqualTo(Verdict.Pass), outcomes[8].Signature);
        Assert.That(outcomes[8].DeviceTime, Is.GreaterThan(outcomes[1].DeviceTime * 1.5));
    }

    [Test]
    public void The_same_seed_gives_the_same_outcomes_and_device_times()
    {
        string Run()
        {
            using var session = RigSession.Open(TestRigs.Load(TestRigs.DefaultCores((2, "{ stuckBits: 40 }"), (6, "{ badSectors: 1 }"))));
            return string.Join("\n", Screen(session).Select(o => $"{o.Slot} {o.DeviceId} {o.Verdict} {o.Signature} {o.DeviceTime.Ticks}"));
        }
        var first = Run();
        var second = Run();
        Assert.That(second, Is.EqualTo(first));
    }

    [Test]
    public void Unplugged_USB_is_a_rig_fault_for_that_slot_only()
    {
        using var session = RigSession.Open(TestRigs.Load(TestRigs.DefaultCores()));
        var sim = session.Sim!;
        sim.Scheduler.Run(() => { sim.Slot(4).Hub.SetPortPower(sim.Slot(4).Config.Usb.Port, false); return Task.CompletedTask; });
        var outcomes = Screen(session).ToDictionary(o => o.Slot);
        Assert.That(outcomes[4].Verdict, Is.EqualTo(Verdict.RigFault));
        Assert.That(outcomes[4].Signature, Does.Contain("1-1.4"));
        Assert.That(outcomes.Values.Where(o => o.Slot != 4).Select(o => o.Verdict), Is.All.EqualTo(Verdict.Pass));
    }
}
