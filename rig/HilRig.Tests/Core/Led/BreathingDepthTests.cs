using HilRig.Core.Led;
using HilRig.Sim.Optics.Independent;

namespace HilRig.Tests.Led;

/// <summary>
/// Breathing is told from a solid light by the depth of its modulation (near dark to full brightness along the
/// firmware's triangle), not by the presence of modulation. The condition where that matters most: 12 ms integration
/// (ATIME 0xFB, PWM beat up to 2:1), a bright room with 100 Hz flicker (room light half the LED's white), no `# dark`
/// line, a 96/256 Core. Traces from the independent model on seeds of this test's own (not the bench's).
/// </summary>
public class BreathingDepthTests
{
    private static IndependentTrace Bright12Ms(int seed, IndependentState first)
    {
        var random = new Random(seed);
        return IndependentLedModel.Generate(new IndependentCondition(12, 0.5, 0.04 * random.NextDouble(), false), 3, random, first);
    }

    private static LedTimeline Classify(IndependentTrace trace) => LedClassifier.Classify(new LedTrace(trace.Samples, trace.Calibration));

    private static IndependentState Solid(LedColor colour) =>
        IndependentLedModel.Catalogue.Single(s => s.Pattern == LedPattern.Solid && s.Colour == colour);

    /// <summary>
    /// A dim solid blue broke into pieces at its end (shot noise on the room light), and a piece of 0.7 s whose edge
    /// spread over a few readings was called breathing blue; its level has no ramp in it.
    /// </summary>
    [Test]
    public void A_dim_solid_blue_in_a_bright_room_at_12_ms_is_not_called_breathing()
    {
        var trace = Bright12Ms(101_610, Solid(LedColor.Blue));
        var timeline = Classify(trace);
        var solid = trace.Truth.Single(s => s.State == new LedState(LedColor.Blue, LedPattern.Solid));
        var breathing = timeline.Segments.Where(s => s.State.Pattern == LedPattern.Breathing && TimelineScore.Overlap(s, solid) > TimeSpan.Zero).ToList();
        Assert.That(breathing, Is.Empty, timeline.ToString());
        Assert.That(timeline.Segments.Any(s => s.State == new LedState(LedColor.Blue, LedPattern.Solid) && TimelineScore.Overlap(s, solid) > 0.9 * (solid.End - solid.Start)),
            timeline.ToString());
    }

    /// <summary>The same condition with the Core breathing (cyan, green): the depth rule keeps them breathing.</summary>
    [Test]
    public void Dim_breathing_in_the_same_condition_stays_breathing()
    {
        var breathing = IndependentLedModel.Catalogue.Where(s => s.Pattern == LedPattern.Breathing).ToList();
        int total = 0, right = 0;
        for (var seed = 0; seed < 24; seed++)
        {
            var trace = Bright12Ms(200_000 + seed, breathing[seed % breathing.Count]);
            var truth = trace.Truth[1];
            total++;
            if (Classify(trace).Segments.Any(s => s.State.Pattern == LedPattern.Breathing && s.State.Color == truth.State.Color
                                                  && TimelineScore.Overlap(s, truth) > 0.5 * (truth.End - truth.Start)))
                right++;
        }
        TestContext.Out.WriteLine($"breathing found on {right} of {total}");
        Assert.That(right, Is.GreaterThanOrEqualTo(total - 2), "at most two lost to the room light");
    }

    /// <summary>
    /// A breathing green cut short (under 3.5 s, less than a period: fewer than three fit windows) in the same condition:
    /// its trough was off, the PWM beat on its rise a few blinks, its top and fall a solid green. Its level has the
    /// triangle's depth, so it is breathing (15 of 26 were before the short-breathing rule).
    /// </summary>
    [Test]
    public void A_breathing_green_cut_short_in_that_condition_is_breathing_not_solid()
    {
        var green = IndependentLedModel.Catalogue.Single(s => s.Pattern == LedPattern.Breathing && s.Colour == LedColor.Green);
        var missed = new List<string>();
        var total = 0;
        for (var seed = 400_000; seed < 400_300; seed++)
        {
            var trace = Bright12Ms(seed, green);
            var truth = trace.Truth[1];
            if (truth.Duration >= TimeSpan.FromSeconds(3.5)) continue;
            total++;
            var seen = TimelineScore.Score(trace.Truth, Classify(trace))[1].Seen;
            if (seen?.State is not { Pattern: LedPattern.Breathing, Color: LedColor.Green }) missed.Add($"seed {seed}: {truth} seen as {seen}");
        }
        Assert.That(total, Is.GreaterThanOrEqualTo(20));
        Assert.That(missed, Is.Empty, string.Join("\n", missed));
    }
}
