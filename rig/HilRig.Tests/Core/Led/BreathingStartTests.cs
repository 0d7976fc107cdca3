using HilRig.Core.Led;
using HilRig.Sim.Optics.Independent;

namespace HilRig.Tests.Led;

/// <summary>
/// A breathing starts no earlier than its first reading over the lit floor less floor / top of a ramp; that reading is
/// the ramp's, not a lone reading of room noise or a neighbour's leak over the floor in the off before it: past the
/// floor the ramp keeps climbing, so the readings of the next 100 ms average at the floor or over it (less three sigmas
/// of their mean's noise). Traces from the independent model on seeds of this test's own, the trace's opening off then
/// a breathing green, no `# dark` line (on 600 such traces each, both segments right: 12 ms lit room 444 -> 500,
/// 19.2 ms lit room 464 -> 500, 24 ms dim room 579 -> 590; none went wrong).
/// </summary>
public class BreathingStartTests
{
    [TestCase(830_004, 12, 0.15, TestName = "Off before a breathing green (12 ms, lit room) is not cut short by the room's noise")]
    [TestCase(830_020, 19.2, 0.15, TestName = "Off before a breathing green (19.2 ms, lit room) is not cut short by the room's noise")]
    [TestCase(830_028, 24, 0.03, TestName = "Off before a breathing green (24 ms, dim room) is not cut short by the room's noise")]
    public void The_off_before_a_breathing_ends_where_its_ramp_crosses_the_floor(int seed, double integrationMs, double room)
    {
        var breathingGreen = IndependentLedModel.Catalogue.Single(s => s.Colour == LedColor.Green && s.Pattern == LedPattern.Breathing);
        var random = new Random(seed);
        var trace = IndependentLedModel.Generate(new IndependentCondition(integrationMs, room, 0.04 * random.NextDouble(), false), 2, random, breathingGreen);
        var timeline = LedClassifier.Classify(new LedTrace(trace.Samples, trace.Calibration));
        var verdicts = TimelineScore.Score(trace.Truth, timeline);
        // without the rule: "0.0-2.3 s off, 2.3-13.4 s breathing green" (true off 0.0-4.1 s), "0.0-1.9 s off" (true
        // 0.0-3.0 s), "0.0-3.3 s off" (true 0.0-4.2 s)
        Assert.That(verdicts[0].Truth.State.Pattern, Is.EqualTo(LedPattern.Off));
        Assert.That(verdicts[0].Right, Is.True, timeline.ToString());
        Assert.That(verdicts[1].Right, Is.True, timeline.ToString());
    }
}
