using HilRig.Core.Led;
using HilRig.Sim.Optics.Independent;

namespace HilRig.Tests.Led;

/// <summary>
/// The firmware fades only green and cyan (breathing) and white (the start-up fade), spark-core.md 5.2: a ramp read in
/// another colour is a neighbouring state's light running into an edge. A breathing cyan's fall that ran into flashing
/// red's first blink (the colour vote took the fall for red) made a 600 ms red pulse with a smooth rise, "breathing
/// red", and the flashing red began a blink late. Own bench-style traces (as `hilrig bench led` generates them).
/// </summary>
public class OnlyGreenAndCyanBreatheTests
{
    [TestCase(200_003, 166, 103.0, TestName = "Flashing red after a breathing cyan (19.2 ms, bright room, no dark line) starts with its first blink")]
    [TestCase(200_007, 218, 63.0, TestName = "Flashing red after a breathing cyan (24 ms, dark room, dark line) starts with its first blink")]
    public void A_flashing_red_right_after_a_breathing_cyan_is_not_breathing_red(int seed, int index, double atSeconds)
    {
        var at = TimeSpan.FromSeconds(atSeconds);
        var trace = SosRoundsTests.BenchStyleTrace(seed, index);
        var timeline = LedClassifier.Classify(new LedTrace(trace.Samples, trace.Calibration));
        var verdict = TimelineScore.Score(trace.Truth, timeline).Single(v => v.Truth.Start <= at && v.Truth.End > at);
        // without the rule: "100.80-101.86 s breathing red, 101.86-104.88 s flashing red" (true 100.86-105.22 s flashing
        // red) and "61.02-62.02 s breathing red, 62.02-65.54 s flashing red" (true 61.00-65.54 s)
        Assert.That(verdict.Truth.State.Pattern, Is.EqualTo(LedPattern.Flashing));
        Assert.That(verdict.Right, Is.True, timeline.ToString());
        Assert.That(timeline.Segments.Where(s => s.State.Pattern == LedPattern.Breathing && s.State.Color is not (LedColor.Green or LedColor.Cyan)),
            Is.Empty, timeline.ToString());
    }
}
