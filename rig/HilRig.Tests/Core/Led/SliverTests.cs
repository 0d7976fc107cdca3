using HilRig.Core.Led;
using HilRig.Sim.Optics.Independent;

namespace HilRig.Tests.Led;

/// <summary>
/// No Core state is shorter than a fast flashing toggle (51 ms): a sliver of a few ms that the edge rules leave between
/// two segments (here a "fast flashing red" at the first rise of an SOS 10 under bright room light, 12 ms, no `# dark`
/// line) is the segment before it running on, and does not split the opening off in two. Traces from the independent
/// model on seeds of this test's own.
/// </summary>
public class SliverTests
{
    [TestCase(770_021)]
    [TestCase(770_069)]
    [TestCase(770_083)]
    public void The_opening_off_before_an_SOS_in_a_bright_room_is_one_off(int seed)
    {
        var sos10 = IndependentLedModel.Catalogue.Single(s => s.Pattern == LedPattern.Sos && s.SosCode == 10);
        var random = new Random(seed);
        var trace = IndependentLedModel.Generate(new IndependentCondition(12, 0.5, 0.04 * random.NextDouble(), false), 2, random, sos10);
        var timeline = LedClassifier.Classify(new LedTrace(trace.Samples, trace.Calibration));
        // without the rule, e.g. 770021: "0.0-1.6 s off, 1.6-1.6 s fast flashing red, 1.6-3.6 s off, 3.6-14.1 s SOS 10 (red)"
        Assert.That(TimelineScore.Score(trace.Truth, timeline)[0].Right, Is.True, timeline.ToString());
        Assert.That(timeline.Segments.Where(s => s.Duration < TimeSpan.FromMilliseconds(50)), Is.Empty, timeline.ToString());
    }
}
