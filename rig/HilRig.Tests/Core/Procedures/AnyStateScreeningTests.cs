using HilRig.Composition;
using HilRig.Core.Procedures;
using HilRig.Core.Results;
using HilRig.Core.Slots;
using HilRig.Core.Spark;
using HilRig.Sim.Device;
using HilRig.Sim.Device.Firmware;

namespace HilRig.Tests.Procedures;

/// <summary>Issue 14.1: whatever state a Core arrives in, screening finds out, says what it found and judges what it can.</summary>
public class AnyStateScreeningTests
{
    private SimulatedScreening _screening = null!;

    [SetUp]
    public void SetUp() => _screening = new SimulatedScreening("any-state");

    [TearDown]
    public void TearDown() => _screening.Dispose();

    /// <summary>The store's DFU serial links, as `hilrig screen` keeps them.</summary>
    private sealed class Links(ResultsStore store) : IDeviceLinks
    {
        public string? DeviceIdFor(string dfuSerial) => store.DeviceIdForDfuSerial(dfuSerial);

        public void Link(string dfuSerial, string deviceId) => store.LinkDfuSerial(dfuSerial, deviceId, DateTimeOffset.UnixEpoch);
    }

    private ScreeningOptions Options(RigSession session, IDeviceLinks? links, bool recoveryApp) =>
        _screening.Options(links, recoveryApp ? SparkAppImageGenerator.Tinker(session.Config.Sim.Seed) : null);

    [Test]
    public void Seed_replay_a_factory_reset_stuck_bit_Core_in_flashing_yellow_fails_bad_external_flash_keyed_by_its_device_id()
    {
        using var session = RigSession.Open(TestRigs.Load(TestRigs.DefaultCores((5, "{ stuckBits: 2000 }"))));
        var core = session.Sim!.Slot(5).Core;
        SimulatedScreening.FactoryReset(session, 5);
        Assert.That(core.State, Is.EqualTo(CoreState.Dfu), "the seed's symptom: " + string.Join("\n", core.History));
        Assert.That(core.Led.Current, Is.EqualTo(LedProgram.Flashing(SparkColors.Yellow, 100)));

        var outcome = SimulatedScreening.Screen(session, session.Slot(5), Options(session, links: null, recoveryApp: true));
        TestContext.Out.WriteLine(string.Join("\n", outcome.Evidence.Log));

        Assert.That(outcome.Verdict, Is.EqualTo(Verdict.Fail), outcome.Signature);
        Assert.That(outcome.FailureMode, Is.EqualTo(FailureModes.BadExternalFlash));
        var cells = core.Chip.StuckCells;
        var at0 = cells.Count(c => !c.StuckAtOne);
        Assert.That(outcome.Signature, Does.Contain($"{at0} stuck-at-0, {cells.Count - at0} stuck-at-1"), "the readback's signature");
        Assert.That(outcome.Signature, Does.Contain("flashing yellow"), "says what state it arrived in");
        Assert.That(outcome.DeviceId, Is.EqualTo(core.DeviceId), "keyed by its device id, once it runs an app again");
        Assert.That(outcome.Evidence.DfuSerial, Is.EqualTo(SparkIdentity.DfuSerial(core.DeviceId)));
        Assert.That(outcome.Evidence.Readback!.KeysUnchanged, Is.True);
        Assert.That(Directory.GetDirectories(_screening.JournalFolder), Is.Empty, "a finished screening leaves no journal behind");
    }

    [Test]
    public void A_Core_stuck_in_DFU_is_keyed_by_the_device_id_the_store_linked_to_its_DFU_serial()
    {
        using var session = RigSession.Open(TestRigs.Load(TestRigs.DefaultCores((5, "{ stuckBits: 2000 }"))));
        var store = ResultsStore.Open(Path.Combine(_screening.Folder, "hilrig.db"));
        var links = new Links(store);
        var core = session.Sim!.Slot(5).Core;

        var first = SimulatedScreening.Screen(session, session.Slot(5), Options(session, links, recoveryApp: false));
        Assert.That(first.DeviceId, Is.EqualTo(core.DeviceId), "identified over serial the first time");
        Assert.That(store.DeviceIdForDfuSerial(SparkIdentity.DfuSerial(core.DeviceId)), Is.EqualTo(core.DeviceId), "the store linked the two");

        SimulatedScreening.FactoryReset(session, 5);
        Assert.That(core.State, Is.EqualTo(CoreState.Dfu));
        var retest = SimulatedScreening.Screen(session, session.Slot(5), Options(session, links, recoveryApp: false));

        Assert.That(retest.Verdict, Is.EqualTo(Verdict.Fail), retest.Signature);
        Assert.That(retest.FailureMode, Is.EqualTo(FailureModes.BadExternalFlash));
        Assert.That(retest.DeviceId, Is.EqualTo(core.DeviceId), "known by the link although it cannot say `i`");
        Assert.That(retest.Signature, Does.Contain("falls back into DFU at every boot"));
    }

    [Test]
    public void A_healthy_Core_with_a_blank_app_area_arrives_in_DFU_gets_its_readback_and_passes_once_a_known_good_app_runs()
    {
        using var session = RigSession.Open(TestRigs.Load(TestRigs.DefaultCores()));
        var core = session.Sim!.Slot(3).Core;
        var slot = session.Slot(3);
        SimulatedScreening.EraseAppArea(session, 3);
        Assert.That(core.State, Is.EqualTo(CoreState.Dfu), string.Join("\n", core.History));

        var without = SimulatedScreening.Screen(session, slot, Options(session, links: null, recoveryApp: false));
        Assert.That((without.Verdict, without.FailureMode), Is.EqualTo((Verdict.Fail, FailureModes.StuckInDfu)), without.Signature);
        Assert.That(without.Signature, Does.Contain("reads back clean"));
        Assert.That(without.Evidence.Readback!.Verdict, Is.EqualTo(Verdict.Pass), "the diagnosis ran on a Core in DFU");
        Assert.That(without.Evidence.DfuSerial, Is.EqualTo(SparkIdentity.DfuSerial(core.DeviceId)), "identified by its DFU serial");

        var with = SimulatedScreening.Screen(session, slot, Options(session, links: null, recoveryApp: true));
        Assert.That(with.Verdict, Is.EqualTo(Verdict.Pass), with.Signature);
        Assert.That(with.DeviceId, Is.EqualTo(core.DeviceId));
        Assert.That(with.Signature, Does.Contain("known-good app"));
        Assert.That(core.State, Is.EqualTo(CoreState.App));
    }

    [Test]
    public void An_empty_slot_is_said_only_when_nothing_answers_and_names_what_was_checked()
    {
        using var session = RigSession.Open(TestRigs.Load(TestRigs.DefaultCores()));
        var real = session.Slot(6);
        // no Core on the pogo pins: the relay and buttons switch nothing, nothing is ever on the slot's USB port
        var sim = session.Sim!.Slot(6);
        RigSlot? empty = null;
        empty = real with { Control = new NothingConnected(), Identity = new SerialIdentity(session.Life, () => empty!) };
        session.RunAsync(() =>
        {
            sim.Hub.SetPortPower(sim.Config.Usb.Port, false);
            return Task.CompletedTask;
        }).GetAwaiter().GetResult();

        var outcome = SimulatedScreening.Screen(session, empty, Options(session, links: null, recoveryApp: false));

        Assert.That((outcome.Verdict, outcome.FailureMode), Is.EqualTo((Verdict.RigFault, FailureModes.SlotEmpty)), outcome.Signature);
        Assert.That(outcome.Signature, Does.StartWith("no Core in slot 6"));
        Assert.That(outcome.Signature, Does.Contain($"USB at {real.UsbPath} (nothing enumerated)").And.Contain("serial (no `i` answer)").And.Contain("DFU by MODE through RESET (none)"));
        Assert.That(outcome.Signature, Does.Contain(real.Led is null ? "LED not observed" : "LED dark after power-on"));
    }

    private sealed class NothingConnected : ISlotControl
    {
        public bool PowerOn { get; private set; }

        public void SetPower(bool on) => PowerOn = on;

        public void SetMode(bool pressed)
        {
        }

        public void SetReset(bool pressed)
        {
        }
    }
}
