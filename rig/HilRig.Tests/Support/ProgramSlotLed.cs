using HilRig.Core.Chips;
using HilRig.Core.Led;
using HilRig.Core.Slots;
using HilRig.Sim.Device;

namespace HilRig.Tests.Life;

/// <summary>
/// A test-only LED observer: reads what the simulated firmware asks of its LED every 10 ms and names it as the
/// classifier would. Lets choreography tests take the LED-confirmed path without the colour-sensor pipeline.
/// </summary>
internal sealed class ProgramSlotLed
{
    private readonly ILedOutput _led;
    private readonly TimeProvider _time;
    private readonly long _origin;
    private readonly List<(TimeSpan Since, LedState State)> _changes = [];

    private ProgramSlotLed(ILedOutput led, TimeProvider time)
    {
        _led = led;
        _time = time;
        _origin = time.GetTimestamp();
    }

    /// <summary>Starts watching; call on the simulation thread.</summary>
    public static ISlotLed Watch(ILedOutput led, TimeProvider time, CancellationToken stop)
    {
        var watcher = new ProgramSlotLed(led, time);
        _ = watcher.LoopAsync(stop);
        return new View(watcher);
    }

    private TimeSpan Now => _time.GetElapsedTime(_origin);

    private async Task LoopAsync(CancellationToken stop)
    {
        try
        {
            while (!stop.IsCancellationRequested)
            {
                var state = Name(_led.Current);
                if (_changes.Count == 0 || _changes[^1].State != state) _changes.Add((Now, state));
                await Task.Delay(TimeSpan.FromMilliseconds(10), _time, stop);
            }
        }
        catch (OperationCanceledException)
        {
            // the test is over
        }
    }

    private LedTimeline Timeline(TimeSpan? since)
    {
        var segments = new List<LedSegment>();
        for (var i = 0; i < _changes.Count; i++)
        {
            var end = i + 1 < _changes.Count ? _changes[i + 1].Since : Now;
            if (since is { } s && end < s) continue;
            segments.Add(new LedSegment(_changes[i].Since, end, _changes[i].State, 1.0));
        }
        return new LedTimeline(segments);
    }

    // The name users give a program, as the LED benchmark's scenarios define it: one table, not a copy.
    private static LedState Name(LedProgram program) => HilRig.Sim.Optics.LedScenario.Expected(program);

    private sealed class View(ProgramSlotLed owner) : ISlotLed
    {
        public LedExpectations Expect() =>
            new(owner.Timeline, owner._time, () => owner.Now, "test LED") { PollInterval = TimeSpan.FromMilliseconds(50) };

        public LedTimeline Timeline(TimeSpan? since = null) => owner.Timeline(since);

        public LedState Current => owner._changes.Count == 0 ? LedState.Dark : owner._changes[^1].State;

        public TimeSpan Now => owner.Now;

        public SensorException? Fault => null;
    }
}
