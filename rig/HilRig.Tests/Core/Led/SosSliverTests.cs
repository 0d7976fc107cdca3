using HilRig.Core.Led;
using HilRig.Sim.Optics.Independent;

namespace HilRig.Tests.Led;

/// <summary>
/// In a bright room at 12 ms (room light half the LED's white, 100 Hz flicker) single readings of the dark between an
/// SOS's blinks cross the lit floor and single readings inside a blink dip under it. Pieces that short are no Core light
/// (fast flashing's 51 ms is the shortest) and no Core dark is that short either, so between red SOS-like blinks they
/// are noise or a dip and must not cut the SOS. Traces from the independent model, generated as `hilrig bench led` does.
/// </summary>
public class SosSliverTests
{
    private static (IndependentTrace Trace, LedTimeline Timeline) Classified(int seed, int index)
    {
        var trace = SosRoundsTests.BenchStyleTrace(seed, index);
        return (trace, LedClassifier.Classify(new LedTrace(trace.Samples, trace.Calibration)));
    }

    [Test]
    public void An_SOS_10_whose_blinks_dip_and_whose_darks_flicker_is_one_SOS_over_both_rounds()
    {
        // `# dark` line, gain 4: two code blinks broken by a dip (24 + 230 ms, 78 + 184 ms) and red pieces of 0-40 ms in
        // the darks cut the train; before this rule (and the 12 ms dip rule, which now joins these dips too) "4.32-12.64 s
        // SOS 10 (red)", the second round flashing red and SOS
        var (trace, timeline) = Classified(200_008, 81);
        var verdict = TimelineScore.Score(trace.Truth, timeline).Single(v => v.Truth.State.Pattern == LedPattern.Sos);
        Assert.That(trace.Condition.IntegrationMs, Is.EqualTo(12));
        Assert.That(verdict.Truth.State.SosCode, Is.EqualTo(10));
        Assert.That(verdict.Right, Is.True, timeline.ToString());
        Assert.That(verdict.Seen!.State.SosCode, Is.EqualTo(10));
    }

    [Test]
    public void Room_light_pieces_of_other_colours_in_an_SOS_pause_do_not_end_the_SOS()
    {
        // no `# dark` line, gain 16: green pieces of 5-43 ms in the 900 ms pause after a signature ended the red train
        // there; without the rule "38.06-43.80 s SOS 1 (red)", its first 4.6 s taken for another state
        var (trace, timeline) = Classified(200_008, 93);
        var verdict = TimelineScore.Score(trace.Truth, timeline).Single(v => v.Truth.State.SosCode == 1);
        Assert.That(verdict.Right, Is.True, timeline.ToString());
        Assert.That(verdict.Seen!.Start, Is.LessThan(TimeSpan.FromSeconds(34)));
    }

    [Test]
    public void A_red_sliver_ending_the_train_off_the_SOS_s_timing_does_not_break_its_last_group()
    {
        // 19.2 ms, bright room, no `# dark` line: a 27 ms red piece 390 ms after the SOS 4's last signature blink (no dark
        // of panic.c is that long), at the foot of the breathing cyan after it, broke the signature's group:
        // "78.59-82.13 s flashing red"
        var (trace, timeline) = Classified(200_007, 46);
        var verdict = TimelineScore.Score(trace.Truth, timeline).Single(v => v.Truth.State.Pattern == LedPattern.Sos && v.Truth.Start > TimeSpan.FromSeconds(70));
        Assert.That(verdict.Truth.State.SosCode, Is.EqualTo(4));
        Assert.That(verdict.Right, Is.True, timeline.ToString());
        Assert.That(verdict.Seen!.State.SosCode, Is.EqualTo(4));
    }

    [Test]
    public void Fast_flashing_red_lit_at_once_after_an_SOS_blink_is_not_joined_to_it()
    {
        // 24 ms, lit room: the SOS 11 leaves off after a signature blink and fast flashing red lights 35 ms after its fall
        // (the state changed in the blink's off); joined, the blink was 229 ms, a code blink, and the SOS lost its code
        var (trace, timeline) = Classified(3, 200);
        var verdicts = TimelineScore.Score(trace.Truth, timeline);
        var sos = verdicts.Single(v => v.Truth.State.Pattern == LedPattern.Sos && v.Truth.Start > TimeSpan.FromSeconds(80));
        Assert.That(sos.Truth.State.SosCode, Is.EqualTo(11));
        Assert.That(sos.Right, Is.True, timeline.ToString());
        Assert.That(verdicts.Single(v => v.Truth.Start == sos.Truth.End).Right, Is.True, timeline.ToString());
    }
}

/// <summary>
/// The states on either side of an SOS are set at once (spark-core.md 5.2): a flashing red keeps its cadence until the
/// SOS takes over, and the next state lights where the SOS leaves off. Traces from the independent model, generated as
/// `hilrig bench led` does.
/// </summary>
public class SosNeighbourCadenceTests
{
    /// <summary>The verdict on the first SOS of the trace that starts after <paramref name="after"/> s.</summary>
    private static TimelineScore.Verdict Sos(int seed, int index, double after, out LedTimeline timeline)
    {
        var trace = SosRoundsTests.BenchStyleTrace(seed, index);
        timeline = LedClassifier.Classify(new LedTrace(trace.Samples, trace.Calibration));
        return TimelineScore.Score(trace.Truth, timeline).First(v => v.Truth.State.Pattern == LedPattern.Sos && v.Truth.Start > TimeSpan.FromSeconds(after));
    }

    [Test]
    public void A_flashing_red_blink_lit_on_its_cadence_where_the_SOS_began_is_no_code_blink()
    {
        // 12 ms, dark room: flashing red's next blink rose on time (501 ms after its last fell) and the SOS 11 took over
        // inside it, in a code blink; taken as a whole code blink it was "59.21-70.62 s SOS 12 (red)"
        var verdict = Sos(200_003, 72, 50, out var timeline);
        Assert.That(verdict.Truth.State.SosCode, Is.EqualTo(11));
        Assert.That(verdict.Right, Is.True, timeline.ToString());
    }

    [Test]
    public void An_SOS_ends_where_the_next_state_of_another_colour_lights()
    {
        // 19.2 ms, lit room: the SOS 4 began in the flashing red's blink and ended in its pause where a solid orange lit;
        // rounds of code 5 from that blink's rise ran 0.33 s into the orange, where they predict dark ("48.89-56.53 s
        // SOS 5 (red)")
        var verdict = Sos(3, 55, 40, out var timeline);
        Assert.That(verdict.Truth.State.SosCode, Is.EqualTo(4));
        Assert.That(verdict.Right, Is.True, timeline.ToString());
    }

    [Test]
    public void A_signature_blink_read_as_orange_in_a_bright_room_still_bounds_the_rounds_as_the_SOS_s()
    {
        // 12 ms, bright room: two rounds of SOS 12 after off, the first signature blink's readings tipped to orange; taken
        // for a neighbour's light it kept code 12's rounds from starting before it ("5.55-27.89 s SOS 11 (red)")
        var verdict = Sos(200_003, 83, 0, out var timeline);
        Assert.That(verdict.Truth.State.SosCode, Is.EqualTo(12));
        Assert.That(verdict.Right, Is.True, timeline.ToString());
    }

    [Test]
    public void A_flashing_red_blink_cut_where_the_SOS_began_stays_with_the_flashing()
    {
        // 12 ms, bright room: flashing red's last blink, cut to 349 ms where the SOS 10 began, sat 276 ms before the
        // signature and broke its group: no SOS was found ("94.23-104.69 s flashing red")
        var verdict = Sos(600_001, 225, 90, out var timeline);
        Assert.That(verdict.Truth.State.SosCode, Is.EqualTo(10));
        Assert.That(verdict.Right, Is.True, timeline.ToString());
    }

    [Test]
    public void A_code_blink_that_rose_on_the_flashing_s_cadence_stays_the_SOS_s()
    {
        // 24 ms: the SOS 7 began in the flashing red's off and its first code blink (283 ms, the next one 592 ms later)
        // rose 9 ms from where the flashing's next blink would have; given to the flashing it left "SOS 6 (red)"
        var verdict = Sos(200_007, 168, 30, out var timeline);
        Assert.That(verdict.Truth.State.SosCode, Is.EqualTo(7));
        Assert.That(verdict.Right, Is.True, timeline.ToString());
    }
}
