using HilRig.Core.Led;
using HilRig.Sim.Optics.Independent;

namespace HilRig.Tests.Led;

/// <summary>
/// A breathing rises from dark (the fade starts at its trough): right after another colour's state, its foot is a dark
/// under a trough's length and the PWM beat flipping the dim ramp's readings across the floor (short pieces of
/// "flashing" in any colour). Those are the breathing's, so a short breathing (under 3 s) keeps its start. Own
/// bench-style traces (as `hilrig bench led` generates a seed's traces).
/// </summary>
public class BreathingRiseTests
{
    [TestCase(200_008, 48, 11.0, TestName = "Breathing green after an SOS 1 (12 ms, dark room, dark line) starts where the SOS ends")]
    [TestCase(200_009, 35, 70.0, TestName = "Breathing cyan after solid orange (24 ms, bright room, dark line) starts where the orange ends")]
    public void A_short_breathing_after_another_colour_starts_at_its_rise_from_dark(int seed, int index, double atSeconds)
    {
        var at = TimeSpan.FromSeconds(atSeconds);
        var trace = SosRoundsTests.BenchStyleTrace(seed, index);
        var timeline = LedClassifier.Classify(new LedTrace(trace.Samples, trace.Calibration));
        var verdict = TimelineScore.Score(trace.Truth, timeline).Single(v => v.Truth.Start <= at && v.Truth.End > at);
        // without the rule: "9.84-10.17 s off, 10.17-12.56 s breathing green" (true 9.54-12.36 s) and "68.83-69.67 s off,
        // 69.67-72.50 s breathing cyan" (true 68.82-71.52 s): the off was cut from the breathing by a sliver of blinks
        Assert.That(verdict.Truth.State.Pattern, Is.EqualTo(LedPattern.Breathing));
        Assert.That(verdict.Right, Is.True, timeline.ToString());
    }
}
