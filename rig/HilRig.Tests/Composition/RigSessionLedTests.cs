using HilRig.Composition;
using HilRig.Core.Led;
using HilRig.Core.Results;

namespace HilRig.Tests.Led;

/// <summary>The composed rig watches every slot's LED through its own sensor, mux and I2C bus, for the session's life.</summary>
public class RigSessionLedTests
{
    private static readonly LedState BreathingCyan = LedState.Parse("breathing cyan");

    [Test]
    public void A_powered_Core_with_Wi_Fi_is_seen_booting_to_breathing_cyan_and_going_dark_when_its_power_is_cut()
    {
        using var session = RigSession.Open(TestRigs.Load(TestRigs.DefaultCores()));
        var slot = session.Slot(3);
        // provisioned: without credentials the app would stop in listening mode (flashing blue) short of the cloud
        session.Sim!.Slot(3).Core.Nvmem.Add("hilrig-test", 3, "secret");
        var (booted, dark, neighbour) = session.RunAsync(async () =>
        {
            var led = slot.Led!;
            slot.Control.SetPower(true);
            var booted = await led.Expect().WaitForAsync(BreathingCyan, TimeSpan.FromSeconds(15));
            slot.Control.SetPower(false);
            var dark = await led.Expect().WaitForAsync(LedState.Dark, TimeSpan.FromSeconds(3));
            return (booted, dark, session.Slot(4).Led!.Timeline());
        }).GetAwaiter().GetResult();

        Assert.Multiple(() =>
        {
            Assert.That(booted.State.Matches(BreathingCyan) || BreathingCyan.Matches(booted.State), $"{booted}");
            Assert.That(dark.State, Is.EqualTo(LedState.Dark));
            Assert.That(slot.Led!.Fault, Is.Null);
            Assert.That(neighbour.Segments.Select(s => s.State), Is.All.EqualTo(LedState.Dark),
                $"the unpowered neighbour stays off despite the crosstalk: {neighbour}");
        });
    }

    [Test]
    public void Every_slot_is_sampled_at_the_cadence_while_work_runs_and_an_idle_rig_clock_stands_still()
    {
        using var session = RigSession.Open(TestRigs.Load(TestRigs.DefaultCores()));
        var sampler = session.Led!.Sampler;
        var before = session.Slots.ToDictionary(s => s.Number, s => sampler.SampleCount(s.Number));
        session.RunAsync(() => Task.Delay(TimeSpan.FromSeconds(2.4), session.Time)).GetAwaiter().GetResult();
        var counted = session.Slots.ToDictionary(s => s.Number, s => sampler.SampleCount(s.Number) - before[s.Number]);

        var idleFrom = session.Time.GetTimestamp();
        var samplesFrom = sampler.SampleCount(1);
        // wall time passes with no work on the rig: the background sampler must not drive the virtual clock
        Thread.Sleep(300);
        session.RunAsync(() => Task.CompletedTask).GetAwaiter().GetResult();

        Assert.Multiple(() =>
        {
            Assert.That(counted.Values, Has.All.InRange(98, 101), "2.4 s at 24 ms per slot");
            Assert.That(sampler.Overruns, Is.Zero);
            Assert.That(session.Time.GetTimestamp(), Is.EqualTo(idleFrom));
            Assert.That(sampler.SampleCount(1), Is.EqualTo(samplesFrom));
        });
    }

    [Test]
    public void A_session_that_does_not_observe_LEDs_has_no_sampler_and_screens_without_LED_evidence()
    {
        using var session = RigSession.Open(TestRigs.Load(TestRigs.DefaultCores()), new RigSessionOptions { ObserveLeds = false });
        Assert.That(session.Led, Is.Null);
        Assert.That(session.Slots.Select(s => s.Led), Is.All.Null);
        var outcome = session.RunAsync(() => new HilRig.Core.Procedures.Screening(session.Usb, session.Time).RunSlotAsync(session.Slot(1)))
            .GetAwaiter().GetResult();
        Assert.That(outcome.Verdict, Is.EqualTo(HilRig.Core.Procedures.Verdict.Pass), outcome.Signature);
        Assert.That(outcome.Evidence.Led, Is.Null);
    }

    [Test]
    public void A_sensor_that_stops_answering_faults_its_slot_only()
    {
        using var session = RigSession.Open(TestRigs.Load(TestRigs.DefaultCores()));
        session.Sim!.Slot(5).Sensor!.Nack = true;
        // a sensor is named dead after LedSampler.FailedReadsForFault failed reads in a row (about 0.6 s)
        session.RunAsync(() => Task.Delay(TimeSpan.FromSeconds(1), session.Time)).GetAwaiter().GetResult();

        Assert.That(session.Slot(5).Led!.Fault, Is.Not.Null);
        Assert.That(session.Slot(5).Led!.Fault!.Message, Does.Contain("slot 5").And.Contain("NACK"));
        Assert.That(session.Slots.Where(s => s.Number != 5).Select(s => s.Led!.Fault), Is.All.Null);
    }

    [Test]
    public void A_sensor_answering_with_the_wrong_id_is_named_with_its_slot_when_recalibrated()
    {
        using var session = RigSession.Open(TestRigs.Load(TestRigs.DefaultCores()));
        var model = session.Sim!.Slot(6).Sensor!;
        // swapped for another part while the rig ran: the sampler loses it, a fresh power-on reads its id
        model.Nack = true;
        session.RunAsync(() => Task.Delay(TimeSpan.FromSeconds(1), session.Time)).GetAwaiter().GetResult();
        model.Nack = false;
        model.Id = 0x12;
        var results = session.RunAsync(() => session.Led!.CalibrateAllAsync([5, 6], null)).GetAwaiter().GetResult();

        Assert.That(results[0].Fault, Is.Null);
        Assert.That(results[1].Fault!.Message, Does.StartWith("slot 6:").And.Contain("ID 0x12").And.Contain("expected 0x44"));
        Assert.That(session.Slot(6).Led!.Fault, Is.SameAs(results[1].Fault));
        Assert.That(session.Slot(6).Led!.Current, Is.EqualTo(LedState.Dark));
    }

    [Test]
    public void Calibrations_are_stored_per_rig_and_slot_at_the_first_open_and_reloaded_at_the_next()
    {
        var config = TestRigs.Load(TestRigs.DefaultCores());
        var store = ResultsStore.Open(config.ResolveStorePath());
        IReadOnlyList<StoredCalibration> first;
        using (var session = RigSession.Open(config, new RigSessionOptions { CalibrationStore = store }))
        {
            first = store.GetCalibrations(config.RigId);
            foreach (var stored in first)
                Assert.That(session.Led!.Sampler.Calibration(stored.Calibration.Slot), Is.EqualTo(stored.Calibration));
        }
        Assert.That(first.Select(c => c.Calibration.Slot), Is.EqualTo(Enumerable.Range(1, 8)));
        Assert.That(first.Select(c => c.Calibration.DarkC), Is.All.GreaterThan(0), "room light reaches every sensor");
        Assert.That(store.GetCalibrations("another-rig"), Is.Empty);

        // a calibration stored by hand (as `hilrig led calibrate` would) is what the next session applies
        var edited = first[1].Calibration with { Gain = 1, DarkC = 2.5 };
        store.SaveCalibration(config.RigId, edited, DateTimeOffset.UnixEpoch);
        using (var session = RigSession.Open(config, new RigSessionOptions { CalibrationStore = store }))
        {
            Assert.That(session.Led!.Sampler.Calibration(edited.Slot), Is.EqualTo(edited));
            Assert.That(session.Led.Sampler.Calibration(1), Is.EqualTo(first[0].Calibration));
        }
        var after = store.GetCalibrations(config.RigId);
        Assert.That(after.Select(c => c.CalibratedAt), Is.EqualTo(first.Select((c, i) => i == 1 ? DateTimeOffset.UnixEpoch : c.CalibratedAt)),
            "reopening loads; it does not calibrate again");
    }
}
