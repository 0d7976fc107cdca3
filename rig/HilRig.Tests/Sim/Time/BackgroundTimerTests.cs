using HilRig.Sim.Time;

namespace HilRig.Tests.Sim;

/// <summary>Work that runs for the rig's whole life (the LED sampler) rides the clock but never drives it.</summary>
public class BackgroundTimerTests
{
    [Test]
    public void Background_timers_fire_in_order_with_foreground_ones_while_work_waits_and_stop_when_it_ends()
    {
        using var sim = new SimScheduler();
        var ticks = new List<double>();
        using var stop = new CancellationTokenSource();
        sim.Run(async () =>
        {
            _ = Loop();
            await Task.Delay(TimeSpan.FromMilliseconds(100), sim.Time);
        });
        var afterWork = sim.Time.Elapsed;
        var seen = ticks.Count;
        // nothing waits in the foreground: the loop must not move the clock on its own
        Thread.Sleep(200);
        sim.Run(() => Task.CompletedTask);

        Assert.Multiple(() =>
        {
            Assert.That(afterWork, Is.EqualTo(TimeSpan.FromMilliseconds(100)));
            Assert.That(ticks.Take(4), Is.EqualTo(new[] { 24.0, 48, 72, 96 }), "background waits fire as the foreground wait passes them");
            Assert.That(sim.Time.Elapsed, Is.EqualTo(afterWork));
            Assert.That(ticks, Has.Count.EqualTo(seen));
        });

        // the next foreground wait carries the loop along again
        sim.Run(() => Task.Delay(TimeSpan.FromMilliseconds(50), sim.Time));
        Assert.That(ticks.Skip(seen), Is.EqualTo(new[] { 120.0, 144 }));

        async Task Loop()
        {
            while (!stop.IsCancellationRequested)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(24), sim.Time.Background);
                ticks.Add(sim.Time.Elapsed.TotalMilliseconds);
            }
        }
    }

    [Test]
    public void Work_waiting_on_nothing_but_a_background_timer_is_reported_stalled_not_run_forever()
    {
        using var sim = new SimScheduler { StallTimeout = TimeSpan.FromMilliseconds(300) };
        var error = Assert.Throws<InvalidOperationException>(() => sim.Run(() => Task.Delay(TimeSpan.FromSeconds(1), sim.Time.Background)));
        Assert.That(error!.Message, Does.Contain("stalled"));
        Assert.That(sim.Time.Elapsed, Is.EqualTo(TimeSpan.Zero));
    }
}
