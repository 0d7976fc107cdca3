namespace HilRig.Core.Led;

/// <summary>
/// The SOS code from whole rounds laid over the readings (a matched filter on panic.c's timing, spark-core.md 5.2):
/// a round is the signature (3 x 150/100, 100, 3 x 300/100, 100, 3 x 150/100), a 900 ms pause, the code
/// (N x 300 on / 300 off) and an 800 ms pause, 4.6 s + 0.6 s x N, and an SOS lasts one or two whole rounds from any
/// point of one. Anchored on a whole signature seen, every code 1-12 and one or two rounds at every start predicts
/// where each blink is; the code is the one whose rounds explain the light best. A blink lost in a bright room's
/// noise or split in two then no longer changes the count, and the length of the rounds ties the code blinks cut by
/// the SOS's start to those cut by its end.
/// </summary>
public sealed partial class LedClassifier
{
    /// <summary>The signature's blinks from the rise of its first: (rise, on) ms.</summary>
    private static readonly (double Rise, double On)[] SignatureBlinks =
        [(0, 150), (250, 150), (500, 150), (850, 300), (1250, 300), (1650, 300), (2150, 150), (2400, 150), (2650, 150)];

    private const double CodeFirstRiseMs = 3800, CodeStepMs = 600, CodeOnMs = 300, CodePauseMs = 800, RoundWithoutCodeMs = 4600;

    private static double RoundMs(int code) => RoundWithoutCodeMs + CodeStepMs * code;

    /// <summary>The darks between panic.c's blinks (ms): inside the signature, between its groups, between code blinks, before and after the code.</summary>
    private static readonly double[] SosDarks = [100, 200, CodeStepMs - CodeOnMs, CodeFirstRiseMs - 2800, CodeStepMs - CodeOnMs + CodePauseMs];

    /// <summary>A red blink an SOS could hold: sharp, 80-430 ms (panic.c's 150 and 300 ms, cut or stretched by a window).</summary>
    private static bool SosLike(Pulse p) => p.Color == LedColor.Red && !p.Smooth && p.Duration.TotalMilliseconds is >= 80 and < 430;

    /// <summary>
    /// An SOS's blinks freed of a bright room's noise. Between two red SOS-like blinks, pieces shorter than any Core light
    /// (fast flashing's 51 ms) are noise: in a bright room at 12 ms a reading of the dark crosses the floor now and then
    /// (a piece of 0-45 ms, red or, from the room's own light, white, magenta, green or yellow), and a reading or two of a
    /// blink dips under it. No Core pattern is dark for under 51 ms either, so a red piece that close to a blink is that
    /// blink's and joins it (also when both pieces are 50 ms or more, one of them SOS-like); the others are dropped. Left
    /// in, each cut the red train into runs (a piece under 80 ms is fast flashing's) or ended it (another colour), and
    /// the SOS fell into parts without a code or with a wrong one.
    /// </summary>
    private static List<Pulse> WithoutSosSlivers(List<Point> points, List<Pulse> pulses)
    {
        pulses = [.. pulses];
        // a red piece under 80 ms with another one a toggle or two beside it: fast flashing red
        static bool FastBlink(Pulse p, Pulse beside) =>
            p.Duration.TotalMilliseconds < 80 && beside.Color == LedColor.Red && !beside.Smooth && beside.Duration.TotalMilliseconds < 80
            && (beside.Rise > p.Fall ? beside.Rise - p.Fall : p.Rise - beside.Fall) < 2 * FastToggleMax;
        static bool Sliver(Pulse p) => !p.Smooth && p.Duration < ShortestState;
        var kept = new List<Pulse>(pulses.Count);
        for (var k = 0; k < pulses.Count; k++)
        {
            var p = pulses[k];
            // two red pieces under 51 ms apart that make one SOS-like blink (one of them SOS-like already: two of fast
            // flashing's blinks are both shorter) are that blink with a dip, unless the short one is the first (or last)
            // of fast flashing red's blinks, lit at once where the SOS left off (or the SOS lit where they stopped)
            if (kept.Count > 0 && kept[^1] is var before && before.Color == LedColor.Red && p.Color == LedColor.Red && !before.Smooth && !p.Smooth
                && p.Rise - before.Fall < ShortestState && p.Fall - before.Rise < TimeSpan.FromMilliseconds(430)
                && (SosLike(before) && !(k + 1 < pulses.Count && FastBlink(p, pulses[k + 1]))
                    || SosLike(p) && !(kept.Count > 1 && FastBlink(before, kept[^2]))))
            {
                kept[^1] = before with { Last = p.Last, Fall = p.Fall };
                continue;
            }
            if (!Sliver(p) || kept.Count == 0 || !SosLike(kept[^1]))
            {
                kept.Add(p);
                continue;
            }
            // a red sliver that ends the train after an SOS-like blink is the SOS's next blink cut by its end only where
            // panic.c lights one: after one of the SOS's darks (100, 200, 300 ms inside a round, 1.0 s before the code,
            // 1.1 s after it); anywhere else it is noise (the foot of a breathing after it, a reading of the room)
            if (p.Color == LedColor.Red && (k + 1 == pulses.Count || pulses[k + 1].Color != LedColor.Red || pulses[k + 1].Rise - p.Fall >= TrainGapMax))
            {
                var dark = (p.Rise - kept[^1].Fall).TotalMilliseconds;
                var slack = 2 * Window(points[p.First]).TotalMilliseconds + 15;
                if (!SosDarks.Any(d => Math.Abs(dark - d) <= slack + 0.015 * d)) continue;
            }
            var next = k + 1;
            while (next < pulses.Count && Sliver(pulses[next])) next++;
            // (three red ones or more in a row are fast flashing red's blinks, measured a little short, next to an SOS; the
            // room's noise comes a reading or two at a time in red, and another colour's state would not fit in the gap)
            var red = Enumerable.Range(k, next - k).Count(m => pulses[m].Color == LedColor.Red);
            if (next == pulses.Count || red > 2 || !SosLike(pulses[next]) || pulses[next].Rise - kept[^1].Fall >= TrainGapMax)
            {
                kept.Add(p);
                continue;
            }
            for (var m = k; m < next; m++)
            {
                var q = pulses[m];
                if (q.Color != LedColor.Red) continue;
                if (q.Rise - kept[^1].Fall < ShortestState && q.Fall - kept[^1].Rise < TimeSpan.FromMilliseconds(430))
                    kept[^1] = kept[^1] with { Last = q.Last, Fall = q.Fall };
                else if (pulses[next].Rise - q.Fall < ShortestState && pulses[next].Fall - q.Rise < TimeSpan.FromMilliseconds(430))
                {
                    pulses[next] = pulses[next] with { First = q.First, Rise = q.Rise };
                    break;
                }
            }
            k = next - 1;
        }
        return kept;
    }

    /// <summary>
    /// The code whose one or two whole rounds explain the SOS's light best, or null when no whole signature anchors
    /// the rounds or two codes explain it equally well (the light left it open: a round cut by the trace's edge).
    /// </summary>
    private static SosRounds? FitSosCode(List<Point> points, List<Pulse> pulses, int firstPulse, int lastPulse, int signatureFrom)
    {
        // the anchor: the signature's first rise, from all nine rises seen
        var anchor = Enumerable.Range(0, SignatureBlinks.Length).Average(i => pulses[signatureFrom + i].Rise.TotalMilliseconds - SignatureBlinks[i].Rise);
        var light = new SosLight(points, pulses, firstPulse, lastPulse, FlashingBlinkAtStart(points, pulses, firstPulse));
        if (light.Top <= 0) return null;
        var firstRise = pulses[firstPulse].Rise.TotalMilliseconds;
        var lastFall = pulses[lastPulse].Fall.TotalMilliseconds;
        var best = double.NegativeInfinity;
        var second = double.NegativeInfinity;
        int? bestCode = null;
        double bestLo = 0, bestHi = 0, bestLength = 0;
        // the rounds may reach back over red SOS-like pulses the groups left out (a bright room broke the train there)
        var reach = firstPulse;
        // (or an orange one: a red blink whose readings' mix a bright room tipped to orange, as a signature's first blink)
        while (reach > 0 && pulses[reach - 1].Color is LedColor.Red or LedColor.Orange && pulses[reach - 1].Duration.TotalMilliseconds < 430
               && pulses[reach].Rise - pulses[reach - 1].Fall < TrainGapMax)
            reach--;
        // and forward over such pulses after the groups (the rest of a round broken there was taken for flashing red)
        var ahead = lastPulse;
        while (ahead + 1 < pulses.Count && pulses[ahead + 1].Color == LedColor.Red && pulses[ahead + 1].Duration.TotalMilliseconds < 430
               && pulses[ahead + 1].Rise - pulses[ahead].Fall < TrainGapMax)
            ahead++;
        var (latestStart, earliestEnd) = NeighbourBounds(points, pulses, firstPulse, lastPulse);
        for (var code = 1; code <= 12; code++)
        {
            var codeBest = double.NegativeInfinity;
            double startLo = 0, startHi = 0, startLength = 0;
            var scale = light.Scale(code, anchor, firstPulse, lastPulse);
            for (var rounds = 1; rounds <= 2; rounds++)
            {
                var length = rounds * RoundMs(code) * scale;
                // the rounds hold the SOS's blinks, give or take a blink at either end (a neighbour's red light may run
                // on from its edge blink): one left out counts against them
                var from = lastFall - length - CodeOnMs;
                var to = firstRise + CodeOnMs;
                // and never run over the states on either side: at most into the first pulse of each
                if (reach > 0) from = Math.Max(from, pulses[reach - 1].Fall.TotalMilliseconds - CodeOnMs - 0.015 * length);
                if (ahead + 1 < pulses.Count) to = Math.Min(to, pulses[ahead + 1].Rise.TotalMilliseconds + CodeOnMs + 0.015 * length - length);
                // nor leave dark between them and a neighbour lit where the SOS left off: that dark is the SOS's own
                from = Math.Max(from, earliestEnd - length);
                to = Math.Min(to, latestStart);
                // a flashing red's blink lit on its cadence where the SOS began: the SOS took over after it rose
                if (light.Cadence is { } cadence) from = Math.Max(from, cadence.Rise + 1);
                // the next state lights at once where the SOS leaves off: light of another colour (not a sliver of noise)
                // ends the rounds by its rise, give or take its edge's placing and the clocks
                if (ahead + 1 < pulses.Count && pulses[ahead + 1] is { Color: not LedColor.Red } after && after.Duration >= ShortestState)
                    to = Math.Min(to, after.Rise.TotalMilliseconds + EdgeSlack(points, pulses, ahead) + 0.015 * length - length);
                if (from > to) continue;
                var blinks = SosLight.Blinks(code, anchor, from, to + length, scale);
                var unexplained = light.Unexplained(blinks);
                // the score changes where an edge of the rounds crosses a blink's edge: try the starts that put one
                // there, at a blink's middle and at both ends of what the SOS's blinks allow
                var starts = new List<double> { from, to };
                foreach (var (on, off) in blinks)
                    foreach (var t in (double[])[on - 1, (on + off) / 2, off + 1])
                    {
                        starts.Add(t);
                        starts.Add(t - length);
                    }
                // and next to the pulses around it (a neighbour's light)
                foreach (var t in light.PulseEdges(from, to + length))
                {
                    starts.Add(t);
                    starts.Add(t - length);
                }
                // and at the start of lit readings before its first pulse: an SOS entered in the last few ms of a code blink
                // leaves a piece too short for a pulse (a window only partly lit), which only rounds starting there count
                foreach (var t in light.LitStarts(from, Math.Min(to, firstRise)))
                    starts.Add(t);
                foreach (var start in starts)
                {
                    if (start < from || start > to) continue;
                    var score = light.Score(blinks, unexplained, start, start + length);
                    if (score > codeBest + 1e-9) (codeBest, startLo, startHi, startLength) = (score, start, start, length);
                    else if (score > codeBest - 1e-9 && length == startLength) (startLo, startHi) = (Math.Min(startLo, start), Math.Max(startHi, start));
                }
            }
            if (codeBest > best) (second, best, bestCode, bestLo, bestHi, bestLength) = (best, codeBest, code, startLo, startHi, startLength);
            else if (codeBest > second) second = codeBest;
        }
        // a code one blink apart from another explains the light by at least one blink more, or the light leaves it open
        return best - second >= 0.75 && bestCode is { } c
            ? new SosRounds(c, TimeSpan.FromMilliseconds(bestLo), TimeSpan.FromMilliseconds(bestHi), TimeSpan.FromMilliseconds(bestLength))
            : null;
    }

    /// <summary>
    /// Where the states on either side pin the SOS's rounds: the latest start and the earliest end (ms), infinite where
    /// they do not. A state lights at once where the one before it leaves off (spark-core.md 5.2: a solid is set, a
    /// flashing starts lit), so the dark between a neighbour's light and the SOS's blinks belongs to the SOS, save the
    /// neighbour's own off: none after a solid, one off after a flashing's last blink. The SOS's rounds reach it, and
    /// their length (4.6 s + 0.6 s x code, rigid) then tells a code blink from the red light of a neighbour that took
    /// its place (a solid red lit until the SOS's first code blink falls holds that blink).
    /// </summary>
    private static (double LatestStart, double EarliestEnd) NeighbourBounds(List<Point> points, List<Pulse> pulses, int firstPulse, int lastPulse)
    {
        double Slack(double gap) => EdgeSlack(points, pulses, firstPulse, gap);
        var window = Window(points[pulses[firstPulse].First]).TotalMilliseconds;
        // the SOS's longest dark (the pause after its code) on a clock up to 2 % slow: a wider gap may hold an off state
        const double longestDark = (CodeStepMs - CodeOnMs + 800) * 1.02;
        var (latestStart, earliestEnd) = (double.PositiveInfinity, double.NegativeInfinity);
        if (firstPulse > 0 && NeighbourOff(points, pulses, firstPulse - 1, -1) is { } before)
        {
            var gap = (pulses[firstPulse].Rise - pulses[firstPulse - 1].Fall).TotalMilliseconds;
            var slack = Slack(gap);
            // (a gap of just the flashing's off: its next blink may be lit in the SOS's first pulse, so it pins nothing)
            if (gap <= longestDark + before + slack && !(before > 0 && Math.Abs(gap - before) <= slack))
                latestStart = pulses[firstPulse - 1].Fall.TotalMilliseconds + before + slack;
        }
        var next = lastPulse + 1;
        if (next + 2 < pulses.Count && (pulses[next].Rise - pulses[lastPulse].Fall).TotalMilliseconds <= longestDark
            && pulses[next].Color == pulses[next + 1].Color && NeighbourOff(points, pulses, next + 1, 1) is > 0 and var off
            && pulses[next + 1].Duration.TotalMilliseconds is var on && pulses[next].Duration.TotalMilliseconds - on is var extra
            && extra > Slack(0) && extra <= CodeOnMs + Slack(0)
            && Math.Abs((pulses[next + 1].Rise - pulses[next].Fall).TotalMilliseconds - off) <= Window(points[pulses[next].First]).TotalMilliseconds + 10)
        {
            // a flashing whose first blink is held in a pulse longer by up to a code blink (the SOS's last blink lit up to
            // it, one pulse; a solid of its colour before it holds more): the flashing's cadence dates its first blink,
            // one on before that pulse's fall, and the light before is the SOS's
            earliestEnd = pulses[next].Fall.TotalMilliseconds - on - Slack(window);
        }
        else if (next < pulses.Count && NeighbourOff(points, pulses, next, 1) is { } after)
        {
            var gap = (pulses[lastPulse + 1].Rise - pulses[lastPulse].Fall).TotalMilliseconds;
            var slack = Slack(gap);
            // (a gap of just the flashing's off: its first blink may be lit in the SOS's last pulse, a period earlier)
            if (gap <= longestDark + slack)
                earliestEnd = pulses[lastPulse + 1].Rise.TotalMilliseconds - slack - (after > 0 && Math.Abs(gap - after) <= slack ? 2 * after : 0);
        }
        return (latestStart, earliestEnd);
    }

    /// <summary>
    /// How far a state's edge next to the SOS's pulse <paramref name="k"/> may be placed off (ms): an edge next to dark is
    /// placed within a window; where the neighbour's light touches the SOS's (a gap under a window) the colour vote over
    /// +-120 ms places the change of colour. Without a gap given, the gap after pulse k.
    /// </summary>
    private static double EdgeSlack(List<Point> points, List<Pulse> pulses, int k, double? gap = null)
    {
        var window = Window(points[pulses[k].First]).TotalMilliseconds;
        gap ??= k + 1 < pulses.Count ? (pulses[k + 1].Rise - pulses[k].Fall).TotalMilliseconds : double.PositiveInfinity;
        return 2 * window + 15 + (gap < window ? MajorityWindow.TotalMilliseconds : 0);
    }

    /// <summary>
    /// The flashing red's blink lit where the SOS began, or null: flashing red keeps its cadence until the SOS takes
    /// over (spark-core.md 5.2: a state is set at once), so a red pulse at the SOS's start that rises one off after the
    /// flashing's last blink (and is no longer than its blinks) is the flashing's next blink, cut where the SOS began
    /// inside it or at its fall. Taken for a code blink it gave one code too many.
    /// </summary>
    private static (double Rise, double Fall, int Index)? FlashingBlinkAtStart(List<Point> points, List<Pulse> pulses, int firstPulse)
    {
        for (var k = firstPulse; k >= Math.Max(1, firstPulse - 1); k--)
        {
            var (blink, flashing) = (pulses[k], pulses[k - 1]);
            if (flashing.Color != LedColor.Red || blink.Color != LedColor.Red || blink.Smooth
                || NeighbourOff(points, pulses, k - 1, -1) is not { } off || off <= 0) continue;
            var tolerance = Window(points[blink.First]).TotalMilliseconds + 10;
            if (Math.Abs((blink.Rise - flashing.Fall).TotalMilliseconds - off) <= tolerance && blink.Duration <= flashing.Duration + TimeSpan.FromMilliseconds(tolerance))
                return (blink.Rise.TotalMilliseconds, blink.Fall.TotalMilliseconds, k);
        }
        return null;
    }

    /// <summary>
    /// Whether pulse <paramref name="k"/> can be a code blink by its timing: 300 ms on (give or take two windows and
    /// 15 ms) and the next pulse rising a code step later as a long blink, or after the code's pause (1.1 s dark) as the
    /// signature's first.
    /// </summary>
    private static bool CodeBlinkAt(List<Point> points, List<Pulse> pulses, int k)
    {
        var slack = 2 * Window(points[pulses[k].First]).TotalMilliseconds + 15;
        if (Math.Abs(pulses[k].Duration.TotalMilliseconds - CodeOnMs) > slack || k + 1 >= pulses.Count) return false;
        var step = (pulses[k + 1].Rise - pulses[k].Rise).TotalMilliseconds;
        return Math.Abs(step - CodeStepMs) <= slack && SosLong(pulses[k + 1]) || Math.Abs(step - (CodeStepMs + CodePauseMs)) <= slack;
    }

    /// <summary>
    /// The dark a neighbour's own pattern holds next to its pulse <paramref name="k"/> (ms): none for a solid, the off
    /// for a flashing (on as long as off over two periods, within a window); null when the pulses do not tell its
    /// pattern: a breathing's ramp from dark, which the PWM beat breaks into uneven pieces and a bright room's noise
    /// can leave unsmooth (green and cyan, the colours the firmware breathes, count only as a flashing of 80 ms blinks
    /// or more), or a red blink an SOS could hold.
    /// </summary>
    private static double? NeighbourOff(List<Point> points, List<Pulse> pulses, int k, int away)
    {
        var p = pulses[k];
        if (p.Smooth || p.Color == LedColor.Red && p.Duration.TotalMilliseconds is >= 80 and < 430) return null;
        var breathed = p.Color is LedColor.Green or LedColor.Cyan;
        if (p.Duration >= SolidMin) return breathed ? null : 0;
        var on = p.Duration.TotalMilliseconds;
        if (breathed && on < 80) return null;
        var tolerance = Window(points[p.First]).TotalMilliseconds + 10;
        var off = 0.0;
        for (var m = 1; m <= 2; m++)
        {
            var (near, far) = (k + away * (m - 1), k + away * m);
            if (far < 0 || far >= pulses.Count || pulses[far].Color != p.Color || pulses[far].Smooth) return null;
            var gap = (away < 0 ? pulses[near].Rise - pulses[far].Fall : pulses[far].Rise - pulses[near].Fall).TotalMilliseconds;
            if (Math.Abs(gap - on) > tolerance || Math.Abs(pulses[far].Duration.TotalMilliseconds - on) > tolerance) return null;
            if (m == 1) off = gap;
        }
        return off;
    }

    /// <summary>
    /// The fitted rounds: the code, the earliest and latest start that explain the light equally well (dark before
    /// the SOS leaves it open) and their length.
    /// </summary>
    private sealed record SosRounds(int Code, TimeSpan StartLo, TimeSpan StartHi, TimeSpan Length)
    {
        /// <summary>The start: the one that ends the rounds where the next state begins, else the middle of what the light allows.</summary>
        public TimeSpan Start(TimeSpan next) =>
            next - Length >= StartLo - TimeSpan.FromMilliseconds(60) && next - Length <= StartHi + TimeSpan.FromMilliseconds(60) ? next - Length : (StartLo + StartHi) / 2;
    }

    /// <summary>The readings around an SOS as a share of its blinks' level, and the pulses seen there.</summary>
    private sealed class SosLight
    {
        private readonly double[] _start;
        private readonly double[] _end;
        private readonly double[] _sum;
        private readonly double[] _anySum;
        private readonly List<(double Rise, double Fall)> _pulses = [];
        private readonly bool[] _red;
        private readonly double[] _centres;
        private readonly int _firstPulse;
        private readonly int _lastPulse;

        public double Top { get; }

        /// <summary>The flashing red's blink lit where the SOS began (<see cref="FlashingBlinkAtStart"/>), or null.</summary>
        public (double Rise, double Fall, int Index)? Cadence { get; }

        public SosLight(List<Point> points, List<Pulse> pulses, int firstPulse, int lastPulse, (double Rise, double Fall, int Index)? cadence = null)
        {
            Cadence = cadence;
            var levels = new List<double>();
            for (var k = firstPulse; k <= lastPulse; k++)
                for (var i = pulses[k].First; i <= pulses[k].Last; i++)
                    if (points[i].On && !double.IsInfinity(points[i].Level)) levels.Add(points[i].Level);
            Top = levels.Count > 0 ? Median(levels) : 0;
            _start = new double[points.Count];
            _end = new double[points.Count];
            _sum = new double[points.Count + 1];
            _anySum = new double[points.Count + 1];
            for (var i = 0; i < points.Count; i++)
            {
                _end[i] = points[i].Time.TotalMilliseconds;
                _start[i] = _end[i] - points[i].IntegrationMs;
                // another colour's light is not a red blink
                // (nor is a fully lit reading whose own mix is another colour's, which the colour vote around it took for
                // red: the next state's first blink lit at once where the SOS left off inside a code blink)
                var other = points[i].On && (points[i].Color is not (LedColor.Red or LedColor.Off)
                                             || points[i].Trusted && Nearest(points[i].R, points[i].G, points[i].B) is not (LedColor.Red or LedColor.Orange));
                var x = Top > 0 && !other ? Math.Clamp(points[i].Level / Top, 0, 1.5) : 0;
                _sum[i + 1] = _sum[i] + x;
                // light of any colour, for where a blink's light falls to dark
                _anySum[i + 1] = _anySum[i] + (Top > 0 ? Math.Clamp(points[i].Level / Top, 0, 1.5) : 0);
            }
            foreach (var p in pulses) _pulses.Add((p.Rise.TotalMilliseconds, p.Fall.TotalMilliseconds));
            _red = pulses.Select(p => p.Color == LedColor.Red).ToArray();
            _centres = _pulses.Select(p => (p.Rise + p.Fall) / 2).ToArray();
            (_firstPulse, _lastPulse) = (firstPulse, lastPulse);
        }

        /// <summary>The blinks (on, off ms) of the code's rounds anchored at the signature's first rise, over [from, to].</summary>
        public static List<(double On, double Off)> Blinks(int code, double anchor, double from, double to, double scale)
        {
            var round = RoundMs(code) * scale;
            var blinks = new List<(double, double)>();
            for (var r = Math.Floor((from - anchor) / round) - 1; anchor + r * round <= to; r++)
            {
                var s = anchor + r * round;
                foreach (var (rise, on) in SignatureBlinks) blinks.Add((s + rise * scale, s + (rise + on) * scale));
                for (var j = 0; j < code; j++)
                    blinks.Add((s + (CodeFirstRiseMs + CodeStepMs * j) * scale, s + (CodeFirstRiseMs + CodeStepMs * j + CodeOnMs) * scale));
            }
            return blinks.Where(b => b.Item2 > from && b.Item1 < to).ToList();
        }

        /// <summary>
        /// The Core's clock against the sensor's (each is off by up to 1 %, 100 ms over two rounds of a long code): the
        /// rate that lines the SOS's pulses up with the nearest predicted blinks, from a least-squares slope.
        /// </summary>
        public double Scale(int code, double anchor, int firstPulse, int lastPulse)
        {
            var blinks = Blinks(code, anchor, _pulses[firstPulse].Rise - 1000, _pulses[lastPulse].Fall + 1000, 1);
            double xy = 0, xx = 0;
            for (var k = firstPulse; k <= lastPulse; k++)
            {
                var (rise, fall) = _pulses[k];
                var nearest = blinks.MinBy(b => Math.Abs(b.On - rise));
                if (Math.Abs(nearest.On - rise) > 150 || Math.Abs(nearest.Off - nearest.On - (fall - rise)) > 100) continue;
                var x = nearest.On - anchor;
                xy += x * (rise - nearest.On);
                xx += x * x;
            }
            return xx > 0 ? Math.Clamp(1 + xy / xx, 0.98, 1.02) : 1;
        }

        /// <summary>
        /// Whether pulse <paramref name="k"/> (the next state's first) is red, spans <paramref name="at"/> and rises with
        /// the predicted blink, give or take a window and the clocks' slack.
        /// </summary>
        private bool RedAcross(int k, double at, double rise) =>
            k < _pulses.Count && _red[k] && _pulses[k].Rise <= at && _pulses[k].Fall >= at && Math.Abs(_pulses[k].Rise - rise) <= 60;

        /// <summary>Just before the rise and just after the fall of each pulse seen within [from, to].</summary>
        public IEnumerable<double> PulseEdges(double from, double to)
        {
            for (var k = Math.Max(0, LowerBound(_centres, from) - 1); k < _pulses.Count && _pulses[k].Rise <= to; k++)
            {
                yield return _pulses[k].Rise - 1;
                yield return _pulses[k].Fall + 1;
            }
        }

        /// <summary>The start of each reading within [from, to] lit over 15 % of the blinks' level after one lit under half as much.</summary>
        public IEnumerable<double> LitStarts(double from, double to)
        {
            for (var i = Math.Max(1, LowerBound(_start, from)); i < _start.Length && _start[i] <= to; i++)
            {
                var x = _sum[i + 1] - _sum[i];
                if (x > 0.15 && _sum[i] - _sum[i - 1] < x / 2) yield return _start[i];
            }
        }

        /// <summary>For each pulse seen (by its centre's time), 1 when no predicted blink explains it, as a running sum.</summary>
        public double[] Unexplained(List<(double On, double Off)> blinks)
        {
            var sum = new double[_pulses.Count + 1];
            var b = 0;
            for (var k = 0; k < _pulses.Count; k++)
            {
                var (rise, fall) = _pulses[k];
                while (b < blinks.Count && blinks[b].Off < rise) b++;
                var explained = false;
                for (var m = b; m < blinks.Count && blinks[m].On < fall && !explained; m++)
                    explained = Math.Min(blinks[m].Off, fall) - Math.Max(blinks[m].On, rise) >= 0.5 * (fall - rise);
                sum[k + 1] = sum[k] + (explained ? 0 : 1);
            }
            return sum;
        }

        /// <summary>
        /// How well SOS rounds over [start, end] explain the light: each blink they predict (its part inside) counts +1
        /// when lit well above the dark beside it and -1 when not; each pulse seen inside that no predicted blink
        /// explains counts -1.
        /// </summary>
        public double Score(List<(double On, double Off)> blinks, double[] unexplained, double start, double end)
        {
            var score = 0.0;
            for (var k = 0; k < blinks.Count; k++)
            {
                var (on, off) = blinks[k];
                var u = Math.Max(on, start);
                var v = Math.Min(off, end);
                if (v <= u) continue;
                var lit = Mean(u, v);
                if (lit is null) continue;
                // the dark beside it, up to the neighbouring blinks: every blink has its off on both sides, so a whole
                // one is looked at past the rounds' edge too (a red solid right after is no blink); a cut one only inside
                var before = Mean(u > on ? start : k > 0 ? blinks[k - 1].Off : on - 300, u);
                var after = Mean(v, v < off ? end : k + 1 < blinks.Count ? blinks[k + 1].On : off + 300);
                // inside the rounds every blink has at least 100 ms of off on both sides: light running on into it past
                // a clock's slack (flashing red's 500 ms blink where a code blink would be) is a longer blink, not this
                // one (past the rounds' edge the next state may light at once)
                if (v == off && off + 100 <= end && Mean(off + 15, off + 100) is > 0.5 || u == on && on - 100 >= start && Mean(on - 100, on - 15) is > 0.5)
                {
                    score -= 1;
                    continue;
                }
                // a code blink is lit red its whole 300 ms (panic.c): one whose light falls to dark before its predicted
                // fall, the rounds running on past it, is a shorter blink (fast flashing red's first, lit where the SOS
                // left off inside a code blink), and one whose light turns another colour there is where the SOS left off
                // (the next state lit at once), unless the rounds end within the clocks' slack after it
                if (u == on && v == off && off - on > 200
                    && (off < end && Mean(off - 100, off - 15, _anySum) is < 0.75 || off + 100 <= end && Mean(off - 100, off - 15) is < 0.75))
                {
                    score -= 1;
                    continue;
                }
                if (before is null && after is null) continue;
                var dark = Math.Max(before ?? 0, after ?? 0);
                // a blink cut by the rounds' edge ends there: red light running on past it is no cut blink, unless the
                // SOS left inside this blink and the next state is red (a state lights at once when set: flashing red's
                // first blink, a solid red), so the next state's first pulse rises with this blink
                // (the SOS began inside the flashing red's blink lit on its cadence: wherever in it, the light is the same, so
                // the part of a blink there tells nothing)
                if (u > on && Cadence is { } c && start > c.Rise && start <= c.Fall) continue;
                if (u > on && Mean(on, u) is > 0.5 || v < off && Mean(v, off) is > 0.5 && !RedAcross(_lastPulse + 1, v, on))
                {
                    score -= 1;
                    continue;
                }
                // a blink stands half its level or more above the dark beside it; a solid light or the dark does not
                score += Math.Clamp(4 * (lit.Value - dark) - 1, -1, 1);
            }
            // the Core's and the sensor's clocks differ by up to 1 % each: the rounds' ends are that unsure
            var margin = 0.015 * (end - start);
            var first = LowerBound(_centres, start + margin);
            var last = LowerBound(_centres, end - margin);
            // the SOS's own pulses left outside the rounds
            // (save the flashing's blink the SOS began in or after, which is the state before's)
            var firstOwn = Cadence is { Index: var ci } && ci == _firstPulse ? _firstPulse + 1 : _firstPulse;
            score -= Math.Max(0, LowerBound(_centres, start - margin) - firstOwn) + Math.Max(0, _lastPulse + 1 - LowerBound(_centres, end + margin));
            return score - (unexplained[last] - unexplained[first]);
        }

        /// <summary>Mean share of the readings whose windows lie inside [from, to], or null when none does.</summary>
        private double? Mean(double from, double to, double[]? sum = null)
        {
            sum ??= _sum;
            var i = LowerBound(_start, from);
            var j = LowerBound(_end, to + 1e-9) - 1;
            if (j < i) return null;
            return (sum[j + 1] - sum[i]) / (j - i + 1);
        }

        private static int LowerBound(double[] values, double x)
        {
            int lo = 0, hi = values.Length;
            while (lo < hi)
            {
                var mid = (lo + hi) / 2;
                if (values[mid] < x) lo = mid + 1;
                else hi = mid;
            }
            return lo;
        }
    }
}
