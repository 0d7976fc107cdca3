using HilRig.Core.Led;

namespace HilRig.Tests.Led;

/// <summary>
/// Noise-free traces built window by window from a known light, for the cases issue 18 names: SOS rounds cut by a
/// segment's edge, a dim colour straight into a bright one, and a clear channel that clips before its colours.
/// </summary>
public class LedEdgeCaseTests
{
    private const double WindowMs = 24;

    /// <summary>Light as (from ms, to ms, counts per ms at 1x per channel R, G, B, C); dark elsewhere.</summary>
    private static List<LedSample> Trace(double untilMs, params (double From, double To, double R, double G, double B, double C)[] light)
    {
        var samples = new List<LedSample>();
        for (var end = WindowMs; end <= untilMs; end += WindowMs)
        {
            double r = 0.5, g = 0.5, b = 0.5, c = 1.5;
            foreach (var l in light)
            {
                var overlap = Math.Max(0, Math.Min(end, l.To) - Math.Max(end - WindowMs, l.From));
                r += l.R * overlap; g += l.G * overlap; b += l.B * overlap; c += l.C * overlap;
            }
            static ushort U(double v) => (ushort)Math.Clamp(Math.Round(v), 0, 10240);
            samples.Add(new LedSample(TimeSpan.FromMilliseconds(end), U(r), U(g), U(b), U(c), 1, WindowMs));
        }
        return samples;
    }

    private static readonly SlotCalibration Calibration = new(-1, 0.5 / WindowMs, 0.5 / WindowMs, 0.5 / WindowMs, 1.5 / WindowMs, 0.05, 1, WindowMs, 100);

    private static (double, double, double, double, double, double) Red(double from, double to) => (from, to, 40, 4, 2.4, 46);

    /// <summary>panic.c's round from its signature: (on ms, off ms) per blink.</summary>
    private static List<(double On, double Off)> Round(int code)
    {
        var round = new List<(double, double)>();
        for (var i = 0; i < 3; i++) round.Add((150, i == 2 ? 200 : 100));
        for (var i = 0; i < 3; i++) round.Add((300, i == 2 ? 200 : 100));
        for (var i = 0; i < 3; i++) round.Add((150, i == 2 ? 1000 : 100));
        for (var i = 0; i < code; i++) round.Add((300, i == code - 1 ? 1100 : 300));
        return round;
    }

    /// <summary>Red blinks of one SOS round from <paramref name="start"/>, stopped at <paramref name="stop"/>.</summary>
    private static List<(double, double, double, double, double, double)> Sos(int code, double start, double stop)
    {
        var light = new List<(double, double, double, double, double, double)>();
        var t = start;
        foreach (var (on, off) in Round(code))
        {
            if (t >= stop) break;
            light.Add(Red(t, Math.Min(stop, t + on)));
            t += on + off;
        }
        return light;
    }

    [Test]
    public void An_SOS_entered_in_its_pause_and_followed_straight_by_another_state_keeps_its_code()
    {
        // 800 ms of the pause, then the signature and a code of 5; green starts 300 ms after the last code blink
        var light = Sos(5, 3800, 3800 + 3800 + 5 * 600 - 300);
        var end = light[^1].Item2 + 300;
        light.Add((end, end + 5000, 5, 38, 12, 45));
        var timeline = new LedClassifier(Calibration).Classify(Trace(end + 5000, [.. light]));

        var sos = timeline.Segments.Single(s => s.State.Pattern == LedPattern.Sos);
        Assert.That(sos.State.SosCode, Is.EqualTo(5), timeline.ToString());
        Assert.That(timeline.Segments[^1].State, Is.EqualTo(new LedState(LedColor.Green, LedPattern.Solid)), timeline.ToString());
    }

    [Test]
    public void An_SOS_entered_in_its_pause_starts_where_the_pause_began_not_at_its_first_blink()
    {
        // the round is entered 800 ms before its signature, so it ends 300 ms into the same pause, where green starts:
        // the dark before the first blink is the other 800 ms of that pause, not an off state
        var light = Sos(5, 3800, 3800 + 3800 + 5 * 600 - 300);
        var end = light[^1].Item2 + 300;
        light.Add((end, end + 5000, 5, 38, 12, 45));
        var timeline = new LedClassifier(Calibration).Classify(Trace(end + 5000, [.. light]));

        var sos = timeline.Segments.Single(s => s.State.Pattern == LedPattern.Sos);
        Assert.That(sos.Start.TotalMilliseconds, Is.EqualTo(3000).Within(100), timeline.ToString());
        Assert.That(sos.End.TotalMilliseconds, Is.EqualTo(end).Within(100), timeline.ToString());
    }

    [Test]
    public void Flashing_red_straight_after_solid_red_starts_at_its_first_blink_which_the_solid_hides()
    {
        // the firmware sets the colour, then toggles: the first 501 ms blink carries the solid on, the first dark is
        // its first off toggle
        var light = new List<(double, double, double, double, double, double)> { Red(2000, 7000) };
        for (var t = 7000.0; t < 12_000; t += 1002) light.Add(Red(t, t + 501));
        var timeline = new LedClassifier(Calibration).Classify(Trace(14_000, [.. light]));

        var flashing = timeline.Segments.Single(s => s.State.Pattern == LedPattern.Flashing);
        var solid = timeline.Segments.Single(s => s.State.Pattern == LedPattern.Solid);
        Assert.That(flashing.State.Color, Is.EqualTo(LedColor.Red), timeline.ToString());
        Assert.That(flashing.Start.TotalMilliseconds, Is.EqualTo(7000).Within(100), timeline.ToString());
        Assert.That(solid.End, Is.EqualTo(flashing.Start), timeline.ToString());
    }

    [Test]
    public void A_round_cut_inside_its_code_is_reported_without_a_code_never_a_guessed_one()
    {
        // the signature and two of seven code blinks, then the trace ends in the dark: the code is unknown
        var light = Sos(7, 3000, 3000 + 3800 + 2 * 600 - 300);
        var timeline = new LedClassifier(Calibration).Classify(Trace(light[^1].Item2 + 250, [.. light]));

        var sos = timeline.Segments.Single(s => s.State.Pattern == LedPattern.Sos);
        Assert.That(sos.State.SosCode, Is.Null, timeline.ToString());
    }

    [Test]
    public void A_code_followed_by_more_dark_than_its_300_ms_off_is_whole_where_the_trace_ends()
    {
        // the signature and all six code blinks, then 450 ms of dark before the trace ends: a seventh blink would
        // have risen 300 ms after the sixth fell
        var light = Sos(6, 3000, 3000 + 3800 + 6 * 600 - 300);
        var timeline = new LedClassifier(Calibration).Classify(Trace(light[^1].Item2 + 450, [.. light]));

        var sos = timeline.Segments.Single(s => s.State.Pattern == LedPattern.Sos);
        Assert.That(sos.State.SosCode, Is.EqualTo(6), timeline.ToString());
    }

    [Test]
    public void A_round_entered_inside_its_code_with_a_code_blink_lost_keeps_its_code()
    {
        // one round of code 6 between two green solids, entered before its fifth code blink and so left there: two
        // code blinks, the signature, four code blinks, of which the second is lost (a bright room's noise leaves 10 %)
        const double s = 7000;
        var light = new List<(double, double, double, double, double, double)> { (2000, s - 2000, 5, 38, 12, 45) };
        light.Add(Red(s - 2000, s - 1700));
        light.Add(Red(s - 1400, s - 1100));
        light.AddRange(Sos(0, s, s + 3000));
        for (var j = 0; j < 4; j++)
            light.Add(j == 1 ? (s + 3800 + 600 * j, s + 4100 + 600 * j, 4, 0.4, 0.24, 4.6) : Red(s + 3800 + 600 * j, s + 4100 + 600 * j));
        light.Add((s + 6200, s + 11_000, 5, 38, 12, 45));
        var timeline = new LedClassifier(Calibration).Classify(Trace(s + 11_000, [.. light]));

        var sos = timeline.Segments.Single(x => x.State.Pattern == LedPattern.Sos);
        Assert.That(sos.State.SosCode, Is.EqualTo(6), timeline.ToString());
    }

    [Test]
    public void An_SOS_whose_first_signature_lost_a_blink_still_starts_with_its_first_round()
    {
        // two rounds of code 3 from 3 s, then green; the first signature's fifth blink (a long one) is lost, so that
        // signature is no group of its own: the second round's rounds, laid back over the light, take it in
        const double start = 3000, round = 4600 + 3 * 600;
        var light = Sos(3, start, start + round).Where((_, i) => i != 4).ToList();
        light.AddRange(Sos(3, start + round, start + 2 * round));
        light.Add((start + 2 * round, start + 2 * round + 4000, 5, 38, 12, 45));
        var timeline = new LedClassifier(Calibration).Classify(Trace(start + 2 * round + 4000, [.. light]));

        var sos = timeline.Segments.Single(x => x.State.Pattern == LedPattern.Sos);
        Assert.That(sos.State.SosCode, Is.EqualTo(3), timeline.ToString());
        Assert.That(sos.Start.TotalMilliseconds, Is.EqualTo(start).Within(600), timeline.ToString());
        Assert.That(sos.End.TotalMilliseconds, Is.EqualTo(start + 2 * round).Within(100), timeline.ToString());
    }

    [Test]
    public void A_dim_blue_straight_into_a_bright_white_is_two_solid_states_not_crosstalk()
    {
        // blue at 27 % of white (the dimmest own colour), no dark between
        var timeline = new LedClassifier(Calibration).Classify(Trace(12_000,
            (2000, 7000, 0.9, 7, 21, 27), (7000, 12_000, 36, 39, 30, 100)));

        var lit = timeline.Segments.Where(s => s.State.Pattern != LedPattern.Off).Select(s => s.State).ToList();
        Assert.That(lit, Is.EqualTo(new[] { new LedState(LedColor.Blue, LedPattern.Solid), new LedState(LedColor.White, LedPattern.Solid) }), timeline.ToString());
    }

    [Test]
    public void A_white_whose_clear_channel_clips_is_still_white()
    {
        // a full-brightness Core on a slot calibrated with a 96/256 one: clear clips at 10240, red, green, blue do not
        var timeline = new LedClassifier(Calibration).Classify(Trace(10_000, (2000, 8000, 140, 150, 135, 600)));

        var lit = timeline.Segments.Where(s => s.State.Pattern != LedPattern.Off).Select(s => s.State).ToList();
        Assert.That(lit, Is.EqualTo(new[] { new LedState(LedColor.White, LedPattern.Solid) }), timeline.ToString());
    }
}
