using HilRig.Cli.Bench;
using CoreStation = HilRig.Core.Station.Station;

namespace HilRig.Tests.Station;

/// <summary>
/// `hilrig bench station`'s Cores per hour: the slots' own cycles while the line is fed, held against a floor that is a
/// slot's cycle. A short shift's slots stand empty once the population runs out (waiting for the last slow Core
/// elsewhere): that was most of the "missed" 16-slot figure, and it is no loss of the station's.
/// </summary>
public class StationCyclesTests
{
    private static ShownVerdict At(double seconds, int slot, bool judged = true) => new(TimeSpan.FromSeconds(seconds), slot, judged);

    [Test]
    public void Slots_standing_empty_once_the_population_ran_out_are_not_counted_against_the_station()
    {
        // two slots cycling every 100 s; slot 2's Cores ran out at 206 s while slot 1 still screened its last one
        var rate = StationCycles.LineFed([At(100, 1), At(106, 2), At(200, 1), At(206, 2), At(300, 1), At(400, 1)], slots: 2);

        Assert.That(rate.SlotTimePerCore, Is.EqualTo(TimeSpan.FromSeconds(100)));
        Assert.That(rate.CoresPerHour, Is.EqualTo(72).Within(1e-9)); // 2 slots x 3600 s / 100 s
        Assert.That(rate.Judged, Is.EqualTo(4));
        Assert.That(rate.Windows[2], Is.EqualTo((TimeSpan.FromSeconds(106), TimeSpan.FromSeconds(206))));
        // the whole shift's figure, first to last verdict, would say 5 Cores in 300 s = 60/h with the slots able to do 72
    }

    [Test]
    public void A_rig_fault_in_a_fed_cycle_costs_its_time_but_a_rig_fault_on_a_slot_left_empty_does_not()
    {
        // slot 1: a rig fault mid-shift (its Core retested elsewhere); slot 2: a rig fault after its last Core (nothing in it)
        var rate = StationCycles.LineFed([At(100, 1), At(150, 1, judged: false), At(250, 1), At(100, 2), At(200, 2), At(260, 2, judged: false)], slots: 2);

        Assert.That(rate.Cycles, Is.EqualTo(3));
        Assert.That(rate.Judged, Is.EqualTo(2));
        Assert.That(rate.SlotTimePerCore, Is.EqualTo(TimeSpan.FromSeconds(125))); // (150 s + 100 s) / 2 Cores
        Assert.That(rate.Windows[2].To, Is.EqualTo(TimeSpan.FromSeconds(200)));
    }

    [Test]
    public void No_slot_with_two_verdicts_is_no_figure()
    {
        var rate = StationCycles.LineFed([At(100, 1), At(106, 2), At(112, 3, judged: false)], slots: 3);

        Assert.That((rate.CoresPerHour, rate.Judged, rate.Windows.Count), Is.EqualTo((0.0, 0, 0)));
    }

    [Test]
    public void The_phases_split_the_waits_between_operator_and_station_and_add_up_to_the_slot_time_per_Core()
    {
        var time = new StepClock();
        var clock = new PhaseClock(time, time.GetTimestamp());
        void At(double seconds) => time.Now = TimeSpan.FromSeconds(seconds);

        // one slot, one cycle from a verdict at 10 s to the next at 110 s
        clock.Station(1, CoreStation.PhaseWaitingForRemoval); // verdict shown at 10 s
        At(10);
        clock.Station(1, CoreStation.PhaseWaitingForRemoval);
        At(14);
        clock.Operator(1, inserted: false); // pulled
        At(15.5);
        clock.Station(1, CoreStation.PhaseWaitingForCore); // the station saw it go
        At(17);
        clock.Operator(1, inserted: true); // dropped in
        At(17.5);
        clock.Station(1, CoreStation.PhaseArrived);
        At(20.5);
        clock.Station(1, "identify");
        At(105);
        clock.Station(1, CoreStation.PhaseStoring);
        At(105.5);
        clock.Station(1, CoreStation.PhaseWaitingForRemoval);
        At(110);
        clock.Operator(1, inserted: false); // after the window: not counted

        var phases = clock.Within(new Dictionary<int, (TimeSpan, TimeSpan)> { [1] = (TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(110)) }, cores: 1);

        var seconds = phases.ToDictionary(p => p.Phase, p => p.PerCore.TotalSeconds);
        Assert.That(seconds, Is.EqualTo(new Dictionary<string, double>
        {
            [PhaseClock.Shown] = 4 + 4.5,
            [PhaseClock.Pulled] = 1.5,
            [PhaseClock.Empty] = 1.5,
            [PhaseClock.DroppedIn] = 0.5,
            [PhaseClock.Arrived] = 3,
            ["identify"] = 84.5,
            [CoreStation.PhaseStoring] = 0.5,
        }));
        Assert.That(phases.Sum(p => p.PerCore.TotalSeconds), Is.EqualTo(100).Within(1e-9));
        Assert.That(phases.Sum(p => p.Share), Is.EqualTo(1).Within(1e-9));
    }

    private sealed class StepClock : TimeProvider
    {
        public TimeSpan Now { get; set; }

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Now.Ticks;
    }
}
