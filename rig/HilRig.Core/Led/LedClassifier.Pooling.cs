namespace HilRig.Core.Led;

/// <summary>
/// Decisions pooled over a blink or a train instead of taken per reading. In a bright room (room light half the LED's
/// white, with 100 Hz flicker) or at 12 ms (the PWM beat up to 2:1) a dim colour's single readings spread by a
/// quarter to a half of its level, so now and then one falls under the lit floor inside a blink or a solid light.
/// No Core pattern is dark for less than 50 ms (fast flashing toggles every 51 ms): a shorter gap between two pieces of
/// the same colour is such a dip, and a train that is lit most of its time is a solid light, not flashing (every
/// flashing pattern and the SOS are lit half their time or less).
/// </summary>
public sealed partial class LedClassifier
{
    /// <summary>A gap shorter than this between two sharp pieces of one colour is a reading or two dipping under the floor.</summary>
    private static readonly TimeSpan DipGapMax = TimeSpan.FromMilliseconds(30);

    /// <summary>Share of a train's time it is lit above which it is a solid light with dips (flashing and SOS: 0.5-0.55).</summary>
    private const double SolidOnShare = 0.8;

    private static List<Pulse> JoinDips(List<Point> points, List<Pulse> pulses, bool darkMeasured)
    {
        // a short piece of another colour between pieces of one colour, under 300 ms from each, is the colour's noise
        // (a weak colour's chromaticity in a bright room), not a state: the Core never shows X, Y, X so
        pulses = [.. pulses];
        for (var k = 1; k + 1 < pulses.Count; k++)
        {
            var (before, piece, after) = (pulses[k - 1], pulses[k], pulses[k + 1]);
            if (before.Color == after.Color && piece.Color != before.Color && !piece.Smooth && piece.Duration < SolidMin
                && !before.Smooth && !after.Smooth && piece.Rise - before.Fall < OffMin && after.Rise - piece.Fall < OffMin)
                pulses[k] = piece with { Color = before.Color };
        }
        var joined = new List<Pulse>(pulses.Count);
        foreach (var p in pulses)
        {
            if (joined.Count > 0 && joined[^1] is var a && !a.Smooth && !p.Smooth && a.Color == p.Color
                && (p.Rise - a.Fall < DipGapMax || darkMeasured && TooFewDark(points, a, p)))
            {
                var fall = p.Fall;
                joined[^1] = a with { Last = p.Last, Fall = fall };
                continue;
            }
            joined.Add(p);
        }
        return joined;
    }

    /// <summary>
    /// The Core's shortest dark (a fast flashing toggle, 51 ms) holds at least floor(51 / T) - 1 whole windows of T ms,
    /// and a whole dark window reads under 2.5 sigma of the measured dark noise 99 % of the time, or under half the light
    /// of the pieces around it (a neighbour's leak lifts it, never that far): between two pieces of
    /// one colour, no run of that many such readings in a row (adjacent windows) is a dim light's noise dipping (at 12 ms
    /// a 96/256 blue or red in a bright room is 4-6 sigma a reading, and one or two of a blink's readings fall that low
    /// now and then), not a dark of the Core. Only with a measured dark level: one estimated from the darkest tail
    /// lies under the dark by about two sigmas, and the room's own readings cross 2.5 of them.
    /// </summary>
    private static bool TooFewDark(List<Point> points, Pulse before, Pulse after)
    {
        // a neighbour's leak lifts a dark window (up to 11 % of white), never to half of the light around it
        var light = 0.0;
        for (var k = before.First; k <= before.Last; k++) light += points[k].Level;
        for (var k = after.First; k <= after.Last; k++) light += points[k].Level;
        var halfLight = OnEnter * light / (before.Last - before.First + after.Last - after.First + 2);
        // the whole windows of a dark lie in a row: the longest run of dark readings counts
        int dark = 0, run = 0;
        for (var k = before.Last + 1; k <= after.First; k++)
        {
            if (!Adjacent(points[k - 1], points[k])) return false;
            run = k < after.First && points[k].Level <= Math.Max(points[k].StayFloor, halfLight) ? run + 1 : 0;
            dark = Math.Max(dark, run);
        }
        // at 19.2 and 24 ms a single whole window can be a real 51 ms dark: no count of dark readings tells a dip there
        var fewest = Math.Floor(ShortestDarkMs / points[after.First].IntegrationMs) - 1;
        return fewest >= 2 && dark < fewest;
    }

    private const double ShortestDarkMs = 51;

    /// <summary>
    /// A lit stretch of readings none of which is bright enough on its own to tell its colour (a 96/256 red or blue in a
    /// bright room, five sigma of mostly shot noise each, without a <c># dark</c> line) is as clear as a single reading
    /// of <paramref name="trustOverFloor"/> floors once its readings are pooled: the mean's noise falls with the square
    /// root of their number. Its readings over the floor then vote with the pooled colour (all of them when none is);
    /// where most are under the floor (a blue at 3-5 sigma a reading, under a 5-sigma floor that 16 dark windows may
    /// have set a third high) the rest are lit too, as the pooled mean says, and take the voters' colour. A stretch is
    /// the readings over half the floor in a row and not trusted alone (a dip to there is the noise of a dim light, not
    /// a dark toggle; a brighter state next to it is trusted on its own). Pooling would make a
    /// neighbour's steady leak just as clear, so the stretch must also be
    /// brighter than any leak reaches (<see cref="StateOverLeak"/> lit floors; the dimmest own colour, blue, is 27 % of white).
    /// </summary>
    private static void TrustPooled(List<Point> points, double trustOverFloor, double minLit, bool whiteKnown)
    {
        // without a calibrated white level the leak floor is a tenth of the trace's brightest light, which is the slot's
        // own only if some reading is clear on its own; a dark slot next to a lit one sees nothing but the leak
        if (!whiteKnown && !points.Any(p => p.Trusted)) return;
        var i = 0;
        while (i < points.Count)
        {
            if (!Pooled(points[i])) { i++; continue; }
            var first = i;
            while (i + 1 < points.Count && Pooled(points[i + 1]) && Adjacent(points[i], points[i + 1])) i++;
            var last = i;
            i++;
            double r = 0, g = 0, b = 0, level = 0, floor = 0;
            var over = 0;
            for (var k = first; k <= last; k++)
            {
                var p = points[k];
                (r, g, b, level, floor) = (r + p.RawR, g + p.RawG, b + p.RawB, level + p.Level, floor + p.Floor);
                if (p.Level > p.Floor) over++;
            }
            var n = last - first + 1;
            if (r <= 0 && g <= 0 && b <= 0) continue;
            (r, g, b) = (Math.Max(0, r), Math.Max(0, g), Math.Max(0, b));
            var (mean, meanFloor) = (level / n, floor / n);
            if (mean < StateOverLeak * minLit || mean * Math.Sqrt(n) < trustOverFloor * meanFloor) continue;
            var colour = Nearest(r, g, b);
            for (var k = first; k <= last; k++)
                if (over == 0 || points[k].Level > points[k].Floor) (points[k].Trusted, points[k].Color) = (true, colour);
                else if (2 * over <= n) points[k].PooledLit = true;
        }

        static bool Pooled(Point p) => !p.Trusted && !p.Saturated && p.Level > p.StayFloor;
    }

    /// <summary>Share of the time from the first rise to the last fall that pulses first..last are lit.</summary>
    private static double OnShare(List<Pulse> pulses, int first, int last)
    {
        var span = (pulses[last].Fall - pulses[first].Rise).TotalMilliseconds;
        if (span <= 0) return 0;
        var on = 0.0;
        for (var k = first; k <= last; k++) on += pulses[k].Duration.TotalMilliseconds;
        return on / span;
    }

    /// <summary>panic.c's signature: 3 short, 3 long, 3 short blinks (150 and 300 ms), under 260 ms apart.</summary>
    private static readonly bool[] SignatureLong = [false, false, false, true, true, true, false, false, false];

    private static readonly TimeSpan SignatureLength = TimeSpan.FromMilliseconds(3 * 250 + 100 + 3 * 400 + 100 + 3 * 250);

    /// <summary>
    /// Pulses from..to are the last (<paramref name="fromEnd"/>) or the first blinks of a signature, the one at the
    /// train's edge possibly cut short by the segment's start or end: "long, short, short, short" is a round entered
    /// inside its second group of three.
    /// </summary>
    private static bool SignatureEdge(List<Pulse> pulses, int from, int to, bool fromEnd)
    {
        var n = to - from + 1;
        if (n < 2 || n > 8) return false;
        for (var k = from; k < to; k++)
            if ((pulses[k + 1].Rise - pulses[k].Fall).TotalMilliseconds >= 260) return false;
        for (var k = from; k <= to; k++)
        {
            var slot = fromEnd ? SignatureLong.Length - n + (k - from) : k - from;
            var cut = fromEnd ? k == from : k == to;
            var ms = pulses[k].Duration.TotalMilliseconds;
            if (cut ? ms >= (SignatureLong[slot] ? 430 : 225) : SignatureLong[slot] ? !SosLong(pulses[k]) : !SosShort(pulses[k])) return false;
        }
        return true;
    }

    /// <summary>
    /// The dark noise of a trace without a <c># dark</c> line: the darkest 5 % of readings understate it (they are the
    /// low tail), while the readings right next to them in time are the same dark picked by nothing but time, so their
    /// spread (median absolute deviation, which an LED edge among them does not move) is the noise. Zero when there are
    /// too few such readings. Shot noise on the dark level assumes a count per electron, which a sensor need not have:
    /// in a bright room it put the floor over a 96/256 red LED.
    /// </summary>
    private static double DarkNeighbourNoise(IReadOnlyList<LedSample> samples, double darkC)
    {
        var levels = new double[samples.Count];
        var sorted = new List<double>(samples.Count);
        for (var i = 0; i < samples.Count; i++)
        {
            var s = samples[i];
            levels[i] = s.Saturated ? double.NaN : s.C / (s.Gain * s.IntegrationMs) - darkC;
            if (!s.Saturated) sorted.Add(levels[i]);
        }
        if (sorted.Count < 40) return 0;
        sorted.Sort();
        var threshold = sorted[sorted.Count / 20];
        var next = new List<double>();
        for (var i = 0; i < samples.Count; i++)
        {
            if (!(levels[i] <= threshold)) continue;
            if (i + 1 < samples.Count && !double.IsNaN(levels[i + 1]) && (samples[i + 1].Time - samples[i].Time).TotalMilliseconds <= 1.5 * samples[i + 1].IntegrationMs)
                next.Add(levels[i + 1]);
            if (i > 0 && !double.IsNaN(levels[i - 1]) && (samples[i].Time - samples[i - 1].Time).TotalMilliseconds <= 1.5 * samples[i].IntegrationMs)
                next.Add(levels[i - 1]);
        }
        if (next.Count < 20) return 0;
        next.Sort();
        var median = next[next.Count / 2];
        var deviations = next.Select(v => Math.Abs(v - median)).Order().ToList();
        return 1.4826 * deviations[deviations.Count / 2];
    }

    /// <summary>
    /// A breathing that stops halfway up a ramp or over its top leaves a piece the triangle fit cannot explain (under
    /// two thirds of a period) and the edge rules see as one sharp pulse, a solid: a solid of the breathing's colour
    /// right next to it and no longer than half a period is the breathing's last (or first) ramp. A real solid that
    /// short straight after a breathing of its own colour is lost (README limits).
    /// </summary>
    private static readonly TimeSpan BreathingRemnantMax = TimeSpan.FromMilliseconds(BreathingPeriodMs / 2);

    /// <summary>
    /// Up to a fit window (two thirds of a period) a remnant may hold a ramp and a top, which the fit did not take: it is
    /// the breathing's when its level ramps (the means of its thirds differ by a quarter of its level or more; a ramp
    /// moves the level by its full swing in half a period, a solid stays flat to its ripple and noise).
    /// </summary>
    private static readonly TimeSpan BreathingRemnantLongest = TimeSpan.FromMilliseconds(FitBins * BinMs);

    private static bool Ramps(List<Point> points, LedSegment s)
    {
        var third = s.Duration / 3;
        double Mean(TimeSpan from, TimeSpan to)
        {
            var inside = points.Where(p => p.Time > from && p.Time <= to && !p.Saturated).Select(p => p.Level).ToList();
            return inside.Count == 0 ? double.NaN : inside.Average();
        }
        double[] thirds = [Mean(s.Start, s.Start + third), Mean(s.Start + third, s.End - third), Mean(s.End - third, s.End)];
        return thirds.Max() - thirds.Min() >= 0.25 * thirds.Max();
    }

    private static List<LedSegment> BreathingEnds(List<Point> points, List<LedSegment> segments)
    {
        var result = new List<LedSegment>(segments);
        for (var k = 0; k < result.Count; k++)
        {
            var s = result[k];
            if (s.State.Pattern != LedPattern.Solid || s.Duration >= BreathingRemnantLongest
                || s.Duration >= BreathingRemnantMax && !Ramps(points, s)) continue;
            var before = k > 0 ? result[k - 1] : null;
            var after = k + 1 < result.Count ? result[k + 1] : null;
            if (before is { State.Pattern: LedPattern.Breathing } && before.State.Color == s.State.Color && s.Start - before.End < OffMin)
            {
                result[k - 1] = before with { End = s.End };
                result.RemoveAt(k--);
            }
            else if (after is { State.Pattern: LedPattern.Breathing } && after.State.Color == s.State.Color && after.Start - s.End < OffMin)
            {
                result[k + 1] = after with { Start = s.Start };
                result.RemoveAt(k--);
            }
        }
        return result;
    }

    /// <summary>
    /// A piece of blinks under <see cref="SolidMin"/> between two stretches of one flashing state is that state: a
    /// Core's flashing lasts seconds and no firmware path shows another colour's or rate's blinks for a few toggles
    /// and then the same flashing again, while in a bright room a weak colour's chromaticity drifts to its neighbour
    /// (blue to cyan, red to orange) for a blink or two, and a blink lost to the floor makes one period look slow.
    /// </summary>
    private static List<LedSegment> JoinFlashingPieces(List<LedSegment> segments)
    {
        // panic.c shows whole rounds: an SOS without its code, shorter than the signature alone (3 x 250, 100, 3 x 400,
        // 100, 3 x 250 ms), in the middle of a flashing red is a few of its 500 ms blinks broken by a bright room
        static bool SignaturePiece(LedSegment s) => s.State.Pattern == LedPattern.Sos && s.State.SosCode is null && s.Duration < SignatureLength;
        static bool Blinks(LedState s) => s.Pattern is LedPattern.Flashing or LedPattern.FastFlashing;
        var result = new List<LedSegment>(segments);
        for (var k = 1; k + 1 < result.Count; k++)
        {
            var (before, piece, after) = (result[k - 1], result[k], result[k + 1]);
            if (Blinks(before.State) && (Blinks(piece.State) && piece.Duration < SolidMin || SignaturePiece(piece))
                && before.State.Matches(after.State) && after.State.Matches(before.State) && !piece.State.Matches(before.State))
                result[k] = piece with { State = before.State };
        }
        return result;
    }
}
