using HilRig.Core.Config;
using HilRig.Core.Procedures;
using HilRig.Core.Results;
using HilRig.Core.Spark;
using HilRig.Reports.Statistics;
using HilRig.Tests.Support;

namespace HilRig.Tests.Health;

/// <summary>
/// Issue 14.2 on both store engines: a DUT failure is unconfirmed until the device fails again in another slot; a pass
/// elsewhere points at the first slot; slot health (store step 9) from slot rig faults and unconfirmed failures on
/// different devices; first-pass and final yield.
/// </summary>
[TestFixture(StoreProvider.Sqlite)]
[TestFixture(StoreProvider.Postgres, Category = "Integration")]
public class SlotHealthStoreTests(StoreProvider provider)
{
    private const string Rig = "rig-h";
    private static readonly int[] RigSlots = [1, 2, 3, 4, 5, 6, 7, 8];
    private static readonly ScreeningPolicy Policy = new(new ConfirmPolicy(2, true), new HealthThresholds(1, 2));
    private StoreProviders _stores = null!;
    private TestStore _db = null!;
    private ResultsStore _store = null!;
    private StepClock _wall = null!;
    private Guid _run;

    /// <summary>A wall clock that moves one second per reading: attempts are ordered, and no test waits.</summary>
    private sealed class StepClock : TimeProvider
    {
        private DateTimeOffset _now = new(2026, 12, 3, 9, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => _now = _now.AddSeconds(1);
    }

    [OneTimeSetUp]
    public void CreateProvider() => _stores = new StoreProviders(provider, "health");

    [OneTimeTearDown]
    public void RemoveStores() => _stores.Dispose();

    [SetUp]
    public void FreshStore()
    {
        _db = _stores.Fresh();
        _store = _db.Open();
        _wall = new StepClock();
        _run = _store.StartRun(new RunInfo(Rig, "cafe", 1, "BL14", "screen", _wall.GetUtcNow()));
    }

    private static string Device(int n) => $"55ff0000000000000000{n:x4}";

    private StoredResult Row(string device, int slot, Verdict verdict, string? mode = null, string test = Screening.TestName)
    {
        var at = _wall.GetUtcNow();
        return _store.RecordResult(new ResultRecord(_run, device, slot, test, verdict, at, at.AddSeconds(20), FailureMode: mode));
    }

    private LedgerEntry Screen(ScreeningLedger ledger, string device, int slot, Verdict verdict, string? mode = null) =>
        ledger.Record(Row(device, slot, verdict, mode ?? (verdict == Verdict.Fail ? FailureModes.BadExternalFlash : null)), null, RigSlots);

    private SlotHealthState HealthOf(ScreeningLedger ledger, int slot) => ledger.Health([slot])[0].State;

    [Test]
    public void Step_9_keeps_old_results_and_adds_the_failure_kind_the_attempt_history_and_slot_health()
    {
        _db = _stores.Fresh();
        var at8 = _db.OpenAt(8);
        var run = at8.StartRun(new RunInfo(Rig, "cafe", 1, "BL14", "screen", DateTimeOffset.UnixEpoch));
        _db.Execute($"""
            INSERT INTO results (id, run_id, device_id, slot, test, cycle, attempt, verdict, failure_mode, started_at, ended_at)
            VALUES ('22222222-2222-2222-2222-222222222222', '{run:D}', '{Device(1)}', 3, 'dfu-readback', NULL, 1, 'rig-fault', 'sensor-fault',
                    '2025-01-01T00:00:00.0000000Z', '2025-01-01T00:01:00.0000000Z')
            """);

        var store = _db.Open();

        Assert.That(store.SchemaVersion, Is.GreaterThanOrEqualTo(9), "opening migrates through step 9 and any later step");
        var old = store.GetResults().Single();
        Assert.That(old.Kind, Is.EqualTo(FailureKind.Sensor), "a row from before step 9 reads as its verdict and failure mode carry");
        Assert.That(_db.Scalar("SELECT COUNT(*) FROM screen_attempts") + _db.Scalar("SELECT COUNT(*) FROM slot_health"), Is.Zero);
        var stored = store.RecordResult(new ResultRecord(run, Device(2), 4, Screening.TestName, Verdict.RigFault, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch,
            FailureMode: "relay-stuck", Kind: FailureKind.Relay));
        Assert.That(stored.Kind, Is.EqualTo(FailureKind.Relay));
        Assert.That(_db.Rows("SELECT failure_kind FROM results WHERE slot = 4").Single()[0], Is.EqualTo("relay"), "the kind given is stored, not inferred");
        Assert.That(store.GetResults().Single(r => r.Slot == 4).Kind, Is.EqualTo(FailureKind.Relay));
    }

    [Test]
    public void A_bad_Core_failing_in_two_slots_is_confirmed_and_its_failures_strike_neither_slot()
    {
        var ledger = new ScreeningLedger(_store, Rig, Policy, _wall);

        var first = Screen(ledger, Device(1), 3, Verdict.Fail);
        Assert.That(first.Decision.Confirmation, Is.EqualTo(Confirmation.Unconfirmed));
        Assert.That(first.Advice, Does.Contain($"device {Device(1)} failed in slot 3 (unconfirmed, 1 of 2 failing attempts): move it to slot 1"));
        Assert.That(HealthOf(ledger, 3), Is.EqualTo(SlotHealthState.Suspect), "an unconfirmed failure is a strike until confirmed");

        var second = Screen(ledger, Device(1), 5, Verdict.Fail);

        Assert.That(second.Decision.Confirmation, Is.EqualTo(Confirmation.Confirmed));
        Assert.That(second.Decision.FailedSlots, Is.EqualTo(new[] { 3, 5 }));
        Assert.That(second.Advice, Is.Null);
        Assert.That(_store.ScreenAttempts(Device(1)).Select(a => a.Confirmation), Is.EqualTo(new[] { Confirmation.Confirmed, Confirmation.Confirmed }), "the first attempt is confirmed with it");
        Assert.That(ledger.Health([3, 5]).Select(h => (h.State, h.Confirmed, h.Strikes)),
            Is.EqualTo(new[] { (SlotHealthState.Good, 1, 0), (SlotHealthState.Good, 1, 0) }), "a confirmed failure is the DUT's, not the slot's");
    }

    /// <summary>
    /// A bad-flash Core that failed under its device id and then, moved to another slot, arrives in DFU (a bad flash once
    /// factory-reset boots into DFU) is known there only by its DFU serial; and the reverse. Either way it is one device:
    /// the second failure confirms the first, with no link recorded by a command in between.
    /// </summary>
    [Test]
    public void A_Core_failing_under_its_device_id_and_then_under_its_DFU_serial_is_one_device_and_confirmed_in_either_order()
    {
        var ledger = new ScreeningLedger(_store, Rig, Policy, _wall);
        static string InDfu(string id) => $"dfu-{SparkIdentity.DfuSerial(id)}";

        Assert.That(Screen(ledger, Device(1), 3, Verdict.Fail).Decision.Confirmation, Is.EqualTo(Confirmation.Unconfirmed));
        var inDfu = Screen(ledger, InDfu(Device(1)), 5, Verdict.Fail);
        Assert.That((inDfu.Decision.Confirmation, inDfu.Decision.DeviceId), Is.EqualTo((Confirmation.Confirmed, Device(1))), "id first, then DFU serial");
        Assert.That(inDfu.Decision.FailedSlots, Is.EqualTo(new[] { 3, 5 }));

        var serialFirst = Screen(ledger, InDfu(Device(2)), 4, Verdict.Fail);
        Assert.That(serialFirst.Decision.Confirmation, Is.EqualTo(Confirmation.Unconfirmed));
        var byId = Screen(ledger, Device(2), 6, Verdict.Fail);
        Assert.That((byId.Decision.Confirmation, byId.Decision.DeviceId), Is.EqualTo((Confirmation.Confirmed, Device(2))), "DFU serial first, then id");
        Assert.That(_store.ScreenAttempts(Device(2)).Select(a => (a.Slot, a.Confirmation)), Is.EqualTo(new[] { (4, Confirmation.Confirmed), (6, Confirmation.Confirmed) }));

        // a healthy Core a slot failed once under its DFU serial passes elsewhere under its id: refuted, never confirmed
        Screen(ledger, InDfu(Device(3)), 7, Verdict.Fail);
        var passed = Screen(ledger, Device(3), 8, Verdict.Pass);
        Assert.That(passed.Decision.Refuted.Select(r => r.Slot), Is.EqualTo(new[] { 7 }), "the pass points at the first slot");
        // another Core's DFU serial is another device
        Screen(ledger, Device(4), 1, Verdict.Fail);
        Assert.That(Screen(ledger, InDfu(Device(5)), 2, Verdict.Fail).Decision.Confirmation, Is.EqualTo(Confirmation.Unconfirmed));
        Assert.That(_store.ScreenAttempts(Device(3)).Concat(_store.ScreenAttempts(Device(4))).Concat(_store.ScreenAttempts(Device(5))).Select(a => a.Confirmation),
            Has.None.EqualTo(Confirmation.Confirmed));
    }

    [Test]
    public void A_second_failure_in_the_same_slot_does_not_confirm_when_the_policy_changes_slot()
    {
        var ledger = new ScreeningLedger(_store, Rig, Policy, _wall);
        Screen(ledger, Device(1), 3, Verdict.Fail);

        var again = Screen(ledger, Device(1), 3, Verdict.Fail);

        Assert.That((again.Decision.Confirmation, again.Decision.Needed), Is.EqualTo((Confirmation.Unconfirmed, 1)));
        Assert.That(again.Advice, Does.Contain("move it to slot").And.Not.Contain("slot 3 and"));
        var sameSlot = new ScreeningLedger(_store, Rig, Policy with { Confirm = new ConfirmPolicy(2, ChangeSlot: false) }, _wall);
        Assert.That(Screen(sameSlot, Device(2), 4, Verdict.Fail).Decision.Confirmation, Is.EqualTo(Confirmation.Unconfirmed));
        Assert.That(Screen(sameSlot, Device(2), 4, Verdict.Fail).Decision.Confirmation, Is.EqualTo(Confirmation.Confirmed), "changeSlot: false counts attempts in one slot");
        var oneAttempt = new ScreeningLedger(_store, Rig, Policy with { Confirm = new ConfirmPolicy(1, true) }, _wall);
        Assert.That(Screen(oneAttempt, Device(3), 6, Verdict.Fail).Decision.Confirmation, Is.EqualTo(Confirmation.Confirmed), "attempts: 1 makes the first failure final");
    }

    [Test]
    public void Good_Cores_failed_by_a_worn_slot_pass_elsewhere_and_the_slot_goes_suspect_then_quarantined_until_a_golden_pass()
    {
        var ledger = new ScreeningLedger(_store, Rig, Policy, _wall);

        Screen(ledger, Device(1), 3, Verdict.Fail);
        var passed = Screen(ledger, Device(1), 5, Verdict.Pass);
        Assert.That(passed.Decision.Refuted.Select(r => r.Slot), Is.EqualTo(new[] { 3 }), "a pass elsewhere points at the first slot");
        Assert.That(passed.HealthChanges, Has.Some.Contains("that failure points at slot 3"));
        Assert.That(HealthOf(ledger, 3), Is.EqualTo(SlotHealthState.Suspect));
        Assert.That(HealthOf(ledger, 5), Is.EqualTo(SlotHealthState.Good));

        // the same device again in slot 3 is not a second strike: strikes count different devices
        Screen(ledger, Device(1), 3, Verdict.Fail);
        Assert.That(HealthOf(ledger, 3), Is.EqualTo(SlotHealthState.Suspect));

        var second = Screen(ledger, Device(2), 3, Verdict.Fail);
        Assert.That(second.HealthChanges, Has.Some.StartsWith("slot 3: suspect -> quarantined"));
        Assert.That(ledger.Usable(RigSlots).Usable, Does.Not.Contain(3), "a quarantined slot is not used");
        Assert.That(ScreeningLedger.KeptOutLine(ledger.Usable(RigSlots).KeptOut), Does.StartWith("slot 3 quarantined: not used"));

        // quarantine holds even when the failures are later confirmed elsewhere: only a health check returns it
        Screen(ledger, Device(2), 6, Verdict.Fail);
        Assert.That(HealthOf(ledger, 3), Is.EqualTo(SlotHealthState.Quarantined));

        ledger.Set(3, SlotHealthState.Good, "golden Core passed");
        var back = ledger.Health([3])[0];
        Assert.That((back.State, back.Strikes), Is.EqualTo((SlotHealthState.Good, 0)), "strikes before the golden pass no longer count");
        Assert.That(ledger.Usable(RigSlots).Usable, Does.Contain(3));
    }

    [Test]
    public void Rig_faults_of_the_slots_own_hardware_strike_it_by_kind_and_cloud_faults_and_empty_slots_do_not()
    {
        var ledger = new ScreeningLedger(_store, Rig, Policy, _wall);
        Screen(ledger, Device(1), 2, Verdict.RigFault, FailureModes.CloudError);
        Screen(ledger, "slot-2-unidentified", 2, Verdict.RigFault, FailureModes.SlotEmpty);
        Assert.That(HealthOf(ledger, 2), Is.EqualTo(SlotHealthState.Good), "the cloud and an empty slot are not the slot's fault");

        Screen(ledger, Device(2), 2, Verdict.RigFault, FailureModes.UsbTransport);
        // a soak's rig fault in the slot counts too
        Row(Device(3), 2, Verdict.RigFault, FailureModes.SensorFault, SoakRunner.OtaTest);
        var health = ledger.Health([2])[0];

        Assert.That(health.State, Is.EqualTo(SlotHealthState.Quarantined));
        Assert.That(health.RigFaults, Is.EquivalentTo(new Dictionary<FailureKind, int> { [FailureKind.Usb] = 1, [FailureKind.Sensor] = 1 }));
        Assert.That(health.Unconfirmed, Is.Zero, "rig faults are on their own, not mixed with DUT failures");
    }

    [Test]
    public void Maintenance_keeps_a_slot_out_until_the_operator_sets_it_good()
    {
        var ledger = new ScreeningLedger(_store, Rig, Policy, _wall);
        Assert.That(HealthOf(ledger, 4), Is.EqualTo(SlotHealthState.Unknown), "nothing judged yet");
        Screen(ledger, Device(1), 4, Verdict.Pass);
        Assert.That(HealthOf(ledger, 4), Is.EqualTo(SlotHealthState.Good));

        ledger.Set(4, SlotHealthState.Maintenance, "pogo pins replaced");
        Assert.That(ledger.Usable([4]).KeptOut.Single().Reason, Is.EqualTo("pogo pins replaced"));
        Screen(ledger, Device(2), 4, Verdict.Pass);
        Assert.That(HealthOf(ledger, 4), Is.EqualTo(SlotHealthState.Maintenance));

        ledger.Set(4, SlotHealthState.Good, "back in service");
        Assert.That(HealthOf(ledger, 4), Is.EqualTo(SlotHealthState.Good));
    }

    [Test]
    public void First_pass_yield_counts_first_attempts_and_final_yield_follows_the_confirmation_policy()
    {
        var ledger = new ScreeningLedger(_store, Rig, Policy, _wall);
        Screen(ledger, Device(1), 1, Verdict.Pass);                                              // first-pass
        Screen(ledger, Device(2), 3, Verdict.Fail); Screen(ledger, Device(2), 5, Verdict.Pass);  // refuted: final pass
        Screen(ledger, Device(3), 3, Verdict.Fail); Screen(ledger, Device(3), 6, Verdict.Fail);  // confirmed: final fail
        Screen(ledger, Device(4), 7, Verdict.Fail);                                              // pending
        Screen(ledger, Device(5), 8, Verdict.RigFault, FailureModes.UsbTransport);               // no verdict

        var yields = Yield.Screening(_store.ScreenAttemptsOfRig(Rig));

        Assert.That((yields.FirstPass.Passed, yields.FirstPass.Devices), Is.EqualTo((1, 4)));
        Assert.That((yields.Final.Passed, yields.Final.Devices, yields.Pending), Is.EqualTo((2, 3, 1)));
        var fromReports = _db.Queries().Lots().Yields;
        Assert.That(fromReports, Is.EqualTo(yields), "the lots report reads the same yields from the store");
        Assert.That(HilRig.Reports.Html.HtmlPages.YieldText(yields!), Does.StartWith("Screening yield: first-pass 25.0 % (1/4").And.Contain("final 66.7 % (2/3").And.Contain("1 device(s) wait"));
    }
}
