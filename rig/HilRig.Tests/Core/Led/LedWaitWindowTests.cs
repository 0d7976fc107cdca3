using HilRig.Core.Led;
using HilRig.Sim.Device;
using HilRig.Sim.Optics;
using HilRig.Sim.Time;

namespace HilRig.Tests.Led;

/// <summary>
/// What a procedure's LED wait sees: each poll's timeline is the classifier over exactly the buffered samples from
/// <see cref="LedSampler.ContextBefore"/> ahead of the wait's start (found in the ring by binary search, not by
/// filtering the whole buffer), held without a calibrated white level to the brightest light the whole buffer showed
/// when last looked at (every <see cref="LedSampler.SeenWhiteEvery"/> samples),
/// and a failed wait's evidence is the whole buffer as it was at the failure, however
/// late it is read.
/// </summary>
public class LedWaitWindowTests
{
    private static readonly TimeSpan Second = TimeSpan.FromSeconds(1);

    private static List<LedSegment> Reclassified(SlotCalibration? calibration, IEnumerable<LedSample> samples) =>
        [.. new LedClassifier(calibration).Classify([.. samples]).Segments];

    [Test]
    public void Every_poll_of_a_wait_equals_a_full_reclassification_of_its_window_also_after_the_buffer_wrapped()
    {
        using var sim = new SimScheduler();
        var (polls, kept, recorded, calibration, ends) = sim.Run(async () =>
        {
            var rig = new SimLedRig(sim.Time, 2, OpticsSettings.Default, seed: 5);
            // 300 samples at 24 ms: 7.2 s, so the ring wraps twice in the 16 s below
            var sampler = new LedSampler(rig.Sensors, sim.Time, new LedSamplerOptions { BufferSize = 300 });
            await sampler.InitializeAsync();
            var calibration = await sampler.CalibrateAsync(1);
            var recorded = new List<LedSample>();
            sampler.SampleTaken += (slot, sample) => { if (slot == 1) recorded.Add(sample); };
            using var stop = new CancellationTokenSource();
            var run = sampler.RunAsync(stop.Token);
            var polls = new List<(TimeSpan Since, int Recorded, List<LedSegment> Timeline)>();
            async Task Show(LedProgram program, double seconds, TimeSpan since)
            {
                rig.Emitters[1].Show(program);
                for (var t = 0.0; t < seconds; t += 0.25)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(250), sim.Time);
                    polls.Add((since, recorded.Count, [.. sampler.Timeline(1, since).Segments]));
                }
            }
            await Show(LedProgram.Flashing(SparkColors.Yellow, 100), 4, sampler.Now);
            var waitStart = sampler.Now;
            await Show(LedProgram.Breathing(SparkColors.Cyan), 9, waitStart);
            await Show(LedProgram.Sos(3), 3, waitStart);
            stop.Cancel();
            await run;
            return (polls, sampler.Samples(1), recorded, calibration, sampler.Timeline(1));
        });

        Assert.That(recorded, Has.Count.GreaterThan(600), "the ring wrapped");
        Assert.That(kept, Is.EqualTo(recorded.Skip(recorded.Count - 300)), "the ring keeps the last 300 samples, oldest first");
        Assert.That(ends.Segments, Is.EqualTo(Reclassified(calibration, kept)));
        Assert.That(ends.ToString(), Does.Contain("SOS"), ends.ToString());
        int? lookedAt = null;
        foreach (var (since, count, timeline) in polls)
        {
            // what the ring held at that poll: the last 300 of the samples taken so far
            var held = recorded.Take(count).Skip(Math.Max(0, count - 300));
            // held to the light of all the ring held (no white level is calibrated) when it was last looked at: a dark
            // stretch is not judged by a neighbour's leak alone
            if (lookedAt is null || count - lookedAt >= LedSampler.SeenWhiteEvery) lookedAt = count;
            var ring = recorded.Take(lookedAt.Value).Skip(Math.Max(0, lookedAt.Value - 300)).ToList();
            var expected = (List<LedSegment>)[.. new LedClassifier(calibration, LedClassifier.BrightestLevel(ring, calibration.DarkC))
                .Classify([.. held.Where(s => s.Time >= since - LedSampler.ContextBefore)]).Segments];
            Assert.That(timeline, Is.EqualTo(expected), $"poll after {count} samples, since {since.TotalSeconds:0.000} s");
        }
        Assert.That(polls.Select(p => string.Join(", ", p.Timeline.Select(s => s.State))), Has.Some.Contain("breathing cyan"));
    }

    [Test]
    public void A_failed_wait_carries_the_timeline_as_at_its_failure_even_when_read_after_the_LED_moved_on()
    {
        using var sim = new SimScheduler();
        var (failure, atFailure, later) = sim.Run(async () =>
        {
            var rig = new SimLedRig(sim.Time, 2, OpticsSettings.Default, seed: 6);
            var sampler = new LedSampler(rig.Sensors, sim.Time);
            await sampler.InitializeAsync();
            await sampler.CalibrateAsync(1);
            using var stop = new CancellationTokenSource();
            var run = sampler.RunAsync(stop.Token);
            rig.Emitters[1].Show(LedProgram.Flashing(SparkColors.Yellow, 100));
            LedExpectationException? failure = null;
            LedTimeline atFailure = LedTimeline.Empty;
            try
            {
                await sampler.Expect(1).WaitForAsync(LedState.Parse("breathing cyan"), Second * 3);
            }
            catch (LedExpectationException ex)
            {
                failure = ex;
                atFailure = sampler.Timeline(1);
            }
            rig.Emitters[1].Show(LedProgram.Solid(SparkColors.Green));
            await Task.Delay(Second * 3, sim.Time);
            stop.Cancel();
            await run;
            return (failure, atFailure, sampler.Timeline(1));
        });

        Assert.That(failure, Is.Not.Null, "flashing yellow is not breathing cyan");
        Assert.That(later.ToString(), Does.Contain("solid green"), "the LED moved on after the failure");
        Assert.That(failure!.Timeline.Segments, Is.EqualTo(atFailure.Segments), "the evidence is what the buffer held at the failure");
        Assert.That(failure.Timeline.ToString(), Does.Contain("flashing yellow").And.Not.Contain("green"));
        Assert.That(failure.Message, Is.EqualTo($"slot 1: expected breathing cyan within 3 s; saw {atFailure}"));
    }
}
