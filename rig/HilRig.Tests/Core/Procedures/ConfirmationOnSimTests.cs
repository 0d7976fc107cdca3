using HilRig.Cli.Commands;
using HilRig.Composition;
using HilRig.Core.Config;
using HilRig.Core.Procedures;
using HilRig.Core.Results;
using HilRig.Core.Slots;
using HilRig.Core.Spark;
using HilRig.Sim.Device;

namespace HilRig.Tests.Health;

/// <summary>
/// Issue 14.2 on the simulator: a bad-flash Core that fails in slot 3 is moved to slot 5 (SimRig.Remove/Insert) and
/// confirmed there; a dead chip that refuses its restore leaves no pending journal; a soak finds a Core stuck in DFU
/// as screening does and calls a slot empty only when nothing answers.
/// </summary>
public class ConfirmationOnSimTests
{
    private SimulatedScreening _screening = null!;

    [SetUp]
    public void SetUp() => _screening = new SimulatedScreening("confirm");

    [TearDown]
    public void TearDown() => _screening.Dispose();

    private SlotOutcome Screen(RigSession session, int slot) => SimulatedScreening.Screen(session, session.Slot(slot), _screening.Options());

    /// <summary>The operator pulls the Cores of <paramref name="from"/> and <paramref name="to"/> and puts the first in <paramref name="to"/>.</summary>
    private static void Move(RigSession session, int from, int to)
    {
        var sim = session.Sim!;
        session.RunAsync(() =>
        {
            var core = sim.Remove(from)!;
            sim.Remove(to);
            sim.Insert(to, core.DeviceId, core.Spec.Lot, core.Spec.Flash);
            return Task.CompletedTask;
        }).GetAwaiter().GetResult();
    }

    [Test]
    public void A_bad_flash_Core_failing_in_slot_3_is_moved_to_slot_5_and_confirmed_there()
    {
        using var session = RigSession.Open(TestRigs.Load(TestRigs.DefaultCores((3, "{ stuckBits: 12 }"))));
        var store = ResultsStore.Open(Path.Combine(_screening.Folder, "hilrig.db"));
        var wall = TimeProvider.System;
        using var recorder = ResultRecorder.Start(store, new RunInfo(session.Config.RigId, session.Config.Hash, 42, "BL14", "screen", wall.GetUtcNow()), wall);
        var ledger = new ScreeningLedger(store, session.Config.RigId, ScreeningPolicy.Default, wall);
        var slots = session.Config.Slots.Select(s => s.Number).ToList();
        var bad = session.Sim!.Slot(3).Core.DeviceId;
        LedgerEntry Judge(SlotOutcome outcome) => ledger.Record(recorder.Record(SlotFinding.From(outcome)).GetAwaiter().GetResult(), outcome.Evidence.DfuSerial, slots);

        var first = Screen(session, 3);
        Assert.That((first.Verdict, first.FailureMode, first.DeviceId), Is.EqualTo((Verdict.Fail, FailureModes.BadExternalFlash, bad)), first.Signature);
        var unconfirmed = Judge(first);
        Assert.That(unconfirmed.Decision.Confirmation, Is.EqualTo(Confirmation.Unconfirmed));
        Assert.That(unconfirmed.Advice, Does.Match($"device {bad} failed in slot 3 \\(unconfirmed, 1 of 2 failing attempts\\): move it to slot [1245678] and screen it there"));
        Assert.That(store.GetResults().Single().Kind, Is.EqualTo(FailureKind.Dut), "the stored row keeps its typed kind");

        Move(session, 3, 5);
        var second = Screen(session, 5);

        Assert.That((second.Verdict, second.DeviceId), Is.EqualTo((Verdict.Fail, bad)), "the same chip fails in the other slot");
        var confirmed = Judge(second);
        Assert.That(confirmed.Decision.Confirmation, Is.EqualTo(Confirmation.Confirmed));
        Assert.That(confirmed.Decision.FailedSlots, Is.EqualTo(new[] { 3, 5 }));
        Assert.That(store.ScreenAttempts(bad).Select(a => (a.Slot, a.Confirmation)), Is.EqualTo(new[] { (3, Confirmation.Confirmed), (5, Confirmation.Confirmed) }));
        Assert.That(ledger.Health([3, 5]).Select(h => h.State), Is.EqualTo(new[] { SlotHealthState.Good, SlotHealthState.Good }), "a confirmed DUT failure is not the slots' fault");
    }

    /// <summary>
    /// The chaos bench's confirmation on the soak path: a bad-flash Core fails in a soak in slot 3 (under its device id),
    /// changes places with slot 4's healthy Core and arrives there in DFU (a bad flash once factory-reset boots into DFU):
    /// its readback is the diagnosis, it is known by its device id through the store's DFU serial link, and that second
    /// failure in another slot confirms it. The healthy Core soaks on in slot 3 and is never confirmed failed.
    /// </summary>
    [Test]
    public void A_bad_Core_failing_in_a_soak_is_confirmed_in_the_slot_it_was_moved_to_where_it_arrives_in_DFU()
    {
        using var session = RigSession.Open(TestRigs.Load(TestRigs.DefaultCores((3, "{ stuckBits: 12 }"))), new RigSessionOptions { ObserveLeds = false, CalibrateAtOpen = false });
        var sim = session.Sim!;
        var store = ResultsStore.Open(Path.Combine(_screening.Folder, "hilrig.db"));
        var wall = TimeProvider.System;
        var ledger = new ScreeningLedger(store, session.Config.RigId, ScreeningPolicy.Default, wall);
        var slots = session.Config.Slots.Select(s => s.Number).ToList();
        var (bad, healthy) = (sim.Slot(3).Core.DeviceId, sim.Slot(4).Core.DeviceId);
        var plan = SoakCommand.PlanFor(session.Config, 2, 1, null) with { Links = new StoreDeviceLinks(store, wall) };
        // as `hilrig soak` does: every row stored, each slot's first failure recorded under screening.confirm
        (SoakResult Result, List<LedgerEntry> Entries) Soak(params int[] numbers)
        {
            using var recorder = ResultRecorder.Start(store, new RunInfo(session.Config.RigId, session.Config.Hash, 42, "BL14", "soak", wall.GetUtcNow()), wall);
            var result = session.RunAsync(() => new SoakRunner(session.Life, plan).RunAsync(numbers.Select(session.Slot))).GetAwaiter().GetResult();
            var stored = result.Rows.Select(r => (r, Task: recorder.Record(SlotFinding.From(r, null)))).ToList();
            recorder.Flush();
            var entries = stored.Where(s => s.r.Verdict == Verdict.Fail).GroupBy(s => s.r.Slot)
                .Select(g => ledger.Record(g.First().Task.GetAwaiter().GetResult(), null, slots)).ToList();
            return (result, entries);
        }

        var first = Soak(3, 4);
        Assert.That(first.Entries.Select(e => (e.DeviceId, e.Decision.Confirmation)), Is.EqualTo(new[] { (bad, Confirmation.Unconfirmed) }),
            string.Join("\n", first.Result.Rows.Select(r => $"slot {r.Slot} {r.Test}: {r.Verdict.ToName()} {r.Signature}")));

        // the bad Core no longer boots an app; the two Cores change places
        SimulatedScreening.EraseAppArea(session, 3);
        Assert.That(sim.Slot(3).Core.State, Is.EqualTo(CoreState.Dfu));
        session.RunAsync(() =>
        {
            var (a, b) = (sim.Remove(3)!, sim.Remove(4)!);
            sim.Insert(4, a.DeviceId, a.Spec.Lot, a.Spec.Flash);
            sim.Insert(3, b.DeviceId, b.Spec.Lot, b.Spec.Flash);
            return Task.CompletedTask;
        }).GetAwaiter().GetResult();
        var second = Soak(4, 3);

        var arrival = second.Result.Rows.First(r => r.Slot == 4);
        Assert.That((arrival.Test, arrival.Verdict, arrival.FailureMode), Is.EqualTo((SoakRunner.ReadbackTest, Verdict.Fail, FailureModes.BadExternalFlash)), arrival.Signature);
        Assert.That(arrival.Signature, Does.Contain("arrived"));
        Assert.That(arrival.DeviceId, Is.EqualTo(bad), "found in DFU, known by its device id through the store's link");
        var confirmed = second.Entries.Single();
        Assert.That((confirmed.Decision.DeviceId, confirmed.Decision.Confirmation), Is.EqualTo((bad, Confirmation.Confirmed)));
        Assert.That(confirmed.Decision.FailedSlots, Is.EqualTo(new[] { 3, 4 }));
        Assert.That(second.Result.Rows.Where(r => r.Slot == 3).Select(r => (r.DeviceId, r.Verdict)), Is.All.EqualTo((healthy, Verdict.Pass)), "the healthy Core soaks on in slot 3");
        Assert.That(store.ScreenAttempts(healthy), Is.Empty, "and has no failure to confirm");
    }

    [Test]
    public void A_dead_chip_that_refuses_its_restore_closes_its_journal_entry_with_its_fail_row()
    {
        using var session = RigSession.Open(TestRigs.Load(TestRigs.DefaultCores((7, "{ dead: true }"))));
        var core = session.Sim!.Slot(7).Core;

        var outcome = Screen(session, 7);

        Assert.That((outcome.Verdict, outcome.FailureMode), Is.EqualTo((Verdict.Fail, FailureModes.BadExternalFlash)), outcome.Signature);
        Assert.That(outcome.Signature, Does.Contain("BUSY stays set").And.Contain("the restore of factory was refused, its journal entry closed with this verdict"));
        Assert.That(_screening.Journal.Pending(), Is.Empty, "no pending entry: later commands neither warn nor retry it");
        Assert.That(Directory.GetFiles(_screening.Backups, $"{core.DeviceId}-factory-*"), Has.Length.EqualTo(1), "the original stays on disk in the backups");

        var again = Screen(session, 7);
        Assert.That(again.Evidence.Log, Has.None.Contains("restore from journal"), "the next screen does not retry a closed entry");
        Assert.That(again.Verdict, Is.EqualTo(Verdict.Fail));
    }

    [Test]
    public void A_soak_reads_back_and_identifies_a_Core_stuck_in_DFU_instead_of_calling_the_slot_empty()
    {
        using var session = RigSession.Open(TestRigs.Load(TestRigs.DefaultCores()));
        var core = session.Sim!.Slot(4).Core;
        var slot = session.Slot(4);
        SimulatedScreening.EraseAppArea(session, 4);
        Assert.That(core.State, Is.EqualTo(CoreState.Dfu));

        var plan = SoakCommand.PlanFor(session.Config, 1, 0, null);
        var result = session.RunAsync(() => new SoakRunner(session.Life, plan).RunAsync([slot])).GetAwaiter().GetResult();

        Assert.That(result.Rows.Select(r => r.FailureMode), Has.None.EqualTo(FailureModes.SlotEmpty));
        var readback = result.Rows.First();
        Assert.That((readback.Test, readback.Verdict), Is.EqualTo((SoakRunner.ReadbackTest, Verdict.Pass)), readback.Signature);
        Assert.That(readback.Signature, Does.Contain("already in DFU (flashing yellow)"));
        Assert.That(result.Slots.Single().DeviceId, Is.EqualTo(core.DeviceId), "identified once the known-good app runs");
        Assert.That(result.Slots.Single().OutReason, Is.Null, "and soaked on");
        Assert.That(result.Rows.Where(r => r.Test == SoakRunner.OtaTest).Select(r => r.DeviceId), Is.EqualTo(new[] { core.DeviceId }));
    }

    [Test]
    public void A_soak_calls_a_slot_empty_only_when_nothing_answers_and_names_what_was_checked()
    {
        using var session = RigSession.Open(TestRigs.Load(TestRigs.DefaultCores()));
        session.RunAsync(() =>
        {
            session.Sim!.Remove(6);
            return Task.CompletedTask;
        }).GetAwaiter().GetResult();

        var plan = SoakCommand.PlanFor(session.Config, 1, 0, null);
        var result = session.RunAsync(() => new SoakRunner(session.Life, plan).RunAsync([session.Slot(6)])).GetAwaiter().GetResult();

        var row = result.Rows.Single();
        Assert.That((row.Verdict, row.FailureMode), Is.EqualTo((Verdict.RigFault, FailureModes.SlotEmpty)));
        Assert.That(row.Signature, Does.StartWith("no Core in slot 6").And.Contain("nothing answers; checked: USB at").And.Contain("serial (no `i` answer)").And.Contain("DFU by MODE through RESET (none)"));
    }
}
