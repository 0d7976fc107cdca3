using HilRig.Composition;
using HilRig.Core.Config;
using HilRig.Core.Procedures;
using HilRig.Core.Slots;
using HilRig.Core.Spark;
using HilRig.Sim.Faults;

namespace HilRig.Tests.Sim;

/// <summary>
/// The rig faults of issue 14 the simulator injects from the config (a worn slot, a wrong colour sensor, a relay that
/// sticks): screening each ends as a rig fault of the right kind, never a verdict on the Core, and the Core's factory
/// image is as it was.
/// </summary>
public class RigFaultScreeningTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = Path.Combine(Path.GetTempPath(), "hilrig-tests", Guid.NewGuid().ToString("N"));

    [TearDown]
    public void TearDown()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private static RigConfig Config(string[] cores, params string[] simLines) => RigConfigLoader.Load(TestRigs.WriteConfig(cores, 42, "BL14", simLines));

    private ScreeningOptions Options() => new()
    {
        Readback = new DfuReadbackOptions { Journal = new RegionJournal(Path.Combine(_dir, "journal")), BackupDirectory = Path.Combine(_dir, "backups") },
    };

    private static SlotOutcome Screen(RigSession session, int slot, ScreeningOptions options) =>
        session.RunAsync(() => new Screening(session.Usb, session.Time, options).RunSlotAsync(session.Slot(slot))).GetAwaiter().GetResult();

    private static byte[] Regions(RigSession session, int slot) =>
        session.Sim!.Slot(slot).Core.Chip.SnapshotCells().AsSpan((int)SparkMemoryMap.FactoryImageAddress, 3 * SparkMemoryMap.ImageRegionSize).ToArray();

    private static string Describe(SlotOutcome o) => $"{o.Verdict.ToName()} {o.FailureMode}: {o.Signature}";

    [Test]
    public void A_worn_slot_loses_the_Core_mid_readback_a_usb_rig_fault_and_the_Core_is_put_back_whole()
    {
        var config = Config(TestRigs.DefaultCores(), "wornSlots: [3]", "faults: { wornContact: 0.002 }");
        using var session = RigSession.Open(config);
        var before = Regions(session, 3);

        // the contact fails at random: screen the worn slot until it has lost the Core after the originals were journaled
        var outcomes = new List<SlotOutcome>();
        for (var i = 0; i < 12 && !outcomes.Any(o => o.Signature.Contains("put back from the journal", StringComparison.Ordinal)); i++)
        {
            var worn = Screen(session, 3, Options());
            outcomes.Add(worn);
            TestContext.Out.WriteLine($"screen {i + 1}: {Describe(worn)}");
            Assert.That(worn.Verdict, Is.AnyOf(Verdict.Pass, Verdict.RigFault), Describe(worn));
            if (worn.Verdict == Verdict.RigFault)
                Assert.That(FailureKinds.Of(worn.Verdict, worn.FailureMode), Is.EqualTo(FailureKind.Usb), Describe(worn));
            SameBytes.AssertEqual(Regions(session, 3), before, $"screen {i + 1}: factory, backup and OTA regions as before");
        }
        var beside = Screen(session, 4, Options());

        Assert.That(outcomes.Select(o => o.Signature), Has.Some.Contains("put back from the journal and verified"));
        Assert.That(beside.Verdict, Is.EqualTo(Verdict.Pass), Describe(beside));
        var ledger = session.Sim!.Faults.Ledger;
        Assert.That(ledger.Where(f => f.Kind == FaultKind.WornContact).Select(f => f.Slot).Distinct(), Is.EqualTo(new int?[] { 3 }));
        Assert.That(ledger.Where(f => f.Kind == FaultKind.WornContact).Select(f => f.RigKind), Is.All.EqualTo("usb-disconnect"));
    }

    [Test]
    public void A_brown_out_mid_readback_is_never_a_verdict_on_the_Core_and_its_regions_are_put_back()
    {
        var config = Config(TestRigs.DefaultCores(), "faults: { brownOut: 0.001 }");
        using var session = RigSession.Open(config);
        var before = Regions(session, 2);

        var outcomes = new List<SlotOutcome>();
        for (var i = 0; i < 12 && !outcomes.Any(o => o.Signature.Contains("put back from the journal", StringComparison.Ordinal)); i++)
        {
            var outcome = Screen(session, 2, Options());
            outcomes.Add(outcome);
            TestContext.Out.WriteLine($"screen {i + 1}: {Describe(outcome)}");
            Assert.That(outcome.Verdict, Is.AnyOf(Verdict.Pass, Verdict.RigFault), Describe(outcome));
            if (outcome.Verdict == Verdict.RigFault)
                Assert.That(FailureKinds.Of(outcome.Verdict, outcome.FailureMode), Is.EqualTo(FailureKind.Usb), Describe(outcome));
            // a sag that strikes the put-back too leaves the originals in the journal: the next screen starts with them
            if (!outcome.Signature.Contains("the journal keeps its originals", StringComparison.Ordinal))
                SameBytes.AssertEqual(Regions(session, 2), before, $"screen {i + 1}: factory, backup and OTA regions as before");
        }

        Assert.That(outcomes.Select(o => o.Signature), Has.Some.Contains("put back from the journal and verified"));
        SameBytes.AssertEqual(Regions(session, 2), before, "factory, backup and OTA regions as before at the end");
        Assert.That(session.Sim!.Faults.Ledger.Where(f => f.Kind == FaultKind.BrownOut).Select(f => f.Slot).Distinct(), Is.EqualTo(new int?[] { 2 }));
        Assert.That(session.Sim.Slot(2).Core.History, Has.Some.Contains("power off"), "the brown-out reset the Core");
    }

    [Test]
    public void A_colour_sensor_with_the_wrong_chip_id_is_a_sensor_rig_fault_and_the_Core_is_not_touched()
    {
        var config = Config(TestRigs.DefaultCores(), "wrongSensorIds: [4]");
        using var session = RigSession.Open(config);
        var before = Regions(session, 4);

        var outcome = Screen(session, 4, Options());

        Assert.That((outcome.Verdict, FailureKinds.Of(outcome.Verdict, outcome.FailureMode)), Is.EqualTo((Verdict.RigFault, FailureKind.Sensor)), Describe(outcome));
        Assert.That(outcome.Signature, Does.Contain("0x60"));
        SameBytes.AssertEqual(Regions(session, 4), before);
        Assert.That(Screen(session, 5, Options()).Verdict, Is.EqualTo(Verdict.Pass), "the slot beside it has its own sensor");
    }

    [Test]
    public void A_hang_behind_a_welded_relay_is_a_relay_rig_fault_not_a_bad_flash_verdict()
    {
        var config = Config(TestRigs.DefaultCores((7, "{ dead: true }")), "weldedRelays: [7]");
        // without LED sampling: a welded relay keeps the Core lit through the dark calibration at open
        using var session = RigSession.Open(config, new RigSessionOptions { ObserveLeds = false, CalibrateAtOpen = false });

        var outcome = Screen(session, 7, Options());

        Assert.That((outcome.Verdict, outcome.FailureMode, FailureKinds.Of(outcome.Verdict, outcome.FailureMode)),
            Is.EqualTo((Verdict.RigFault, FailureModes.RelayFault, FailureKind.Relay)), Describe(outcome));
        Assert.That(outcome.Signature, Does.Contain("stuck closed"));
    }

    [Test]
    public void A_relay_contact_that_sticks_is_switched_again_and_every_stick_is_recorded()
    {
        var config = Config(TestRigs.DefaultCores(), "faults: { relayStuck: 0.5 }");
        using var session = RigSession.Open(config);
        var slot = session.Slot(2);
        var retries = session.RunAsync(async () =>
        {
            using var scope = RigRetries.Begin(2, session.Time);
            await PowerOnAsync();
            await Choreography.EnterDfuAsync(slot, session.Usb, session.Time);
            var outcomes = new List<string>();
            for (var i = 0; i < 6; i++)
            {
                try
                {
                    await RelaySwitch.CutAsync(slot, session.Usb, session.Time);
                    outcomes.Add(session.Sim!.Slot(2).Core.Powered ? "claimed a cut on a powered Core" : "cut");
                }
                catch (SlotLineException ex) when (ex.IsPower)
                {
                    outcomes.Add(session.Sim!.Slot(2).Core.Powered ? "relay fault" : "relay fault on an unpowered Core");
                }
                await PowerOnAsync();
                await Choreography.EnterDfuAsync(slot, session.Usb, session.Time);
            }
            Assert.That(outcomes, Is.All.AnyOf("cut", "relay fault"));
            return scope.All;

            // the rig does not check a switch on here: the test switches until the contact really closed
            async Task PowerOnAsync()
            {
                slot.Control.SetPower(true);
                while (!session.Sim!.Slot(2).RelayContact)
                {
                    slot.Control.SetPower(false);
                    slot.Control.SetPower(true);
                }
                await Task.Delay(TimeSpan.FromSeconds(2), session.Time);
            }
        }).GetAwaiter().GetResult();

        var offSticks = session.Sim!.Faults.Ledger.Count(f => f.Kind == FaultKind.RelayStuck && f.Operation.EndsWith(" off", StringComparison.Ordinal));
        Assert.That(offSticks, Is.GreaterThan(0));
        Assert.That(retries.Count(r => r.Kind == "relay-stuck"), Is.EqualTo(offSticks));
    }
}

/// <summary>`hilrig doctor` on a rig config whose simulator has a welded relay and a wrong colour sensor: both named in plain words.</summary>
[Category("Integration")]
public class RigFaultDoctorCommandTests
{
    [Test]
    public void Doctor_names_the_stuck_relay_and_the_wrong_sensor_id()
    {
        var path = TestRigs.WriteConfig(TestRigs.DefaultCores(), 42, "BL14", "weldedRelays: [2]", "wrongSensorIds: [4]");

        var (exit, output, error) = Cli.CliHarness.Run("doctor", "--config", path, "--slots", "2,4", "--format", "json");

        Assert.That(exit, Is.Not.EqualTo(0), output + error);
        using var doc = System.Text.Json.JsonDocument.Parse(output);
        var text = output;
        Assert.That(text, Does.Contain("slot 2 relay").And.Contain("welded contact"), text);
        Assert.That(text, Does.Contain("slot 4 sensor").And.Contain("answered ID 0x60; expected 0x44 (TCS34725) or 0x4D (TCS34727)"), text);
    }
}
