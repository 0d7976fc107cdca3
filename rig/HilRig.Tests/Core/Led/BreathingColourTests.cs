using HilRig.Core.Led;
using HilRig.Sim.Optics.Independent;

namespace HilRig.Tests.Led;

/// <summary>
/// The breathing's colour is pooled from its own readings: where a blue state's blinks (or a solid blue) that the edge
/// rules saw run on past the envelope fit's span lie inside that span, they are left out before the colour is taken
/// and before the ends are trimmed by colour. Green light plus blue reads as cyan through the TCS34725's channels, so
/// with them a breathing green next to blue was called breathing cyan, or cut short where its own bins did not read
/// the mixed colour. Own bench-style traces (as `hilrig bench led` generates a seed's traces).
/// </summary>
public class BreathingColourTests
{
    [TestCase(200_008, 70, 49.0, TestName = "Breathing green between two solid blues (19.2 ms, bright room, no dark line) is green")]
    [TestCase(200_010, 70, 99.0, TestName = "Breathing green between a solid cyan and a solid blue (19.2 ms, bright room, no dark line) keeps its end")]
    [TestCase(200_004, 103, 50.0, TestName = "Breathing green between a solid magenta and a solid red (19.2 ms, lit room, dark line) keeps its end")]
    public void A_breathing_green_next_to_another_colour_is_green_over_its_whole_length(int seed, int index, double atSeconds)
    {
        var at = TimeSpan.FromSeconds(atSeconds);
        var trace = SosRoundsTests.BenchStyleTrace(seed, index);
        var timeline = LedClassifier.Classify(new LedTrace(trace.Samples, trace.Calibration));
        var verdict = TimelineScore.Score(trace.Truth, timeline).Single(v => v.Truth.Start <= at && v.Truth.End > at);
        // without the rule: "46.46-51.29 s breathing cyan" (true 46.45-51.67 s breathing green), "97.13-100.60 s breathing
        // green" (true 97.12-102.14 s), "47.67-51.09 s breathing green, 51.09-52.66 s flashing green" (true 47.67-53.74 s)
        Assert.That((verdict.Truth.State.Color, verdict.Truth.State.Pattern), Is.EqualTo((LedColor.Green, LedPattern.Breathing)));
        Assert.That(verdict.Right, Is.True, timeline.ToString());
    }
}
