using HilRig.Cli.Station;
using HilRig.Core.Config;
using HilRig.Core.Procedures;
using HilRig.Core.Results;
using HilRig.Core.Station;
using HilRig.Sim.Fleet;

namespace HilRig.Tests.Station;

/// <summary>
/// Issue 17's defect found at the last stop: an empty slot beside a Core in its factory reset sees the neighbour's bright
/// light leak into its colour sensor. Light alone is no Core: the station screens a slot only on USB or serial evidence.
/// </summary>
[NonParallelizable]
public class StationCrosstalkTests
{
    [Test]
    public void An_empty_slot_beside_a_factory_resetting_neighbour_starts_no_screening_and_records_no_rig_fault()
    {
        using var shift = SimulatedShift.Open(cores: 4, lots: 1, badLots: 0, seed: 5, handling: 6, sixteen: false);
        var session = shift.Session;
        var sim = session.Sim!;
        if (sim.Slot(3).Occupied) sim.Remove(3);
        var neighbourId = shift.Line.Population.Devices().First().DeviceId;
        if (sim.Slot(2).Occupied) sim.Remove(2);
        sim.Insert(2, neighbourId, "lot-a", FlashCondition.Healthy);
        var health = () => shift.Store.SlotHealth(shift.Config.RigId, [3], new HealthThresholds()).Single();
        var before = health();

        using var recorder = ResultRecorder.Start(shift.Store, new RunInfo(shift.Config.RigId, shift.Config.Hash, shift.Config.Sim.Seed, "BL14", "station", DateTimeOffset.UtcNow),
            TimeProvider.System, new RecorderOptions { RigClockIsWall = false });
        var station = StationComposition.Build(session, [session.Slot(3)], shift.Store, recorder,
            new StationSetup { ReadbackOnly = true, Journal = shift.Journal, Backups = Path.Combine(shift.Folder, "backups") });
        var phases = new List<string>();
        station.Station.PhaseEntered += (slot, phase) => phases.Add(phase);
        var litInSlot3 = new HashSet<string>();

        var reset = session.RunAsync(async () =>
        {
            using var stop = new CancellationTokenSource();
            var running = station.Station.RunAsync(stop.Token);
            using var watching = new CancellationTokenSource();
            async Task Watch()
            {
                // what the empty slot's sensor makes of the neighbour's light
                while (!watching.IsCancellationRequested)
                {
                    if (session.Slot(3).Led?.Current is { } state && !Core.Led.LedState.Dark.Matches(state)) litInSlot3.Add(state.ToString());
                    await Task.Delay(TimeSpan.FromMilliseconds(200), session.Time);
                }
            }
            var watch = Watch();
            var neighbour = session.Slot(2);
            neighbour.Control.SetPower(true);
            await Task.Delay(Identify.AppStart + TimeSpan.FromSeconds(1), session.Time);
            var result = await new FactoryReset(session.Life).RunAsync(neighbour, neighbourId);
            await Task.Delay(TimeSpan.FromSeconds(15), session.Time);
            await watching.CancelAsync();
            await watch;
            await stop.CancelAsync();
            await running;
            return result;
        }).GetAwaiter().GetResult();
        recorder.Finish(RunStatus.Aborted);

        TestContext.Out.WriteLine($"neighbour: {reset}; slot 3 saw {string.Join(", ", litInSlot3)}; phases: {string.Join(", ", phases)}");
        Assert.That(reset.Verdict, Is.EqualTo(Verdict.Pass), "the neighbour went through its factory reset");
        Assert.That(litInSlot3, Is.Not.Empty, "the neighbour's light reached the empty slot's sensor: the test proves something");
        Assert.Multiple(() =>
        {
            Assert.That(phases, Has.None.EqualTo("identify"), "no screening started on light alone");
            Assert.That(shift.Store.GetResults().Where(r => r.Slot == 3).Select(r => $"{r.Test}: {r.Verdict} {r.FailureMode}"), Is.Empty, "nothing recorded for the empty slot");
            var after = health();
            Assert.That((after.State, after.RigFaultCount, after.Strikes), Is.EqualTo((before.State, before.RigFaultCount, before.Strikes)), "the slot's health is unchanged");
            Assert.That(station.Board.Snapshot().Tiles.Single().Phase, Is.Not.EqualTo(SlotPhase.Verdict));
        });
    }
}
