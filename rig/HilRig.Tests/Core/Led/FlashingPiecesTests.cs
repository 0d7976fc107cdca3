using HilRig.Core.Led;
using HilRig.Sim.Optics.Independent;

namespace HilRig.Tests.Led;

/// <summary>
/// A flashing state stays one state where a weak colour's blinks drift: fast flashing blue at 12 ms integration
/// (ATIME 0xFB) in a bright room (room light half the LED's white, 100 Hz flicker), no `# dark` line. A blink or two
/// read as cyan (the room's shot noise on a 96/256 blue) or one slow period (a blink lost to the floor) is not a state
/// of its own: a Core's flashing lasts seconds. Traces from the independent model on seeds of this test's own.
/// </summary>
public class FlashingPiecesTests
{
    [Test]
    public void Fast_flashing_blue_in_a_bright_room_at_12_ms_is_not_broken_by_a_blink_or_two_of_cyan()
    {
        var fast = IndependentLedModel.Catalogue.Single(s => s.Pattern == LedPattern.FastFlashing && s.Colour == LedColor.Blue);
        var broken = new List<string>();
        for (var seed = 300_000; seed < 300_024; seed++)
        {
            var random = new Random(seed);
            var trace = IndependentLedModel.Generate(new IndependentCondition(12, 0.5, 0.04 * random.NextDouble(), false), 3, random, fast);
            var timeline = LedClassifier.Classify(new LedTrace(trace.Samples, trace.Calibration));
            if (!TimelineScore.Score(trace.Truth, timeline)[1].Right) broken.Add($"seed {seed}: {timeline}");
        }
        // without the rule seeds 300005 and 300007 broke into blue and cyan pieces
        Assert.That(broken, Is.Empty, string.Join("\n", broken));
    }
}

/// <summary>
/// A flashing train's first period is the odd one when the periods after it keep another rate: its first blink was
/// broken, or the last blink of the state before took its colour. Own bench-style traces (as `hilrig bench led`
/// generates a seed's traces) where the first period split flashing blue into two flashing blues of different rates.
/// </summary>
public class FlashingFirstPeriodTests
{
    [TestCase(200_003, 17, 33.0, TestName = "Flashing blue after fast flashing red (24 ms, dim room, no dark line) is one flashing blue")]
    [TestCase(200_007, 6, 74.0, TestName = "Flashing blue after breathing green (12 ms, lit room, dark line) is one flashing blue")]
    public void A_flashing_blue_whose_first_period_is_odd_is_one_state(int seed, int index, double atSeconds)
    {
        var at = TimeSpan.FromSeconds(atSeconds);
        var trace = SosRoundsTests.BenchStyleTrace(seed, index);
        var timeline = LedClassifier.Classify(new LedTrace(trace.Samples, trace.Calibration));
        var verdict = TimelineScore.Score(trace.Truth, timeline).Single(v => v.Truth.Start <= at && v.Truth.End > at);
        Assert.That(verdict.Truth.State.ToString(), Is.EqualTo("flashing blue"));
        // without the rule: "32.15-33.27 s flashing blue" (toggle 155 ms) then "33.27-34.80 s flashing blue" (253 ms), and
        // "72.41-73.42 s flashing blue" (142 ms) then "73.42-77.03 s flashing blue" (251 ms)
        Assert.That(verdict.Right, Is.True, timeline.ToString());
    }
}

/// <summary>
/// panic.c shows whole rounds: an SOS without its code and shorter than the signature alone, in the middle of a
/// flashing red, is a few of the flashing's 500 ms blinks broken by the room's shot noise into SOS-like lengths.
/// Flashing red at 12 ms in a bright room (room light half the LED's white, 100 Hz flicker) with the `# dark` line.
/// Traces from the independent model on seeds of this test's own.
/// </summary>
public class FlashingRedSosPieceTests
{
    [TestCase(790_062)]
    [TestCase(790_083)]
    [TestCase(790_095)]
    public void A_piece_of_SOS_without_code_inside_flashing_red_is_flashing_red(int seed)
    {
        var flashing = IndependentLedModel.Catalogue.Single(s => s.Pattern == LedPattern.Flashing && s.Colour == LedColor.Red);
        var random = new Random(seed);
        var trace = IndependentLedModel.Generate(new IndependentCondition(12, 0.5, 0.04 * random.NextDouble(), true), 3, random, flashing);
        var timeline = LedClassifier.Classify(new LedTrace(trace.Samples, trace.Calibration));
        Assert.That(TimelineScore.Score(trace.Truth, timeline)[1].Right, Is.True, timeline.ToString());
    }
}
