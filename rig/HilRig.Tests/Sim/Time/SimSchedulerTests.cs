using HilRig.Sim.Time;

namespace HilRig.Tests.Sim;

public class SimSchedulerTests
{
    [Test]
    public void A_ten_hour_wait_takes_ten_hours_of_device_time_and_no_wall_time()
    {
        using var sim = new SimScheduler();
        var wall = System.Diagnostics.Stopwatch.StartNew();
        var elapsed = sim.Run(async () =>
        {
            var start = sim.Time.GetTimestamp();
            await Task.Delay(TimeSpan.FromHours(10), sim.Time);
            return sim.Time.GetElapsedTime(start);
        });
        Assert.That(elapsed, Is.EqualTo(TimeSpan.FromHours(10)));
        Assert.That(wall.Elapsed, Is.LessThan(TimeSpan.FromSeconds(5)), "virtual time must not sleep");
    }

    [Test]
    public void Parallel_work_interleaves_the_same_way_on_every_run()
    {
        static string RunOnce()
        {
            using var sim = new SimScheduler();
            var log = new List<string>();
            sim.Run(async () =>
            {
                async Task Worker(string name, int stepMs)
                {
                    for (var i = 0; i < 5; i++)
                    {
                        await Task.Delay(TimeSpan.FromMilliseconds(stepMs), sim.Time);
                        log.Add($"{name}{i}@{sim.Time.Elapsed.TotalMilliseconds}");
                    }
                }
                await Task.WhenAll(Worker("a", 7), Worker("b", 5), Worker("c", 7));
            });
            return string.Join(",", log);
        }

        var first = RunOnce();
        Assert.That(first, Does.StartWith("b0@5,a0@7,c0@7,b1@10"));
        for (var i = 0; i < 5; i++)
            Assert.That(RunOnce(), Is.EqualTo(first));
    }

    [Test]
    public void Continuations_stay_on_the_simulation_thread()
    {
        using var sim = new SimScheduler();
        var onThread = sim.Run(async () =>
        {
            await Task.Delay(TimeSpan.FromMilliseconds(10), sim.Time);
            await Task.Yield();
            return sim.IsOnSchedulerThread;
        });
        Assert.That(onThread, Is.True);
    }

    [Test]
    public void A_wait_on_something_that_never_comes_fails_instead_of_hanging()
    {
        using var sim = new SimScheduler { StallTimeout = TimeSpan.FromMilliseconds(300) };
        var never = new TaskCompletionSource();
        var ex = Assert.ThrowsAsync<InvalidOperationException>(() => sim.RunAsync(() => never.Task));
        Assert.That(ex!.Message, Does.Contain("stalled"));
    }

    [Test]
    public void Virtual_time_stands_still_between_runs_however_long_the_caller_takes_to_start_the_next()
    {
        static (TimeSpan AtSecondStart, int TicksAtSecondStart, TimeSpan AtEnd, int TicksAtEnd) TwoRuns(TimeSpan pause)
        {
            using var sim = new SimScheduler();
            using var stop = new CancellationTokenSource();
            var ticks = 0;
            sim.Run(async () =>
            {
                // left behind by the first run (a Core that keeps booting after a fault was injected): a 10 ms timer stays armed
                _ = Tick();
                await Task.Delay(TimeSpan.FromMilliseconds(25), sim.Time);
            });
            Thread.Sleep(pause);
            return sim.Run(async () =>
            {
                var (atStart, ticksAtStart) = (sim.Time.Elapsed, ticks);
                await Task.Delay(TimeSpan.FromMilliseconds(50), sim.Time);
                stop.Cancel();
                return (atStart, ticksAtStart, sim.Time.Elapsed, ticks);
            });

            async Task Tick()
            {
                while (!stop.IsCancellationRequested)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(10), sim.Time);
                    ticks++;
                }
            }
        }

        var paused = TwoRuns(TimeSpan.FromMilliseconds(200));
        var straight = TwoRuns(TimeSpan.Zero);

        Assert.That(paused, Is.EqualTo(straight), "a wall-clock pause between two runs must not change device time");
        Assert.That(paused.AtSecondStart, Is.EqualTo(TimeSpan.FromMilliseconds(25)), "the clock stood where the first run ended");
        Assert.That(paused.TicksAtSecondStart, Is.EqualTo(2));
        // the timer left behind fires again once a run is in flight: 30, 40, 50, 60, 70 ms
        Assert.That(paused.AtEnd, Is.EqualTo(TimeSpan.FromMilliseconds(75)));
        Assert.That(paused.TicksAtEnd, Is.EqualTo(7));
    }

    [Test]
    public void Real_time_mode_follows_the_wall_clock_scaled_by_speed()
    {
        using var sim = new SimScheduler(ClockMode.RealTime, speed: 10);
        var wall = System.Diagnostics.Stopwatch.StartNew();
        sim.Run(async () => await Task.Delay(TimeSpan.FromSeconds(2), sim.Time));
        Assert.That(wall.Elapsed, Is.GreaterThan(TimeSpan.FromMilliseconds(150)).And.LessThan(TimeSpan.FromSeconds(2)));
        Assert.That(sim.Time.Elapsed, Is.GreaterThanOrEqualTo(TimeSpan.FromSeconds(2)));
    }
}

public class DeviceDelayTests
{
    [Test]
    public void Sub_millisecond_device_times_add_up_exactly()
    {
        using var sim = new SimScheduler();
        var elapsed = sim.Run(async () =>
        {
            var start = sim.Time.GetTimestamp();
            for (var i = 0; i < 1000; i++)
                await DeviceDelay.WaitAsync(sim.Time, TimeSpan.FromMicroseconds(460));
            return sim.Time.GetElapsedTime(start);
        });
        Assert.That(elapsed, Is.EqualTo(TimeSpan.FromMicroseconds(460_000)));
    }
}
