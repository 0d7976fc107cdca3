using HilRig.Core.Led;
using HilRig.Sim.Optics.Independent;

namespace HilRig.Tests.Led;

/// <summary>
/// Breathing cyan straight into a flashing state (24 ms, ATIME 0xF6, dark room, no `# dark` line): the triangle fit
/// pools 100 ms bins, where a train of 51 ms or 101 ms toggles averages to a steady half level that a ramp explains
/// too, and ran the breathing on a second into the blinks. A train the edge rules saw begin inside the fit, at the
/// firmware's toggle for its colour, with a whole blink at its own level inside the fit, is where the breathing ends.
/// Traces from the independent model on seeds of this test's own.
/// </summary>
public class BreathingIntoBlinksTests
{
    [Test]
    public void A_flashing_state_after_breathing_cyan_begins_where_its_blinks_begin()
    {
        var breathing = IndependentLedModel.Catalogue.Single(s => s.Pattern == LedPattern.Breathing && s.Colour == LedColor.Cyan);
        var traces = 0;
        var broken = new List<string>();
        for (var seed = 740_000; seed < 740_340; seed++)
        {
            var random = new Random(seed);
            var trace = IndependentLedModel.Generate(new IndependentCondition(24, 0, 0.04 * random.NextDouble(), false), 3, random, breathing);
            if (trace.Truth[2].State.Pattern is not (LedPattern.Flashing or LedPattern.FastFlashing)) continue;
            traces++;
            var timeline = LedClassifier.Classify(new LedTrace(trace.Samples, trace.Calibration));
            var verdicts = TimelineScore.Score(trace.Truth, timeline);
            if (!verdicts[1].Right || !verdicts[2].Right) broken.Add($"seed {seed}: {timeline}");
        }
        // without the rule 740000, 740286 and 740327 had the breathing run on into the blinks (the flashing state under 80 % seen)
        Assert.That(traces, Is.GreaterThan(100));
        Assert.That(broken, Is.Empty, string.Join("\n", broken));
    }
}
