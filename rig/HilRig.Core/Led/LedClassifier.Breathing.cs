namespace HilRig.Core.Led;

/// <summary>
/// Breathing told by the shape and period of its envelope, not by where single readings cross a threshold: the level
/// (clear channel less dark) averaged in 100 ms bins is fitted, 2.8 s at a time, with the firmware's triangle (100 steps
/// up, 100 down, one per ~21.3 ms: a 4.26 s period, spark-core.md 5.2) at every phase. A window is breathing when the
/// triangle explains it down to the noise (estimated in the same window from second differences, which a ramp does
/// not have), swings at least half its top (depth, which a solid's ripple or flicker never has) and at least ten noise
/// sigmas. Pooling 2.8 s of readings is what keeps a dim breathing green in a bright room from breaking into pieces
/// of solid and off; a step (solid to off, one colour to another), a blink train or an SOS leaves residuals far above
/// the noise.
/// </summary>
public sealed partial class LedClassifier
{
    private const double BreathingPeriodMs = 200 * 21.3;
    private const double BinMs = 100;
    /// <summary>Two thirds of a period: any such window holds a peak or a trough with both slopes round it.</summary>
    private const int FitBins = 28;
    private const int MinFittingWindows = 3;
    private const double BreathingDepth = 0.5;
    private const double BreathingSnr = 10;
    /// <summary>
    /// A breathing top this many lit floors (of 10 % of white) up: a neighbour's breathing leaking in reaches at most
    /// about 7 % of this slot's white (4 % of a full-scale cyan next to a 96/256 Core), the dimmest own breathing (green,
    /// 96/256) about 30 %. The fit pools seconds of readings, so without this it finds the neighbour's breathing in a dark
    /// slot.
    /// </summary>
    private const double BreathingOverLeak = 1.2;

    /// <summary>The firmware's breathing level (0 dark .. 1 top) <paramref name="ms"/> into its period.</summary>
    private static double Triangle(double ms)
    {
        var x = ms / BreathingPeriodMs;
        return 1 - Math.Abs(2 * (x - Math.Floor(x)) - 1);
    }

    /// <summary>
    /// How far the triangle must beat a constant, in noise variances of one bin: 5 sigma of the least-squares swing.
    /// </summary>
    private const double DepthSignificance = 25;

    /// <summary>
    /// Breathing goes from near dark to full brightness at a known rate (a ramp of 2.13 s), a solid's ripple is shot
    /// noise and flicker: every breathing segment, however it was found (a smooth edge, the envelope fit, a ramp taken
    /// from a solid beside it), has its level in 100 ms bins fitted with the triangle at its known period, every phase,
    /// against a constant. It stays breathing when the swing is at least half the top and beats the constant by 5
    /// sigmas of the bins' own noise (from second differences, which a ramp does not have); otherwise it is the solid
    /// it sits on. A dim solid in a bright room at 12 ms breaks into pieces whose edges spread over a few readings
    /// (shot noise on the room light, the PWM beat up to 2:1), and a piece of 600 ms or more with such an edge was
    /// called breathing; its level has no ramp in it.
    /// </summary>
    private static List<LedSegment> BreathingHasDepth(List<Point> points, List<LedSegment> segments)
    {
        List<LedSegment>? result = null;
        for (var k = 0; k < segments.Count; k++)
        {
            var s = segments[k];
            if (s.State.Pattern != LedPattern.Breathing || HasDepth(points, s) is not false) continue;
            result ??= [.. segments];
            result[k] = s with { State = new LedState(s.State.Color, LedPattern.Solid) };
        }
        return result ?? segments;
    }

    /// <summary>
    /// Whether the segment's level in 100 ms bins has the triangle's depth: fitted at its known period, every phase,
    /// the swing is at least half the top and beats a constant by <see cref="DepthSignificance"/> bin variances; null
    /// with under five bins.
    /// </summary>
    private static bool? HasDepth(List<Point> points, LedSegment s)
    {
        var (t, y) = Bins(points, s.Start, s.End);
        if (y.Count < 5) return null;
        var sigma = BinNoise(y);
        var fit = FitTriangle(t, y, 0, y.Count);
        return fit.B >= BreathingDepth * (fit.A + fit.B) && fit.Explained >= DepthSignificance * sigma * sigma;
    }

    /// <summary>
    /// A breathing cut short (under a period) is fewer than three fit windows, so the envelope fit leaves it to the edge
    /// rules, which see its trough as off, the PWM beat on its rising ramp as a few blinks, and its top and fall as a
    /// solid. A solid of a colour the firmware breathes (green, cyan), shorter than a period, whose level has the
    /// triangle's depth (<see cref="BreathingHasDepth"/>'s test: a solid's level is flat) is breathing, and so are the
    /// dark under a trough's length and the pieces under <see cref="SolidMin"/> right before it (its rise from dark).
    /// </summary>
    private static List<LedSegment> ShortBreathing(List<Point> points, List<LedSegment> segments)
    {
        List<LedSegment>? result = null;
        for (var k = 0; k < (result ?? segments).Count; k++)
        {
            var list = result ?? segments;
            var s = list[k];
            if (s.State.Pattern != LedPattern.Solid || s.State.Color is not (LedColor.Green or LedColor.Cyan)
                || s.Duration.TotalMilliseconds >= BreathingPeriodMs || HasDepth(points, s) is not true) continue;
            result ??= [.. segments];
            var first = RiseFrom(result, k, s.End - TimeSpan.FromMilliseconds(BreathingPeriodMs));
            var breathing = new LedSegment(result[first].Start, s.End, new LedState(s.State.Color, LedPattern.Breathing, TimeSpan.FromMilliseconds(BreathingPeriodMs)), s.Confidence * 0.7);
            result.RemoveRange(first, k - first + 1);
            result.Insert(first, breathing);
            k = first;
        }
        return result ?? segments;
    }

    /// <summary>
    /// The first of the segments before segment <paramref name="k"/> that are a breathing's rise from dark: pieces of
    /// blinks under <see cref="SolidMin"/> (the PWM beat flipping a dim ramp's readings across the floor, its colour
    /// unsure) back to a dark under a trough's length, none starting before <paramref name="notBefore"/>.
    /// </summary>
    private static int RiseFrom(List<LedSegment> segments, int k, TimeSpan notBefore)
    {
        var first = k;
        while (first > 0 && segments[first - 1] is var p
               && (p.State.Pattern == LedPattern.Off ? p.Duration < BreathingTroughMax
                   : p.State.Pattern is LedPattern.Flashing or LedPattern.FastFlashing && p.Duration < SolidMin)
               && p.Start >= notBefore)
        {
            first--;
            if (p.State.Pattern == LedPattern.Off) break;
        }
        return first;
    }

    /// <summary>
    /// A breathing rises from dark (the fade starts at its trough): the dark and the pieces of blinks right before it
    /// within a ramp (<see cref="RiseFrom"/>) are its rise, cut up where the ramp's foot is under the floor or beats
    /// across it.
    /// </summary>
    private static List<LedSegment> BreathingRise(List<LedSegment> segments)
    {
        List<LedSegment>? result = null;
        for (var k = 1; k < (result ?? segments).Count; k++)
        {
            var list = result ?? segments;
            var s = list[k];
            if (s.State.Pattern != LedPattern.Breathing) continue;
            var first = RiseFrom(list, k, s.Start - TimeSpan.FromMilliseconds(BreathingPeriodMs / 2));
            if (first == k || first == k - 1 && list[first].State.Pattern == LedPattern.Off) continue;
            result ??= [.. segments];
            result[k] = s with { Start = result[first].Start };
            result.RemoveRange(first, k - first);
            k = first;
        }
        return result ?? segments;
    }

    /// <summary>Level in 100 ms bins over (start, end]: bin middles (ms from start) and means; empty bins left out.</summary>
    private static (List<double> T, List<double> Y) Bins(List<Point> points, TimeSpan start, TimeSpan end)
    {
        var n = Math.Max(0, (int)((end - start).TotalMilliseconds / BinMs));
        var sum = new double[n];
        var count = new int[n];
        int lo = 0, hi = points.Count;
        while (lo < hi)
        {
            var mid = (lo + hi) / 2;
            if (points[mid].Time <= start) lo = mid + 1;
            else hi = mid;
        }
        for (var i = lo; i < points.Count && points[i].Time <= end; i++)
        {
            var k = (int)((points[i].Time - start).TotalMilliseconds / BinMs);
            if (k >= n || points[i].Saturated) continue;
            sum[k] += points[i].Level;
            count[k]++;
        }
        var t = new List<double>(n);
        var y = new List<double>(n);
        for (var k = 0; k < n; k++)
        {
            if (count[k] == 0) continue;
            t.Add((k + 0.5) * BinMs);
            y.Add(sum[k] / count[k]);
        }
        return (t, y);
    }

    /// <summary>A bin's noise from second differences (a ramp has none; a step or a trough costs one or two).</summary>
    private static double BinNoise(List<double> y)
    {
        var d2 = new double[y.Count - 2];
        for (var j = 0; j < d2.Length; j++) d2[j] = Math.Abs(y[j] - 2 * y[j + 1] + y[j + 2]);
        Array.Sort(d2);
        return d2[d2.Length / 2] / (0.6745 * Math.Sqrt(6));
    }

    /// <summary>
    /// Least-squares level = A + B x triangle over bins [from, to), at the best phase (in bins) with B over 0;
    /// Explained is what the triangle explains over a constant (B x covariance).
    /// </summary>
    private static (double A, double B, int Phase, double Explained) FitTriangle(List<double> t, List<double> y, int from, int to)
    {
        var n = to - from;
        var best = (A: 0.0, B: 0.0, Phase: 0, Explained: 0.0);
        if (n < 3) return best;
        var mean = 0.0;
        for (var j = from; j < to; j++) mean += y[j] / n;
        var template = new double[n];
        var phases = (int)Math.Round(BreathingPeriodMs / BinMs);
        for (var f = 0; f < phases; f++)
        {
            var tm = 0.0;
            for (var j = 0; j < n; j++) tm += (template[j] = Triangle(t[from + j] + f * BinMs)) / n;
            double sxy = 0, sxx = 0;
            for (var j = 0; j < n; j++)
            {
                sxy += (template[j] - tm) * (y[from + j] - mean);
                sxx += (template[j] - tm) * (template[j] - tm);
            }
            if (sxx <= 0 || sxy <= 0) continue;
            var b = sxy / sxx;
            if (b * sxy > best.Explained) best = (mean - b * tm, b, f, b * sxy);
        }
        return best;
    }

    private static List<LedSegment> OverlayBreathing(List<Point> points, List<LedSegment> segments, double minLit)
    {
        if (points.Count == 0) return segments;
        var t0 = points[0].Time;
        var bins = (int)((points[^1].Time - t0).TotalMilliseconds / BinMs) + 1;
        if (bins < FitBins) return segments;
        var sum = new double[bins];
        var count = new int[bins];
        var clipped = new bool[bins];
        foreach (var p in points)
        {
            var k = (int)((p.Time - t0).TotalMilliseconds / BinMs);
            if (p.Saturated) clipped[k] = true;
            else { sum[k] += p.Level; count[k]++; }
        }
        var level = new double[bins];
        for (var k = 0; k < bins; k++) level[k] = count[k] > 0 && !clipped[k] ? sum[k] / count[k] : double.NaN;

        var phases = (int)Math.Round(BreathingPeriodMs / BinMs);
        var templates = new double[phases][];
        var templateMean = new double[phases];
        var templateVar = new double[phases];
        for (var f = 0; f < phases; f++)
        {
            templates[f] = new double[FitBins];
            for (var j = 0; j < FitBins; j++)
            {
                templates[f][j] = Triangle((j + f) * BinMs);
            }
            templateMean[f] = templates[f].Average();
            templateVar[f] = templates[f].Sum(v => (v - templateMean[f]) * (v - templateMean[f]));
        }

        var fits = new bool[bins];
        // bins a fitting window explains: an edge into the next state (a plateau, a step) leaves residuals there
        var explained = new bool[bins];
        var y = new double[FitBins];
        var d2 = new double[FitBins - 2];
        for (var w = 0; w + FitBins <= bins; w++)
        {
            var ok = true;
            for (var j = 0; j < FitBins && ok; j++) ok = !double.IsNaN(y[j] = level[w + j]);
            if (!ok) continue;
            for (var j = 0; j < d2.Length; j++) d2[j] = Math.Abs(y[j] - 2 * y[j + 1] + y[j + 2]);
            // noise from the quietest third: a blink train or a step in one part of the window is not noise
            var sigma = double.MaxValue;
            var part = d2.Length / 3;
            for (var k = 0; k < 3; k++)
            {
                var slice = d2.AsSpan(k * part, part).ToArray();
                Array.Sort(slice);
                sigma = Math.Min(sigma, slice[part / 2] / (0.6745 * Math.Sqrt(6)));
            }
            var mean = y.Average();
            var syy = y.Sum(v => (v - mean) * (v - mean));
            double bestRss = double.MaxValue, bestA = 0, bestB = 0;
            var bestPhase = -1;
            for (var f = 0; f < phases; f++)
            {
                var t = templates[f];
                var sxy = 0.0;
                for (var j = 0; j < FitBins; j++) sxy += (t[j] - templateMean[f]) * (y[j] - mean);
                var b = sxy / templateVar[f];
                if (b <= 0) continue;
                var rss = syy - b * sxy;
                if (rss < bestRss) (bestRss, bestA, bestB, bestPhase) = (rss, mean - b * templateMean[f], b, f);
            }
            if (bestPhase < 0) continue;
            var rms = Math.Sqrt(Math.Max(0, bestRss) / FitBins);
            if (bestB < BreathingDepth * (bestA + bestB) || bestA + bestB < BreathingOverLeak * minLit || bestB < BreathingSnr * sigma || rms > 1.3 * sigma + 0.04 * bestB) continue;
            // each end third on its own: a ramp that turns into a plateau or a step fits on average but not there
            double Rms(int from, int to)
            {
                var sum2 = 0.0;
                for (var j = from; j < to; j++) sum2 += Math.Pow(y[j] - bestA - bestB * templates[bestPhase][j], 2);
                return Math.Sqrt(sum2 / (to - from));
            }
            var third = FitBins / 3;
            if (Rms(0, third) > 1.6 * sigma + 0.05 * bestB || Rms(FitBins - third, FitBins) > 1.6 * sigma + 0.05 * bestB) continue;
            fits[w] = true;
            for (var j = 0; j < FitBins; j++)
                if (Math.Abs(y[j] - bestA - bestB * templates[bestPhase][j]) <= 2.5 * sigma + 0.05 * bestB) explained[w + j] = true;
        }

        var result = segments;
        for (var w = 0; w < bins; w++)
        {
            if (!fits[w]) continue;
            var first = w;
            var last = w;
            // a window or two may miss where the noise estimate is low by chance
            while (last + 1 < bins && (fits[last + 1] || last + 3 < bins && (fits[last + 2] || fits[last + 3]))) last++;
            while (!fits[last]) last--;
            w = last;
            if (Enumerable.Range(first, last - first + 1).Count(k => fits[k]) < MinFittingWindows) continue;
            var from = first;
            var to = last + FitBins - 1;
            while (from < to && !explained[from]) from++;
            while (to > from && !explained[to]) to--;
            var start = t0 + TimeSpan.FromMilliseconds(from * BinMs);
            var end = t0 + TimeSpan.FromMilliseconds((to + 1) * BinMs);
            foreach (var (from2, to2) in SplitAtColourChange(points, start, end))
                result = Overlay(points, result, from2, to2);
        }
        return result;
    }

    /// <summary>
    /// Two breathings of different colours one after the other (green, then cyan) fit the triangle as one stretch:
    /// the bright bins' colours, each taken as the majority of seven around it (a weak colour's single bins are noisy),
    /// change once from one colour held for at least a second to another: the stretch is split there.
    /// </summary>
    private static IEnumerable<(TimeSpan From, TimeSpan To)> SplitAtColourChange(List<Point> points, TimeSpan start, TimeSpan end)
    {
        var inside = points.Where(p => p.Time > start && p.Time <= end && !p.Saturated).ToList();
        if (inside.Count == 0) { yield return (start, end); yield break; }
        var top = inside.Select(p => p.Level).Order().ElementAt((int)(0.9 * (inside.Count - 1)));
        var bins = inside.GroupBy(p => (long)((p.Time - start).TotalMilliseconds / BinMs)).OrderBy(g => g.Key)
            .Select(g => (Time: g.Max(p => p.Time), Level: g.Average(p => p.Level), R: g.Sum(p => p.R), G: g.Sum(p => p.G), B: g.Sum(p => p.B)))
            .Where(b => b.Level >= 0.3 * top && b.R + b.G + b.B > 0)
            .Select(b => (b.Time, Colour: Nearest(b.R, b.G, b.B))).ToList();
        var smoothed = new List<(TimeSpan Time, LedColor Colour)>(bins.Count);
        for (var k = 0; k < bins.Count; k++)
        {
            var votes = bins.Skip(Math.Max(0, k - 3)).Take(7).GroupBy(b => b.Colour).OrderByDescending(g => g.Count()).First().Key;
            smoothed.Add((bins[k].Time, votes));
        }
        var changes = Enumerable.Range(1, Math.Max(0, smoothed.Count - 1)).Where(k => smoothed[k].Colour != smoothed[k - 1].Colour).ToList();
        if (changes.Count != 1 || changes[0] < 10 || smoothed.Count - changes[0] < 10) { yield return (start, end); yield break; }
        var at = smoothed[changes[0] - 1].Time + (smoothed[changes[0]].Time - smoothed[changes[0] - 1].Time) / 2;
        yield return (start, at);
        yield return (at, end);
    }

    /// <summary>Puts a breathing segment over [start, end): its colour pooled from its brighter half's readings.</summary>
    private static List<LedSegment> Overlay(List<Point> points, List<LedSegment> segments, TimeSpan start, TimeSpan end)
    {
        var inside = points.Where(p => p.Time > start && p.Time <= end && !p.Saturated).ToList();
        if (inside.Count == 0) return segments;
        // a solid that the edge rules saw begin (or end) inside the fit and carry on past it: a ramp into a plateau
        // fits the triangle near its apex for a while, the plateau's flat top is what tells them apart. Before the colour is
        // pooled: a bright blue train running into the fit's span turned a breathing green's colour to cyan
        foreach (var s in segments)
        {
            var solid = s.State.Pattern == LedPattern.Solid;
            if (!solid && !(FirmwareToggle(s.State) && s.Confidence >= TimerRegularity)) continue;
            if (s.Start > start && s.Start < end && s.End > end && (solid || BlinksAtTop(s, s.Start, end))) end = s.Start;
            if (s.End > start && s.End < end && s.Start < start && (solid || BlinksAtTop(s, start, s.End))) start = s.End;
        }
        inside = inside.Where(p => p.Time > start && p.Time <= end).ToList();
        if (inside.Count == 0) return segments;
        var median = inside.Select(p => p.Level).Order().ElementAt(inside.Count / 2);
        var upper = inside.Where(p => p.Level >= median).ToList();
        var (r, g, b) = (upper.Sum(p => p.R), upper.Sum(p => p.G), upper.Sum(p => p.B));
        if (r + g + b <= 0) return segments;
        var colour = Nearest(r, g, b);
        // where the next (or last) state is as bright as a point on the ramp, its colour tells it apart: bright bins of
        // another colour at either end are not the breathing
        var top = inside.Select(p => p.Level).Order().ElementAt((int)(0.9 * (inside.Count - 1)));
        var bins = inside.GroupBy(p => (long)((p.Time - start).TotalMilliseconds / BinMs)).OrderBy(g => g.Key)
            .Select(g => (From: g.Min(p => p.Time) - Window(g.First()), To: g.Max(p => p.Time), Level: g.Average(p => p.Level),
                Colour: g.Sum(p => p.R + p.G + p.B) > 0 ? Nearest(g.Sum(p => p.R), g.Sum(p => p.G), g.Sum(p => p.B)) : LedColor.Off))
            .ToList();
        bool Bright((TimeSpan From, TimeSpan To, double Level, LedColor Colour) bin) => bin.Level >= 0.3 * top;
        for (var k = bins.Count - 1; k >= 0; k--)
        {
            if (!Bright(bins[k])) continue;
            if (bins[k].Colour == colour) break;
            end = Min(end, bins[k].From);
        }
        foreach (var bin in bins)
        {
            if (!Bright(bin)) continue;
            if (bin.Colour == colour) break;
            start = bin.To > start ? bin.To : start;
        }
        // breathing starts from dark and ramps 100 steps of ~21 ms: its first reading over the lit floor comes
        // floor / top of a ramp after its start (and its last as long before its end, at most); the triangle fit
        // explains a flat dark next to a trough as well, and would run on into the off state beside it
        var lit = inside.Where(p => p.Level > p.Floor && p.Time > start && p.Time <= end).ToList();
        if (lit.Count > 0 && top > 0)
        {
            var ramp = TimeSpan.FromMilliseconds(BreathingPeriodMs / 2);
            // the rise's first reading over the floor, not a lone reading of room noise or a leak before it: past the
            // floor the ramp keeps climbing, so the readings of the next 100 ms average at the floor or over it, less
            // three sigmas of their mean's noise (the floor is 5 sigmas of one reading's)
            var bin = TimeSpan.FromMilliseconds(BinMs);
            var firstLit = lit.FirstOrDefault(p => inside.Where(q => q.Time >= p.Time && q.Time <= p.Time + bin).Select(q => q.Level).ToList() is var next
                && next.Average() > p.Floor * (1 - 0.6 / Math.Sqrt(next.Count))) ?? lit[0];
            var lastLit = lit[^1];
            var slack = TimeSpan.FromMilliseconds(BinMs);
            var earliest = firstLit.Time - Window(firstLit) - ramp * Math.Min(1, firstLit.Floor / top) - slack;
            var latest = lastLit.Time + ramp * Math.Min(1, lastLit.Floor / top) + slack;
            if (StepAfter(inside, lastLit, latest, top, ramp) is { } step) latest = step;
            if (start < earliest) start = earliest;
            if (end > latest) end = latest;
        }
        if (end - start < TimeSpan.FromMilliseconds(FitBins * BinMs)) return segments;
        return Place(segments, start, end, colour);

        // a flashing state toggles between dark and its colour's full level, inside the fit as past it: its readings
        // there reach half the level the train has past the fit, and a whole blink of its toggle's length (dark, that
        // level, dark again) lies inside. The PWM beat at a ramp's foot flips dim readings across the floor, a ramp read
        // in the train's colour rises and never drops to dark, and a blink cut by the state's end is shorter
        bool BlinksAtTop(LedSegment train, TimeSpan from, TimeSpan to)
        {
            var (pastFrom, pastTo) = train.End > to ? (to, train.End) : (train.Start, from);
            var level = 0.5 * TopLevel(points, pastFrom, pastTo);
            if (TopLevel(points, from, to) < level) return false;
            var toggle = train.State.Period!.Value.TotalMilliseconds;
            var (dark, lit) = (false, (From: TimeSpan.Zero, To: TimeSpan.Zero));
            foreach (var p in inside)
            {
                if (p.Time <= from || p.Time > to) continue;
                if (p.Level >= level && dark)
                {
                    if (lit.From == TimeSpan.Zero) lit.From = p.Time - Window(p);
                    lit.To = p.Time;
                }
                else if (p.Level < Math.Min(p.Floor, 0.25 * level))
                {
                    if (lit.From != TimeSpan.Zero && Math.Abs((lit.To - lit.From).TotalMilliseconds - toggle) <= 0.35 * toggle + p.IntegrationMs) return true;
                    (dark, lit) = (true, (TimeSpan.Zero, TimeSpan.Zero));
                }
            }
            return false;
        }
    }

    /// <summary>
    /// Where the breathing's light stopped with a step rather than a ramp, from its last lit reading up to
    /// <paramref name="latest"/>: the firmware's fall loses top / 2.13 s, so a breathing still running is, 100 ms
    /// further on, at most 1/21 of its top under the 100 ms of readings before. Where each of the next three 100 ms
    /// bins (an off state's 300 ms) stays under what the ramp could have reached by then, by three sigmas of the two
    /// means' noise (the readings' spread about their bins' means), the LED was switched off there (its tail under the lit floor can still be well over the dark),
    /// and the state ended there, not down a ramp into the dark. Three bins, not one: at a dim LED the PWM beat
    /// swings the readings for up to a quarter of a second. Null when the light only ramps down.
    /// </summary>
    private static TimeSpan? StepAfter(List<Point> inside, Point lastLit, TimeSpan latest, double top, TimeSpan ramp)
    {
        var bin = TimeSpan.FromMilliseconds(BinMs);
        var first = inside.IndexOf(lastLit);
        if (first < 0) return null;
        for (var i = first; i < inside.Count && inside[i].Time < latest; i++)
        {
            var at = inside[i].Time;
            var before = Bin(at - bin);
            if (before.Count == 0) continue;
            var level = before.Average(p => p.Level);
            var after = Enumerable.Range(0, 3).Select(k => Bin(at + k * bin)).ToList();
            if (after.Any(b => b.Count < 2) || before.Count < 2) continue;
            // the readings' own spread about their bin's mean: shot noise, the PWM beat, the room's flicker
            var bins = after.Append(before).ToList();
            var sigma = Math.Min(lastLit.Floor / 5, Math.Sqrt(bins.Sum(b => { var m = b.Average(p => p.Level); return b.Sum(p => (p.Level - m) * (p.Level - m)); })
                / bins.Sum(b => b.Count - 1)));
            // and it fell at once, between two readings: the three after it stand three sigmas under the three up to it
            // (a ramp loses a few hundredths of its top over three windows). Bins alone took a ramp read near its
            // trough, falling up to twice the nominal rate per bin there (the project's emitter, 12 ms, lit room), for a step
            var (upTo, past) = (inside.Skip(i - 2).Take(3).Select(p => p.Level).ToList(), inside.Skip(i + 1).Take(3).Select(p => p.Level).ToList());
            var step = i >= 2 && past.Count == 3
                && upTo.Average() - past.Average() > top * (3 * Window(inside[i]) / ramp) + 3 * sigma * Math.Sqrt(2.0 / 3);
            for (var k = 0; k < 3 && step; k++)
                step = level - after[k].Average(p => p.Level)
                    > top * ((k + 1) * bin / ramp) + 3 * sigma * Math.Sqrt(1.0 / before.Count + 1.0 / after[k].Count);
            if (step) return at;
        }
        return null;

        List<Point> Bin(TimeSpan from) => inside.Where(p => p.Time > from && p.Time <= from + bin).ToList();
    }

    /// <summary>90th percentile of the level of the readings in (from, to]; zero with none.</summary>
    private static double TopLevel(List<Point> points, TimeSpan from, TimeSpan to)
    {
        var levels = points.Where(p => p.Time > from && p.Time <= to && !p.Saturated).Select(p => p.Level).Order().ToList();
        return levels.Count == 0 ? 0 : levels[(int)(0.9 * (levels.Count - 1))];
    }

    private static List<LedSegment> Place(List<LedSegment> segments, TimeSpan start, TimeSpan end, LedColor colour)
    {
        var nominal = TimeSpan.FromMilliseconds(BreathingPeriodMs);
        var seen = segments.FirstOrDefault(s => s.State.Pattern == LedPattern.Breathing && s.State.Color == colour && s.Start < end && s.End > start);
        var period = seen?.State.Period is { } p0 && Math.Abs(p0.TotalMilliseconds / BreathingPeriodMs - 1) < 0.35 ? p0 : nominal;
        // a piece left over at either side that is the same breathing, or too short to be a state, goes with it
        var minPiece = TimeSpan.FromMilliseconds(400);
        foreach (var s in segments)
        {
            if (s.End <= start || s.Start >= end) continue;
            var same = s.State.Pattern == LedPattern.Breathing && s.State.Color == colour;
            if (s.Start < start && (same || start - s.Start < minPiece)) start = s.Start;
            if (s.End > end && (same || s.End - end < minPiece)) end = s.End;
        }
        var result = new List<LedSegment>(segments.Count + 2);
        var placed = false;
        foreach (var s in segments)
        {
            if (s.End <= start) { result.Add(s); continue; }
            if (!placed)
            {
                if (s.Start < start) result.Add(s with { End = start });
                result.Add(new LedSegment(start, end, new LedState(colour, LedPattern.Breathing, period), seen?.Confidence ?? 0.8));
                placed = true;
            }
            if (s.End > end) result.Add(s.Start < end ? s with { Start = end } : s);
        }
        if (!placed) result.Add(new LedSegment(start, end, new LedState(colour, LedPattern.Breathing, period), 0.8));
        return result;
    }
}
