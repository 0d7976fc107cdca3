using HilRig.Core.Led;
using HilRig.Sim.Optics.Independent;

namespace HilRig.Tests.Led;

/// <summary>
/// A solid of a breathing's colour set while the breathing was on its way up: the edge rules see the solid begin where
/// the ramp crossed the floor, but a Core's solid is set at once at full level, so the light before the solid's flat top
/// (its averaged level at 80 % of its top and staying there) is the breathing's ramp. Traces from the independent model
/// on a seed of this test's own (breathing green, then solid green: 1 of 136 such traces at 12 ms in a dim room with
/// the `# dark` line, none changed at 19.2 ms in the dark or 24 ms in a lit room).
/// </summary>
public class BreathingIntoSolidTests
{
    [Test]
    public void A_breathing_green_that_runs_into_a_solid_green_keeps_its_last_ramp()
    {
        var breathingGreen = IndependentLedModel.Catalogue.Single(s => s.Colour == LedColor.Green && s.Pattern == LedPattern.Breathing);
        var random = new Random(820_520);
        var trace = IndependentLedModel.Generate(new IndependentCondition(12, 0.03, 0.04 * random.NextDouble(), true), 2, random, breathingGreen);
        var timeline = LedClassifier.Classify(new LedTrace(trace.Samples, trace.Calibration));
        var verdicts = TimelineScore.Score(trace.Truth, timeline);
        Assert.That(trace.Truth[2].State, Is.EqualTo(new LedState(LedColor.Green, LedPattern.Solid)));
        // without the rule: "4.4-10.0 s breathing green, 10.0-18.8 s solid green" (true 4.8-11.8 s breathing green)
        Assert.That(verdicts[1].Right, Is.True, timeline.ToString());
        Assert.That(verdicts[2].Right, Is.True, timeline.ToString());
    }
}
