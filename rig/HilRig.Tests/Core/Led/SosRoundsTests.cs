using HilRig.Core.Led;
using HilRig.Sim.Optics.Independent;

namespace HilRig.Tests.Led;

/// <summary>
/// An SOS lasts one or two whole rounds (panic.c), so its fitted rounds reach over red blinks a bright room broke off
/// its train, after its groups as well as before them. Condition: 12 ms integration (ATIME 0xFB), room light half the
/// LED's white with 100 Hz flicker, no `# dark` line. Traces from the independent model on seeds of this test's own.
/// </summary>
public class SosRoundsTests
{
    [Test]
    public void An_SOS_12_whose_second_round_broke_in_a_bright_room_stays_one_SOS_with_its_code()
    {
        var sos12 = IndependentLedModel.Catalogue.Single(s => s.Pattern == LedPattern.Sos && s.SosCode == 12);
        var random = new Random(500_006);
        var trace = IndependentLedModel.Generate(new IndependentCondition(12, 0.5, 0.04 * random.NextDouble(), false), 3, random, sos12);
        var timeline = LedClassifier.Classify(new LedTrace(trace.Samples, trace.Calibration));
        // without the forward reach: "5.8-23.4 s SOS (red), 23.4-29.2 s SOS 12 (red)", the code lost on the longer part
        var verdict = TimelineScore.Score(trace.Truth, timeline)[1];
        Assert.That(verdict.Truth.State, Is.EqualTo(new LedState(LedColor.Red, LedPattern.Sos, SosCode: 12)));
        Assert.That(verdict.Right, Is.True, timeline.ToString());
    }

    [Test]
    public void An_SOS_left_inside_a_code_blink_for_flashing_yellow_keeps_its_code()
    {
        // 12 ms integration in a lit room (15 % of the LED's white) with the `# dark` line: the SOS 4 ends inside a code
        // blink and flashing yellow lights at once; the colour vote around the join takes the yellow's first readings
        // for red, and the round fit took them for the code blink running on (one code too many)
        var sos4 = IndependentLedModel.Catalogue.Single(s => s.Pattern == LedPattern.Sos && s.SosCode == 4);
        var random = new Random(610_164);
        var trace = IndependentLedModel.Generate(new IndependentCondition(12, 0.15, 0.04 * random.NextDouble(), true), 3, random, sos4);
        var timeline = LedClassifier.Classify(new LedTrace(trace.Samples, trace.Calibration));
        // without the rule: "3.5-10.6 s SOS 5 (red)"
        var verdict = TimelineScore.Score(trace.Truth, timeline)[1];
        Assert.That((trace.Truth[2].State.Color, trace.Truth[2].State.Pattern), Is.EqualTo((LedColor.Yellow, LedPattern.Flashing)));
        Assert.That(verdict.Right, Is.True, timeline.ToString());
        Assert.That(verdict.Seen!.State.SosCode, Is.EqualTo(4));
    }

    /// <summary>Trace <paramref name="index"/> of an own seed, generated as `hilrig bench led` generates its seeds' traces.</summary>
    internal static IndependentTrace BenchStyleTrace(int seed, int index)
    {
        double[] integrations = [12, 19.2, 24];
        double[] rooms = [0, 0.03, 0.15, 0.5];
        var random = new Random(seed * 7919 + 17);
        for (var i = 0; ; i++)
        {
            var condition = new IndependentCondition(integrations[i % 3], rooms[i / 3 % 4], 0.04 * random.NextDouble(), i / 12 % 2 == 0);
            var first = IndependentLedModel.Catalogue.Where(s => s.Pattern == LedPattern.Sos).ElementAt(i % 12);
            var trace = IndependentLedModel.Generate(condition, 10, random, first);
            if (i == index) return trace;
        }
    }

    [Test]
    public void An_SOS_entered_in_the_last_ms_of_a_code_blink_is_fitted_from_that_piece()
    {
        // 19.2 ms, lit room, no `# dark` line: the SOS 8 starts in the last few ms of a code blink (a window only partly
        // lit, no pulse); only rounds starting at that piece give the cut blink at the end its other part
        var trace = BenchStyleTrace(200_006, 43);
        var timeline = LedClassifier.Classify(new LedTrace(trace.Samples, trace.Calibration));
        var verdict = TimelineScore.Score(trace.Truth, timeline).Single(v => v.Truth.State.Pattern == LedPattern.Sos);
        // without the rule: "3.48-12.63 s SOS 7 (red)"
        Assert.That(verdict.Truth.State.SosCode, Is.EqualTo(8));
        Assert.That(verdict.Right, Is.True, timeline.ToString());
    }

    [Test]
    public void An_SOS_12_entered_in_the_last_ms_of_a_code_blink_mid_trace_keeps_its_code()
    {
        // 12 ms, dim room, `# dark` line, after fast flashing white: the same start in a code blink's last few ms
        var trace = BenchStyleTrace(200_008, 171);
        var timeline = LedClassifier.Classify(new LedTrace(trace.Samples, trace.Calibration));
        var verdict = TimelineScore.Score(trace.Truth, timeline).Single(v => v.Truth.State.Pattern == LedPattern.Sos && v.Truth.Start > TimeSpan.FromSeconds(80));
        // without the rule: "88.64-99.94 s SOS 11 (red)"
        Assert.That(verdict.Truth.State.SosCode, Is.EqualTo(12));
        Assert.That(verdict.Right, Is.True, timeline.ToString());
    }

    [Test]
    public void An_SOS_between_a_solid_red_and_flashing_cyan_takes_the_code_whose_rounds_fill_the_gap()
    {
        // 24 ms, bright room, `# dark` line: the SOS 9 begins just before a code blink and the solid red before it stays
        // lit into that blink (one pulse), so the blinks seen count 8; the solid red's fall and flashing cyan's first
        // rise pin the rounds' start and end, and only code 9's 10.0 s round spans them (code 8's 9.4 s left 0.3 s of
        // dark between the solid and the SOS's first blink seen)
        var trace = BenchStyleTrace(200_001, 131);
        var timeline = LedClassifier.Classify(new LedTrace(trace.Samples, trace.Calibration));
        var verdict = TimelineScore.Score(trace.Truth, timeline).Single(v => v.Truth.State.Pattern == LedPattern.Sos && v.Truth.Start > TimeSpan.FromSeconds(30));
        var at = trace.Truth.ToList().FindIndex(s => s.Start == verdict.Truth.Start);
        Assert.That((trace.Truth[at - 1].State.Color, trace.Truth[at - 1].State.Pattern), Is.EqualTo((LedColor.Red, LedPattern.Solid)));
        Assert.That((trace.Truth[at + 1].State.Color, trace.Truth[at + 1].State.Pattern), Is.EqualTo((LedColor.Cyan, LedPattern.Flashing)));
        // without the rule: "32.91-42.31 s SOS 8 (red)"
        Assert.That(verdict.Truth.State.SosCode, Is.EqualTo(9));
        Assert.That(verdict.Right, Is.True, timeline.ToString());
    }

    [Test]
    public void An_SOS_left_at_the_end_of_a_code_blink_for_flashing_red_keeps_that_blink()
    {
        // 12 ms, bright room, `# dark` line, off before: the SOS 10 ends as its last code blink falls and flashing red
        // lights at once, one pulse of 0.8 s; the flashing's 500/500 cadence after it dates its first blink to the last
        // 500 ms of that pulse, so the 300 ms before are the SOS's and its rounds reach them
        var trace = BenchStyleTrace(200_006, 177);
        var timeline = LedClassifier.Classify(new LedTrace(trace.Samples, trace.Calibration));
        var verdict = TimelineScore.Score(trace.Truth, timeline).Single(v => v.Truth.State.Pattern == LedPattern.Sos && v.Truth.Start < TimeSpan.FromSeconds(10));
        var at = trace.Truth.ToList().FindIndex(s => s.Start == verdict.Truth.Start);
        Assert.That((trace.Truth[at + 1].State.Color, trace.Truth[at + 1].State.Pattern), Is.EqualTo((LedColor.Red, LedPattern.Flashing)));
        // without the rule: "5.21-15.52 s SOS 9 (red)"
        Assert.That(verdict.Truth.State.SosCode, Is.EqualTo(10));
        Assert.That(verdict.Right, Is.True, timeline.ToString());
    }

    [Test]
    public void An_SOS_left_inside_a_code_blink_for_fast_flashing_red_does_not_take_its_blinks_for_a_code_blink()
    {
        // 19.2 ms, lit room, no `# dark` line, after flashing yellow: the SOS 7 leaves off inside its last code blink and
        // fast flashing red lights at once, one pulse of 0.2 s and then 50 ms blinks; a code blink is lit its whole
        // 300 ms (panic.c), so rounds of code 8 that take that pulse for a whole code blink (its light falling half way)
        // do not explain it
        var trace = BenchStyleTrace(200_001, 19);
        var timeline = LedClassifier.Classify(new LedTrace(trace.Samples, trace.Calibration));
        var verdict = TimelineScore.Score(trace.Truth, timeline).Single(v => v.Truth.State.Pattern == LedPattern.Sos && v.Truth.Start > TimeSpan.FromSeconds(60));
        var at = trace.Truth.ToList().FindIndex(s => s.Start == verdict.Truth.Start);
        Assert.That((trace.Truth[at + 1].State.Color, trace.Truth[at + 1].State.Pattern), Is.EqualTo((LedColor.Red, LedPattern.FastFlashing)));
        // without the rule: "64.03-72.98 s SOS 8 (red)"
        Assert.That(verdict.Truth.State.SosCode, Is.EqualTo(7));
        Assert.That(verdict.Right, Is.True, timeline.ToString());
    }

    [Test]
    public void An_SOS_left_inside_a_code_blink_for_solid_yellow_after_a_solid_red_keeps_its_code()
    {
        // 19.2 ms, dim room, `# dark` line: the solid red before stays lit into the SOS 9's first (cut) code blink and
        // solid yellow lights inside its last code blink; rounds of code 10 took the solid red's light for a code blink
        // and the last one for whole, though its light turns yellow 140 ms before its fall: a code blink is red its
        // whole 300 ms, so the SOS left off there
        var trace = BenchStyleTrace(600_002, 52);
        var timeline = LedClassifier.Classify(new LedTrace(trace.Samples, trace.Calibration));
        var verdict = TimelineScore.Score(trace.Truth, timeline).Single(v => v.Truth.State.Pattern == LedPattern.Sos && v.Truth.Start > TimeSpan.FromSeconds(40) && v.Truth.Start < TimeSpan.FromSeconds(45));
        var at = trace.Truth.ToList().FindIndex(s => s.Start == verdict.Truth.Start);
        Assert.That((trace.Truth[at - 1].State.Color, trace.Truth[at - 1].State.Pattern), Is.EqualTo((LedColor.Red, LedPattern.Solid)));
        Assert.That((trace.Truth[at + 1].State.Color, trace.Truth[at + 1].State.Pattern), Is.EqualTo((LedColor.Yellow, LedPattern.Solid)));
        // without the rule: "41.94-51.52 s SOS 10 (red)"
        Assert.That(verdict.Truth.State.SosCode, Is.EqualTo(9));
        Assert.That(verdict.Right, Is.True, timeline.ToString());
    }
}
