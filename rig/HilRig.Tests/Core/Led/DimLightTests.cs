using HilRig.Core.Led;
using HilRig.Sim.Optics.Independent;

namespace HilRig.Tests.Led;

/// <summary>
/// A 96/256 blue in a bright room (room light half the LED's white, 100 Hz flicker) at 12 ms with the `# dark` line is
/// 3-6 sigma of one reading's noise, under the 5-sigma lit floor for most of its readings. Its blinks must still be seen
/// as the one flashing blue they are: readings pooled over a lit stretch are lit when the pooled mean is clear, and a
/// dip of readings inside a blink with no three dark in a row is no dark (the Core's shortest dark, 51 ms, holds three
/// whole 12 ms windows in a row). Traces from the independent model on seeds of this test's own (840000-840299, blue first after the off).
/// </summary>
public class DimLightTests
{
    private static (IndependentTrace Trace, LedTimeline Timeline) Classify(int seed, LedPattern pattern)
    {
        var blue = IndependentLedModel.Catalogue.First(s => s.Colour == LedColor.Blue && s.Pattern == pattern);
        var random = new Random(seed);
        var trace = IndependentLedModel.Generate(new IndependentCondition(12, 0.5, 0.04 * random.NextDouble(), true), 3, random, blue);
        return (trace, LedClassifier.Classify(new LedTrace(trace.Samples, trace.Calibration)));
    }

    // without the dip rule, e.g. 840024: "4.25-8.49 s flashing blue, 8.49-9.29 s flashing blue (93 ms), 9.29-11.99 s
    // flashing blue": one blink broken in three made a faster flashing in the middle
    [TestCase(840_020)]
    [TestCase(840_024)]
    [TestCase(840_029)]
    public void A_dim_blue_blink_dipping_under_the_floor_stays_one_blink(int seed)
    {
        var (trace, timeline) = Classify(seed, LedPattern.Flashing);
        Assert.That(TimelineScore.Score(trace.Truth, timeline)[1].Right, Is.True, timeline.ToString());
    }

    // without the pooled lit stretch: 840104 "6.0-7.4 s flashing blue, 7.4-12.6 s flashing blue, ..." (its first blinks
    // in pieces at another period); 840121 "fast flashing blue, fast flashing blue (15 ms), fast flashing cyan, ..."
    [TestCase(840_104, LedPattern.Flashing)]
    [TestCase(840_121, LedPattern.FastFlashing)]
    public void A_dim_blue_under_the_floor_is_lit_by_its_pooled_readings(int seed, LedPattern pattern)
    {
        var (trace, timeline) = Classify(seed, pattern);
        Assert.That(TimelineScore.Score(trace.Truth, timeline)[1].Right, Is.True, timeline.ToString());
    }
}
