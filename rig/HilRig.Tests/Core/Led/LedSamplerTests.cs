using HilRig.Core.Chips;
using HilRig.Core.Led;
using HilRig.Sim.Device;
using HilRig.Sim.Optics;
using HilRig.Sim.Time;

namespace HilRig.Tests.Led;

public class LedSamplerTests
{
    private static readonly TimeSpan Second = TimeSpan.FromSeconds(1);

    [Test]
    public void Sixteen_slots_on_two_muxes_are_each_sampled_at_the_cadence_with_bus_time_accounted()
    {
        using var sim = new SimScheduler();
        var (counts, accounted, busTime, overruns) = sim.Run(async () =>
        {
            var rig = new SimLedRig(sim.Time, 16, OpticsSettings.Default, seed: 3);
            var sampler = new LedSampler(rig.Sensors, sim.Time);
            await sampler.InitializeAsync();
            var bus0 = rig.Bus.BusTime;
            var i2c0 = sampler.I2cTime;
            using var stop = new CancellationTokenSource();
            var run = sampler.RunAsync(stop.Token);
            await Task.Delay(TimeSpan.FromSeconds(2.4), sim.Time);
            stop.Cancel();
            await run;
            return (Enumerable.Range(0, 16).Select(s => sampler.SampleCount(s)).ToList(), sampler.I2cTime - i2c0, rig.Bus.BusTime - bus0, sampler.Overruns);
        });
        Assert.Multiple(() =>
        {
            Assert.That(counts, Has.All.InRange(99, 101), "2.4 s at 24 ms");
            Assert.That(overruns, Is.Zero);
            Assert.That(accounted.TotalMicroseconds, Is.EqualTo(busTime.TotalMicroseconds).Within(1.0).Percent, "the sampler accounts what the bus clocked");
        });
    }

    [Test]
    public void A_sensor_that_stops_answering_is_a_rig_fault_for_its_slot_only()
    {
        using var sim = new SimScheduler();
        var (fault, healthy, faulted, expectation) = sim.Run(async () =>
        {
            var rig = new SimLedRig(sim.Time, 3, OpticsSettings.Default, seed: 3);
            var sampler = new LedSampler(rig.Sensors, sim.Time);
            await sampler.InitializeAsync();
            rig.SensorModels[1].Nack = true;
            for (var i = 0; i < LedSampler.FailedReadsForFault; i++) await sampler.SampleRoundAsync();
            Exception? waited = null;
            try
            {
                await sampler.Expect(1).WaitForAsync(LedState.Parse("flashing yellow"), Second);
            }
            catch (Exception ex)
            {
                waited = ex;
            }
            return (sampler.Fault(1), sampler.SampleCount(0), sampler.SampleCount(1), waited);
        });
        Assert.Multiple(() =>
        {
            Assert.That(fault, Is.Not.Null);
            Assert.That(fault!.Message, Does.StartWith("slot 1:").And.Contain("NACK"));
            Assert.That(healthy, Is.EqualTo(LedSampler.FailedReadsForFault));
            Assert.That(faulted, Is.Zero);
            Assert.That(expectation, Is.InstanceOf<SensorException>(), "a rig fault, never an LED verdict on the Core");
        });
    }

    [Test]
    public void A_sensor_read_that_fails_now_and_then_is_a_missed_sample_and_the_slot_keeps_its_sensor()
    {
        using var sim = new SimScheduler();
        var (faultAfterGlitches, missed, counted, faultAfterDeath) = sim.Run(async () =>
        {
            var rig = new SimLedRig(sim.Time, 2, OpticsSettings.Default, seed: 3);
            var sampler = new LedSampler(rig.Sensors, sim.Time);
            await sampler.InitializeAsync();
            // a NACK every other round: never as many failed reads in a row as make a dead sensor
            for (var i = 0; i < 20; i++)
            {
                rig.SensorModels[1].Nack = i % 2 == 0 && i < 10 || i is 12 or 13;
                await sampler.SampleRoundAsync();
            }
            var glitches = sampler.Fault(1);
            var missedReads = sampler.MissedReads;
            var count = sampler.SampleCount(1);
            rig.SensorModels[1].Nack = true;
            for (var i = 0; i < LedSampler.FailedReadsForFault; i++) await sampler.SampleRoundAsync();
            return (glitches, missedReads, count, sampler.Fault(1));
        });
        Assert.Multiple(() =>
        {
            Assert.That(faultAfterGlitches, Is.Null, "a read that fails now and then does not take the slot's sensor out");
            Assert.That(missed, Is.EqualTo(7));
            Assert.That(counted, Is.EqualTo(13), "the failed reads are left out, the others kept");
            Assert.That(faultAfterDeath, Is.Not.Null, $"{LedSampler.FailedReadsForFault} failed reads in a row are a rig fault");
        });
    }

    [Test]
    public void A_sensor_with_the_wrong_ID_is_reported_at_start_up_naming_slot_and_ID()
    {
        using var sim = new SimScheduler();
        var fault = sim.Run(async () =>
        {
            var rig = new SimLedRig(sim.Time, 9, OpticsSettings.Default, seed: 3);
            rig.SensorModels[8].Id = 0x10;
            var sampler = new LedSampler(rig.Sensors, sim.Time);
            await sampler.InitializeAsync();
            await sampler.SampleRoundAsync();
            return (sampler.Fault(8), sampler.Fault(7), sampler.SampleCount(7));
        });
        Assert.That(fault.Item1!.Message, Does.StartWith("slot 8:").And.Contain("ID 0x10"));
        var again = Assert.Throws<SensorException>(() => sim.Run(async () =>
        {
            var rig = new SimLedRig(sim.Time, 9, OpticsSettings.Default, seed: 3);
            rig.SensorModels[8].Id = 0x10;
            var sampler = new LedSampler(rig.Sensors, sim.Time);
            await sampler.InitializeAsync();
            await sampler.CalibrateAsync(8);
        }));
        Assert.That(again!.Message, Does.Contain("ID 0x10"), "calibrating a faulted slot reports the fault, not bogus dark counts");
        Assert.That(fault.Item2, Is.Null);
        Assert.That(fault.Item3, Is.EqualTo(1));
    }

    [Test]
    public void Calibration_measures_dark_with_the_Core_off_and_picks_a_gain_where_white_does_not_saturate()
    {
        using var sim = new SimScheduler();
        var (dimmed, full) = (Calibrate(sim, fullScale: false), Calibrate(sim, fullScale: true));
        Assert.Multiple(() =>
        {
            // ambient 4 counts per 2.4 ms cycle on the clear channel = 1.67 counts per ms at 1x
            Assert.That(dimmed.DarkC, Is.EqualTo(4 / 2.4).Within(15).Percent);
            Assert.That(dimmed.Gain, Is.EqualTo(1), "dimmed white at 4x would exceed 75 % of 10240");
            Assert.That(dimmed.LitC, Is.GreaterThan(50));
            Assert.That(full.LitC / dimmed.LitC, Is.EqualTo(256 / 96.0).Within(5).Percent, "BL13 full scale vs 96/256");
        });
    }

    private static SlotCalibration Calibrate(SimScheduler sim, bool fullScale) => sim.Run(async () =>
    {
        var rig = new SimLedRig(sim.Time, 1, OpticsSettings.Default with { FullScale = fullScale }, seed: 5);
        var sampler = new LedSampler(rig.Sensors, sim.Time);
        await sampler.InitializeAsync();
        return await sampler.CalibrateAsync(0, _ =>
        {
            rig.Emitters[0].Show(LedProgram.Solid(SparkColors.White));
            return Task.CompletedTask;
        });
    });

    [Test]
    public void Starting_at_too_high_a_gain_steps_down_so_a_bright_LED_is_not_read_saturated()
    {
        using var sim = new SimScheduler();
        var samples = sim.Run(async () =>
        {
            var rig = new SimLedRig(sim.Time, 1, OpticsSettings.Default, seed: 5);
            var sampler = new LedSampler(rig.Sensors, sim.Time, new LedSamplerOptions { InitialGain = 60 });
            await sampler.InitializeAsync();
            rig.Emitters[0].Show(LedProgram.Solid(SparkColors.White));
            using var stop = new CancellationTokenSource();
            var run = sampler.RunAsync(stop.Token);
            await Task.Delay(Second, sim.Time);
            stop.Cancel();
            await run;
            return sampler.Samples(0);
        });
        Assert.That(samples.Take(3).Any(s => s.Saturated), Is.True, "60x saturates on white");
        Assert.That(samples.Skip(10).Where(s => s.Saturated), Is.Empty);
        Assert.That(samples[^1].Gain, Is.EqualTo(1));
    }

    [Test]
    public void The_same_seed_gives_the_same_samples_and_another_seed_other_noise()
    {
        LedStep[] script = [new(LedProgram.Flashing(SparkColors.Cyan, 100), Second * 2)];
        var a = LedScenario.Run([script], OpticsSettings.Default, seed: 11).Samples[0];
        var b = LedScenario.Run([script], OpticsSettings.Default, seed: 11).Samples[0];
        var c = LedScenario.Run([script], OpticsSettings.Default, seed: 12).Samples[0];
        Assert.That(b, Is.EqualTo(a));
        Assert.That(c, Is.Not.EqualTo(a));
    }

    [Test]
    public void A_dark_slot_between_bright_neighbours_stays_off_despite_crosstalk()
    {
        LedStep[] bright = [new(LedProgram.Flashing(SparkColors.White, 50), Second * 6)];
        LedStep[] dark = [new(LedProgram.Off, Second * 6)];
        var result = LedScenario.Run([bright, dark, bright], OpticsSettings.Default with { CrosstalkFraction = 0.03 }, seed: 2);
        Assert.That(result.Timelines[1].Segments.Select(s => s.State.ToString()), Is.EqualTo(new[] { "off" }), result.Timelines[1].ToString());
        Assert.That(result.Timelines[0].Segments.Select(s => s.State.ToString()), Does.Contain("fast flashing white"));
    }
}

public class LedRecordTests
{
    [Test]
    public void Recording_a_slot_writes_a_trace_that_classifies_like_the_live_timeline()
    {
        using var sim = new SimScheduler();
        var (csv, written, live) = sim.Run(async () =>
        {
            var rig = new SimLedRig(sim.Time, 2, OpticsSettings.Default, seed: 8);
            var sampler = new LedSampler(rig.Sensors, sim.Time);
            await sampler.InitializeAsync();
            await sampler.CalibrateAsync(1);
            rig.Emitters[1].Show(LedProgram.Flashing(SparkColors.Blue, 250));
            using var stop = new CancellationTokenSource();
            var run = sampler.RunAsync(stop.Token);
            var writer = new StringWriter();
            var n = await sampler.RecordAsync(1, TimeSpan.FromSeconds(3), writer);
            stop.Cancel();
            await run;
            return (writer.ToString(), n, sampler.Timeline(1));
        });
        var trace = TraceCsv.Read(new StringReader(csv), "record.csv");
        Assert.That(trace.Samples, Has.Count.EqualTo(written).And.Count.InRange(120, 126), "3 s at 24 ms");
        Assert.That(trace.Calibration, Is.Not.Null, "the dark calibration travels with the trace");
        Assert.That(LedClassifier.Classify(trace).ToString(), Is.EqualTo(live.ToString()));
        Assert.That(live.ToString(), Does.Contain("flashing blue"));
    }
}
