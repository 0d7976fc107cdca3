using HilRig.Core.Led;
using HilRig.Sim.Optics.Independent;

namespace HilRig.Tests.Led;

/// <summary>
/// A breathing that is switched off part way up or down its ramp stops with a step: the firmware's fade never falls
/// faster than its top in 2.13 s, so light that drops to dark within a reading or two and stays there was switched off.
/// The off after it starts at that step, not where the triangle fit (which explains a flat dark next to a trough too)
/// ran on to. Own bench-style traces (as `hilrig bench led` generates a seed's traces).
/// </summary>
public class BreathingEndTests
{
    [TestCase(200_009, 204, 65.0, TestName = "Off after a breathing green stopped on its ramp (12 ms, dark room, gain 60, no dark line) starts at the step")]
    [TestCase(200_009, 34, 74.0, TestName = "Off after a breathing green stopped on its ramp (19.2 ms, bright room, dark line) starts at the step")]
    public void The_off_after_a_breathing_stopped_mid_ramp_starts_where_the_light_stepped_to_dark(int seed, int index, double atSeconds)
    {
        var at = TimeSpan.FromSeconds(atSeconds);
        var trace = SosRoundsTests.BenchStyleTrace(seed, index);
        var timeline = LedClassifier.Classify(new LedTrace(trace.Samples, trace.Calibration));
        var verdict = TimelineScore.Score(trace.Truth, timeline).Single(v => v.Truth.Start <= at && v.Truth.End > at);
        var breathing = trace.Truth.Single(s => s.End == verdict.Truth.Start);
        // without the rule: "... 64.29-67.24 s off" (true 63.41-67.23 s), "... 73.49-76.72 s off" (true 72.27-76.71 s): the
        // breathing ran on into the dark
        Assert.That(verdict.Truth.State.Pattern, Is.EqualTo(LedPattern.Off));
        Assert.That(breathing.State.Pattern, Is.EqualTo(LedPattern.Breathing));
        Assert.That(verdict.Right, Is.True, timeline.ToString());
        Assert.That(verdict.Seen!.Start - verdict.Truth.Start, Is.LessThan(TimeSpan.FromMilliseconds(200)), timeline.ToString());
    }
}
