using HilRig.Core.Led;
using HilRig.Sim.Device;
using HilRig.Sim.Optics;
using HilRig.Sim.Time;

namespace HilRig.Tests.Led;

public class LedExpectationsTests
{
    /// <summary>Runs a script on slot 0 while a procedure body watches the LED.</summary>
    private static T Watch<T>(LedStep[] script, Func<LedSampler, Task<T>> body)
    {
        using var sim = new SimScheduler();
        return sim.Run(async () =>
        {
            var rig = new SimLedRig(sim.Time, 1, OpticsSettings.Default, seed: 9);
            var sampler = new LedSampler(rig.Sensors, sim.Time);
            await sampler.InitializeAsync();
            await sampler.CalibrateAsync(0, _ =>
            {
                rig.Emitters[0].Show(LedProgram.Solid(SparkColors.White));
                return Task.CompletedTask;
            });
            rig.Emitters[0].Show(LedProgram.Off);
            using var stop = new CancellationTokenSource();
            var run = sampler.RunAsync(stop.Token);
            var play = Play(rig.Emitters[0], script, sim.Time);
            try
            {
                return await body(sampler);
            }
            finally
            {
                stop.Cancel();
                await run;
                await play;
            }
        });
    }

    private static async Task Play(LedEmitter emitter, LedStep[] script, TimeProvider time)
    {
        foreach (var step in script)
        {
            emitter.Show(step.Program);
            await Task.Delay(step.Duration, time);
        }
    }

    private static LedStep S(LedProgram program, double seconds) => new(program, TimeSpan.FromSeconds(seconds));

    private static readonly LedStep[] FactoryResetGoneWrong =
    [
        S(LedProgram.Off, 3),
        S(LedProgram.Flashing(SparkColors.Magenta, 50), 4),
        S(LedProgram.Flashing(SparkColors.Yellow, 100), 30),
    ];

    [Test]
    public void Waiting_for_a_state_returns_its_segment_once_it_shows()
    {
        var (segment, waited) = Watch(FactoryResetGoneWrong, async sampler =>
        {
            var start = sampler.Now;
            var s = await sampler.Expect(0).WaitForAsync(LedState.Parse("fast flashing magenta"), TimeSpan.FromSeconds(10));
            return (s, sampler.Now - start);
        });
        Assert.That(segment.State.ToString(), Is.EqualTo("fast flashing magenta"));
        Assert.That(waited, Is.InRange(TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(4)), "magenta starts 3 s in");
    }

    [Test]
    public void A_state_that_never_comes_fails_with_the_timeline_as_evidence()
    {
        var ex = Watch(FactoryResetGoneWrong, async sampler =>
        {
            try
            {
                await sampler.Expect(0).WaitForAsync(LedState.Parse("solid white"), TimeSpan.FromSeconds(12));
                return null;
            }
            catch (LedExpectationException e)
            {
                return e;
            }
        });
        Assert.That(ex, Is.Not.Null);
        Assert.That(ex!.Message, Does.Match(@"^slot 0: expected solid white within 12 s; saw [0-9.]+-[0-9.]+ s off, [0-9.]+-[0-9.]+ s fast flashing magenta, [0-9.]+-[0-9.]+ s flashing yellow$"));
        Assert.That(ex.Timeline.Segments.Select(s => s.State.ToString()), Is.EqualTo(new[] { "off", "fast flashing magenta", "flashing yellow" }));
    }

    [Test]
    public void A_sequence_is_met_step_by_step_each_within_its_timeout()
    {
        var seen = Watch(FactoryResetGoneWrong, sampler => sampler.Expect(0).ExpectSequenceAsync([
            (LedState.Parse("fast flashing magenta"), TimeSpan.FromSeconds(5)),
            (LedState.Parse("flashing yellow"), TimeSpan.FromSeconds(6)),
        ]));
        Assert.That(seen.Select(s => s.State.ToString()), Is.EqualTo(new[] { "fast flashing magenta", "flashing yellow" }));
        Assert.That(seen[1].Start, Is.GreaterThan(seen[0].Start));
    }

    [Test]
    public void A_sequence_step_that_comes_too_late_names_the_step()
    {
        var ex = Watch(FactoryResetGoneWrong, async sampler =>
        {
            try
            {
                await sampler.Expect(0).ExpectSequenceAsync([
                    (LedState.Parse("fast flashing magenta"), TimeSpan.FromSeconds(5)),
                    (LedState.Parse("breathing cyan"), TimeSpan.FromSeconds(5)),
                ]);
                return null;
            }
            catch (LedExpectationException e)
            {
                return e;
            }
        });
        Assert.That(ex!.Message, Does.Contain("step 2 of 2").And.Contain("breathing cyan within 5 s"));
    }

    [Test]
    public void A_forbidden_state_fails_as_soon_as_it_appears()
    {
        var ex = Watch<(LedExpectationException e, TimeSpan Now)?>(FactoryResetGoneWrong, async sampler =>
        {
            var expect = sampler.Expect(0);
            expect.ExpectNever(LedState.Parse("flashing yellow"));
            try
            {
                await expect.WaitForAsync(LedState.Parse("breathing cyan"), TimeSpan.FromSeconds(30));
                return null;
            }
            catch (LedExpectationException e)
            {
                return (e, sampler.Now);
            }
        });
        Assert.That(ex!.Value.e.Message, Does.Contain("flashing yellow must never appear"));
        Assert.That(ex.Value.Now, Is.LessThan(TimeSpan.FromSeconds(12)), "fails when yellow shows (7 s in), not at the timeout");
    }
}
