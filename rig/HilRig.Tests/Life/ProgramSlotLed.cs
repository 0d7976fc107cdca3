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

    private static LedState Name(LedProgram program)
    {
        var colour = program.Rgb switch
        {
            SparkColors.Red => LedColor.Red,
            SparkColors.Green => LedColor.Green,
            SparkColors.Blue => LedColor.Blue,
            SparkColors.Yellow => LedColor.Yellow,
            SparkColors.Cyan => LedColor.Cyan,
            SparkColors.Magenta => LedColor.Magenta,
            SparkColors.White => LedColor.White,
            SparkColors.Orange => LedColor.Orange,
            _ => LedColor.Off,
        };
        if (colour == LedColor.Off || program.Pattern == LedPattern.Off) return LedState.Dark;
        return new LedState(colour, program.Pattern, program.Pattern is LedPattern.Flashing or LedPattern.FastFlashing ? program.Toggle * 2 : null);
    }

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
