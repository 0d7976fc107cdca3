using HilRig.Cli.Station;
using HilRig.Core.Config;
using HilRig.Core.Procedures;
using HilRig.Core.Results;
using HilRig.Core.Station;

namespace HilRig.Tests.Station;

/// <summary>
/// The station's own switch on of a slot (issue 14): a Core the procedure left off (a hung chip) is switched back on by the
/// one rule before its verdict is shown; it was up before the cut, so a contact that does not close is the slot's relay
/// fault, on the tile, never a Core silently taken for pulled.
/// </summary>
[NonParallelizable]
public class StationRelayTests
{
    [Test]
    public void A_relay_stuck_open_when_a_hung_Core_is_switched_back_on_takes_the_slot_out_of_service_and_the_Cores_verdict_stands()
    {
        using var shift = SimulatedShift.Open(cores: 4, lots: 1, badLots: 0, seed: 5, handling: 6, sixteen: false);
        var session = shift.Session;
        var sim = session.Sim!;
        var deviceId = shift.Line.Population.Devices().First().DeviceId;
        if (sim.Slot(3).Occupied) sim.Remove(3);
        sim.Insert(3, deviceId, "lot-a", new FlashCondition.Dead());

        using var recorder = ResultRecorder.Start(shift.Store, new RunInfo(shift.Config.RigId, shift.Config.Hash, shift.Config.Sim.Seed, "BL14", "station", DateTimeOffset.UtcNow),
            TimeProvider.System, new RecorderOptions { RigClockIsWall = false });
        var station = StationComposition.Build(session, [session.Slot(3)], shift.Store, recorder,
            new StationSetup { ReadbackOnly = true, Journal = shift.Journal, Backups = Path.Combine(shift.Folder, "backups") });
        // once the screening has cut the hung Core for good, slot 3's contact stays open on every switch on
        var leftOff = false;
        station.Station.PhaseEntered += (_, phase) => leftOff |= phase.StartsWith("power off (flash hung again)", StringComparison.Ordinal);
        sim.Slot(3).RelaySticks = on => on && leftOff;

        var ended = session.RunAsync(async () =>
        {
            using var stop = new CancellationTokenSource();
            var running = station.Station.RunAsync(stop.Token);
            var done = await Task.WhenAny(running, Task.Delay(TimeSpan.FromMinutes(20), session.Time)) == running;
            await stop.CancelAsync();
            await running;
            return done;
        }).GetAwaiter().GetResult();
        recorder.Finish(RunStatus.Aborted);

        Assert.That(leftOff, Is.True, "the screening left the hung Core off: the test proves something");
        var tile = station.Board.Snapshot().Tiles.Single();
        TestContext.Out.WriteLine($"{tile.Phase}: {tile.Step} / {tile.Instruction}");
        Assert.Multiple(() =>
        {
            Assert.That(ended, Is.True, "the slot's loop ended on its own: no Core can be powered in it");
            Assert.That(tile.Phase, Is.EqualTo(SlotPhase.Stopped));
            Assert.That(tile.Step, Does.StartWith("rig fault: slot 3").And.Contain("does not close"));
            Assert.That(tile.Instruction, Does.Contain("out of service"));
            var final = shift.Store.GetResults(recorder.RunId).Where(r => r.Slot == 3 && r.Test == Screening.TestName).ToList();
            Assert.That(final.Select(r => (r.DeviceId, r.Verdict, r.FailureMode)), Is.EqualTo(new[] { (deviceId, Verdict.Fail, (string?)FailureModes.BadExternalFlash) }),
                "the Core's own verdict stands: it was judged before the relay stuck");
        });
    }
}
