namespace HilRig.Core.Led;

/// <summary>
/// A lit stretch of one colour that the edge rules broke into solid, flashing and fast flashing pieces (a weak colour's
/// readings in a bright room dip under the floor now and then, and its blinks break up) is judged as one state: the
/// readings are fitted with each pattern the firmware can show in that colour (spark-core.md 5.2: flashing green, cyan
/// and yellow toggle every 101 ms, blue 251 ms, red 501 ms; fast flashing 51 ms; solid) and the pattern that explains
/// them best, by the Bayesian information criterion (a blink train pays for its level, its dark and its phase), wins.
/// </summary>
public sealed partial class LedClassifier
{
    /// <summary>A stretch shorter than this holds too few toggles of flashing red to tell it from a solid.</summary>
    private static readonly TimeSpan ToggleFitMin = TimeSpan.FromMilliseconds(1500);

    private static double? FlashingHalfMs(LedColor color) => color switch
    {
        LedColor.Green or LedColor.Cyan or LedColor.Yellow => 101,
        LedColor.Blue => 251,
        LedColor.Red => 501,
        _ => null,
    };

    private const double FastHalfMs = 51;

    /// <summary>
    /// A flashing or fast flashing state whose toggle is the firmware's for its colour (within 35 %): the PWM beat on a
    /// breathing's ramp flips readings across the floor at rates no timer makes.
    /// </summary>
    /// <summary>
    /// Confidence (colour agreement x regularity of the periods) of a train that is a timer's blinks: a SysTick timer
    /// toggles to the millisecond, so its periods spread by the reading cadence only (a reading of 24 ms on a 102 ms
    /// period: about a tenth); the PWM beat on a breathing's ramp comes and goes at no rate of its own.
    /// </summary>
    private const double TimerRegularity = 0.8;

    private static bool FirmwareToggle(LedState s) =>
        s.Period is { } toggle && (s.Pattern == LedPattern.FastFlashing ? FastHalfMs : s.Pattern == LedPattern.Flashing ? FlashingHalfMs(s.Color) : null) is { } half
        && Math.Abs(toggle.TotalMilliseconds - half) <= 0.35 * half;

    /// <summary>Highest dark level of a toggle fit, as a share of its lit level (the dark half is the room, already subtracted).</summary>
    private const double DarkShareMax = 0.5;

    private static List<LedSegment> FitToggles(List<Point> points, List<LedSegment> segments)
    {
        static bool Fittable(LedState s) => s.Pattern is LedPattern.Solid or LedPattern.Flashing or LedPattern.FastFlashing;
        var result = new List<LedSegment>(segments.Count);
        for (var k = 0; k < segments.Count;)
        {
            var m = k;
            while (Fittable(segments[k].State) && m + 1 < segments.Count && Fittable(segments[m + 1].State)
                   && segments[m + 1].State.Color == segments[k].State.Color && segments[m + 1].Start - segments[m].End < OffMin)
                m++;
            var run = segments.GetRange(k, m - k + 1);
            if (run.Count > 1 && run.Select(s => s.State.Pattern).Distinct().Count() > 1 && run[^1].End - run[0].Start >= ToggleFitMin)
                result.AddRange(SplitByFit(points, run));
            else
                result.AddRange(run);
            k = m + 1;
        }
        return result;
    }

    /// <summary>
    /// The run's pieces grouped into the states that explain its readings best: each group of two or more pieces spans
    /// <see cref="ToggleFitMin"/> and takes the pattern that fits it best; a single piece keeps its own. A group pays the
    /// information criterion's price for its parameters, so a real change of pattern (flashing cyan, then solid cyan)
    /// stays two states while a solid in pieces becomes one.
    /// </summary>
    private static List<LedSegment> SplitByFit(List<Point> points, List<LedSegment> run)
    {
        var m = run.Count;
        var readings = points.Where(p => p.Time - Window(p) >= run[0].Start && p.Time <= run[^1].End).ToList();
        var total = readings.Count;
        // a clipped reading has no level to fit: a bright white's run stays as the edge rules saw it
        if (readings.Any(p => p.Saturated || double.IsInfinity(p.Level))) return run;
        var penalty = Math.Log(Math.Max(total, 2));
        var cost = new double[m + 1];
        var from = new int[m + 1];
        var chosen = new LedState?[m + 1];
        cost[0] = 0;
        for (var j = 1; j <= m; j++)
        {
            cost[j] = double.PositiveInfinity;
            for (var i = 0; i < j; i++)
            {
                if (double.IsPositiveInfinity(cost[i])) continue;
                var fixedState = j - i == 1 ? run[i].State : null;
                if (fixedState is null && run[j - 1].End - run[i].Start < ToggleFitMin) continue;
                if (Fit(points, run[i].Start, run[j - 1].End, run[i].State.Color, fixedState) is not { } fit) continue;
                var c = cost[i] + fit.Cost + penalty;
                if (c < cost[j]) (cost[j], from[j], chosen[j]) = (c, i, fit.State);
            }
        }
        if (double.IsPositiveInfinity(cost[m])) return run;
        var groups = new List<LedSegment>();
        for (var j = m; j > 0; j = from[j])
        {
            var i = from[j];
            groups.Add(j - i == 1 ? run[i] : run[i] with { End = run[j - 1].End, State = chosen[j]!, Confidence = run.Skip(i).Take(j - i).Max(s => s.Confidence) });
        }
        groups.Reverse();
        return groups;
    }

    /// <summary>
    /// -2 log likelihood (Gaussian, the group's own spread) plus the parameters' price of the pattern of one colour that
    /// explains the readings between two times best (or of the given state's pattern); null with too few readings.
    /// </summary>
    private static (double Cost, LedState State)? Fit(List<Point> points, TimeSpan from, TimeSpan to, LedColor color, LedState? only)
    {
        var inside = points.Where(p => p.Time - Window(p) >= from && p.Time <= to && !p.Saturated && !double.IsInfinity(p.Level)).ToList();
        var n = inside.Count;
        if (n < 10) return null;
        double Cost(double sse, int parameters) => n * Math.Log(Math.Max(sse, 1e-12) / n) + parameters * Math.Log(n);
        (double Cost, LedState State)? best = null;
        if (only is null || only.Pattern == LedPattern.Solid)
        {
            var mean = inside.Average(p => p.Level);
            best = (Cost(inside.Sum(p => (p.Level - mean) * (p.Level - mean)), 1), only ?? new LedState(color, LedPattern.Solid));
        }
        foreach (var half in new[] { FlashingHalfMs(color), FastHalfMs })
        {
            if (half is not { } h) continue;
            var pattern = h == FastHalfMs ? LedPattern.FastFlashing : LedPattern.Flashing;
            if (only is not null && only.Pattern != pattern) continue;
            var sse = ToggleSse(inside, from, h);
            if (double.IsPositiveInfinity(sse)) continue;
            var score = Cost(sse, 3);
            if (best is null || score < best.Value.Cost)
                best = (score, only ?? new LedState(color, pattern, TimeSpan.FromMilliseconds(h)));
        }
        return best;
    }

    /// <summary>Least squares of level = dark + lit x (lit share of the window) over the phases of a toggle of half h ms.</summary>
    private static double ToggleSse(List<Point> inside, TimeSpan from, double h)
    {
        var best = double.PositiveInfinity;
        var origin = from.TotalMilliseconds;
        for (var phase = 0.0; phase < 2 * h; phase += Math.Max(2, h / 25))
        {
            double sf = 0, sx = 0, sff = 0, sfx = 0, sxx = 0;
            foreach (var p in inside)
            {
                var end = p.Time.TotalMilliseconds - origin + phase;
                var f = LitUpTo(end, h) - LitUpTo(end - p.IntegrationMs, h);
                f /= p.IntegrationMs;
                sf += f; sx += p.Level; sff += f * f; sfx += f * p.Level; sxx += p.Level * p.Level;
            }
            var n = inside.Count;
            var varF = sff - sf * sf / n;
            if (varF <= 1e-9) continue;
            var slope = (sfx - sf * sx / n) / varF;
            // the firmware's off half is dark: a fit whose dark level is a third of its lit one is a solid's ripple
            var dark = (sx - slope * sf) / n;
            if (slope <= 0 || dark > DarkShareMax * (dark + slope)) continue;
            var sse = sxx - sx * sx / n - slope * (sfx - sf * sx / n);
            best = Math.Min(best, sse);
        }
        return best;
    }

    /// <summary>Lit time from 0 to t of a toggle that is lit for h, dark for h, from 0.</summary>
    private static double LitUpTo(double t, double h)
    {
        var period = 2 * h;
        var whole = Math.Floor(t / period);
        return whole * h + Math.Min(t - whole * period, h);
    }
}
