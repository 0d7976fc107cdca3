using System.Globalization;

namespace HilRig.Core.Led;

/// <summary>
/// Turns raw colour-sensor samples into a timeline of LED states.
/// <para>Per sample: counts are normalised to counts per ms at 1x gain and the dark level is subtracted. A sample is
/// lit when its clear level is above the noise floor (5 sigma of the dark noise, and at least 10 % of the
/// calibrated white level, below which it is crosstalk from neighbouring slots); its colour is the
/// nearest reference chromaticity r/(r+g+b), g/(..), b/(..) (see <see cref="References"/>) and is trusted only
/// when the level is well over the floor and at least half its colour's peak; others take the colour of the nearest
/// trusted sample, and trusted samples take the majority colour within +-120 ms.
/// Brightness is judged relative to the 90th percentile of trusted samples of the same colour within +-2.2 s, so a dim red
/// next to a bright white still counts as on.</para>
/// <para>On/off uses hysteresis (on at 50 %, off below 30 %). Each on-run is a pulse with edge times interpolated
/// from the partial windows; a pulse of 600 ms or more whose rise or fall is a ramp with depth in the level averaged
/// over the PWM/mains beat (<see cref="BeatWindows"/>) is smooth, unless it then holds its top for seconds (solid).
/// Smooth pulses make breathing (or the start-up white fade: sharp rise, smooth fall, alone); sharp pulses longer
/// than 700 ms are solid; trains of shorter sharp pulses (gaps under 1.3 s) are SOS when red with the
/// short-long-short signature (the code is the count of the following blinks), else flashing with the median
/// toggle time (fast flashing at 75 ms or less). Dark gaps of 300 ms or more become "off". Adjacent segments
/// in the same state merge.</para>
/// </summary>
public sealed partial class LedClassifier
{
    public static readonly TimeSpan SolidMin = TimeSpan.FromMilliseconds(700);
    public static readonly TimeSpan TrainGapMax = TimeSpan.FromMilliseconds(1300);
    public static readonly TimeSpan OffMin = TimeSpan.FromMilliseconds(300);
    public static readonly TimeSpan FastToggleMax = TimeSpan.FromMilliseconds(75);
    private static readonly TimeSpan ShortestState = TimeSpan.FromMilliseconds(50);
    /// <summary>Longest dark at a breathing trough: 100 steps of 21 ms from dark, under the lit floor for up to a fifth of the way, both sides.</summary>
    private static readonly TimeSpan BreathingTroughMax = TimeSpan.FromMilliseconds(1000);
    private static readonly TimeSpan PeakWindow = TimeSpan.FromMilliseconds(2200);
    private static readonly TimeSpan MajorityWindow = TimeSpan.FromMilliseconds(120);

    /// <summary>A breathing or fading pulse lasts seconds; a shorter "ramp" is noise on a blink.</summary>
    public static readonly TimeSpan SmoothPulseMin = TimeSpan.FromMilliseconds(600);
    /// <summary>
    /// A reading's colour is evidence from this far over the lit floor of a calibrated slot (7.5 sigma of its measured
    /// dark noise): the chromaticity of the LED's dies is then clear of the noise, and the floor's 10 % of white already
    /// keeps a neighbour's leak out. A dark level estimated from the trace has a less certain noise: 2.5 x its floor.
    /// </summary>
    private const double TrustOverFloor = 1.5;
    private const double OnEnter = 0.5;
    /// <summary>A colour this many lit floors (of 10 % of white) up is too bright for a neighbour's leak (a full-brightness
    /// neighbour leaking 4 % reaches 11 % of this slot's white; the dimmest own colour, blue, is 27 %).</summary>
    private const double StateOverLeak = 2.1;
    private const double OnStay = 0.3;
    private const int SmoothRampSamples = 4;

    /// <summary>
    /// TCS34725 channel response (R, G, B) to the Core's red, green and blue dies at equal power: the expected
    /// chromaticity of each colour is the duty-weighted sum, normalised. Orange is 0xFF6000 (green at 96/255).
    /// </summary>
    public static readonly IReadOnlyDictionary<LedColor, (double R, double G, double B)> References = BuildReferences();

    /// <summary>Below this share of the calibrated white level a reading is crosstalk, not the slot's own LED.</summary>
    public const double MinLitShareOfWhite = 0.10;

    private readonly SlotCalibration _calibration;
    private readonly double _seenWhite;

    /// <param name="seenWhite">Without a calibrated white level: the slot's brightest light in readings around the ones
    /// classified (<see cref="BrightestLevel(IReadOnlyList{LedSample}, double)"/> of the sampler's whole buffer), so a short
    /// stretch of a dark slot is held to the slot's own light, not to its neighbours' leak, which is then all it sees.</param>
    public LedClassifier(SlotCalibration? calibration = null, double seenWhite = 0)
    {
        _calibration = calibration ?? SlotCalibration.None;
        _seenWhite = seenWhite;
    }

    /// <summary>Classifies a trace; with no calibration the dark level is estimated from the trace's darkest samples.</summary>
    public static LedTimeline Classify(LedTrace trace) =>
        new LedClassifier(trace.Calibration ?? EstimateDark(trace.Samples)).Classify(trace.Samples);

    public LedTimeline Classify(IReadOnlyList<LedSample> samples)
    {
        if (samples.Count == 0) return LedTimeline.Empty;
        // the sampler and trace files give samples in time order; anything else is put in order (stable) first
        if (!InTimeOrder(samples)) samples = [.. samples.OrderBy(x => x.Time)];
        var minLit = MinLitShareOfWhite * (_calibration.LitC > 0 ? _calibration.LitC : Math.Max(_seenWhite, BrightestLevel(samples, _calibration.DarkC)));
        var points = Prepare(samples, minLit);
        var pulses = FindPulses(points);
        var segments = BuildSegments(points, pulses);
        return new LedTimeline(Merge(FitToggles(points, Merge(JoinFlashingPieces(FlashingEnteredLit(Merge(BreathingHasDepth(points, BreathingRise(BreathingEnds(points, ShortBreathing(points, OverlayBreathing(points, FillOff(points, segments), minLit))))))))))));
    }

    /// <summary>Dark level from the darkest 5 % of a trace, or zero when the trace is never dark.</summary>
    public static SlotCalibration EstimateDark(IReadOnlyList<LedSample> samples)
    {
        if (samples.Count < 10) return SlotCalibration.None;
        var normalised = samples.Where(s => !s.Saturated)
            .Select(s => (s, k: 1.0 / (s.Gain * s.IntegrationMs)))
            .Select(p => (r: p.s.R * p.k, g: p.s.G * p.k, b: p.s.B * p.k, c: p.s.C * p.k))
            .OrderBy(v => v.c).ToList();
        if (normalised.Count < 10) return SlotCalibration.None;
        var dark = normalised.Take(Math.Max(3, normalised.Count / 20)).ToList();
        var top = normalised[(int)(normalised.Count * 0.95)].c;
        var darkC = dark.Average(v => v.c);
        var noise = Math.Sqrt(dark.Average(v => (v.c - darkC) * (v.c - darkC)));
        if (!DarkStandsApart(darkC, noise, top)) return SlotCalibration.None;
        return new SlotCalibration(-1, dark.Average(v => v.r), dark.Average(v => v.g), dark.Average(v => v.b), darkC, noise, 1, 0);
    }

    /// <summary>
    /// The darkest readings are the room (the LED off) only if the trace's lit readings stand well above them: in a
    /// bright room the LED adds to a large dark level (room light can be half the LED's white), while a trace that is
    /// never dark spreads no further than its ripple and room flicker (well under half its level).
    /// </summary>
    internal static bool DarkStandsApart(double darkC, double noise, double top) => top > 1.5 * darkC && top - darkC > 20 * noise;

    /// <summary>Without a calibrated white level: the trace's brightest clear level, scaled from a colour to white.</summary>
    internal static double BrightestLevel(IReadOnlyList<LedSample> samples, double darkC)
    {
        var levels = samples.Where(s => !s.Saturated).Select(s => s.C / (s.Gain * s.IntegrationMs) - darkC).Order().ToList();
        return levels.Count == 0 ? 0 : Math.Max(0, levels[(int)(0.99 * (levels.Count - 1))]);
    }

    private sealed class Point
    {
        public TimeSpan Time;
        public double IntegrationMs;
        public double Level;
        /// <summary>Red, green and blue less the dark level, counts per ms at 1x.</summary>
        public double R, G, B;
        /// <summary>The same, not clipped at zero: summed over readings a dim light's channels stay unbiased.</summary>
        public double RawR, RawG, RawB;
        public double Floor;
        /// <summary>Level a reading of a lit stretch stays lit down to: half the floor where noise sets it, never under the leak floor.</summary>
        public double StayFloor;
        public bool Saturated;
        public bool Trusted;
        /// <summary>Lit by its pooled stretch though under the floor on its own.</summary>
        public bool PooledLit;
        public LedColor Color;
        /// <summary>Colour of a reading whose clear channel clipped while red, green and blue did not.</summary>
        public LedColor ClipColor;
        public double Fraction;
        public double Envelope;
        public double EnvelopeLevel;
        public bool On;
    }

    private sealed record Pulse(int First, int Last, LedColor Color, TimeSpan Rise, TimeSpan Fall, bool SmoothRise, bool SmoothFall)
    {
        public TimeSpan Duration => Fall - Rise;

        public bool Smooth => SmoothRise || SmoothFall;
    }

    private List<Point> Prepare(IReadOnlyList<LedSample> samples, double minLit)
    {
        var measured = _calibration.DarkNoiseC > 0 && _calibration.LitC > 0;
        var traceNoise = measured || _calibration.DarkC <= 0 ? 0 : DarkNeighbourNoise(samples, _calibration.DarkC);
        var points = new List<Point>(samples.Count);
        foreach (var s in samples)
        {
            var k = 1.0 / (s.Gain * s.IntegrationMs);
            var r = Math.Max(0, s.R * k - _calibration.DarkR);
            var g = Math.Max(0, s.G * k - _calibration.DarkG);
            var b = Math.Max(0, s.B * k - _calibration.DarkB);
            var c = Math.Max(0, s.C * k - _calibration.DarkC);
            var darkCounts = _calibration.DarkC * s.Gain * s.IntegrationMs;
            // the measured dark noise (sensor noise plus room-light flicker) when calibrated, else shot noise on the dark level
            // a calibrated slot's measured noise is the truth for it (its sensor's own counts per electron); a dark level
            // estimated from the trace's darkest tail understates its spread, so shot noise bounds it from below
            var shot = Math.Sqrt(darkCounts + 16) * k;
            var sigma = measured ? _calibration.DarkNoiseC : Math.Max(_calibration.DarkNoiseC, traceNoise > 0 ? Math.Min(shot, traceNoise) : shot);
            var floor = Math.Max(5 * sigma, minLit);
            var p = new Point
            {
                Time = s.Time,
                IntegrationMs = s.IntegrationMs,
                Level = s.Saturated ? double.PositiveInfinity : c,
                R = r,
                G = g,
                B = b,
                RawR = s.R * k - _calibration.DarkR,
                RawG = s.G * k - _calibration.DarkG,
                RawB = s.B * k - _calibration.DarkB,
                Floor = floor,
                StayFloor = Math.Max(2.5 * sigma, minLit),
                Saturated = s.Saturated,
            };
            if (!s.Saturated && c > (measured ? TrustOverFloor : 2.5) * floor && r + g + b > 0)
            {
                p.Trusted = true;
                p.Color = Nearest(r, g, b);
            }
            // a bright LED clips the clear channel first (it sums all three): the colour channels still tell its colour
            if (s.Saturated && Math.Max(s.R, Math.Max(s.G, s.B)) < s.MaxCount && r + g + b > 0) p.ClipColor = Nearest(r, g, b);
            points.Add(p);
        }

        TrustPooled(points, measured ? TrustOverFloor : 2.5, minLit, _calibration.LitC > 0);
        DominantColours(points, minLit);
        InheritColours(points);
        ComputeFractions(points);
        // a partly lit window mixes the LED with ambient and the neighbours' light: its colour is not evidence
        foreach (var p in points)
            if (p.Trusted && p.Fraction < OnEnter) p.Trusted = false;
        InheritColours(points);
        ComputeFractions(points);

        ComputeEnvelopes(points);

        var on = false;
        LedColor onColor = LedColor.Off;
        var onPeak = 0.0;
        Point? previous = null;
        foreach (var p in points)
        {
            var lit = p.Color != LedColor.Off && (on && p.Color == onColor ? p.Fraction >= OnStay : p.Fraction >= OnEnter);
            // once lit, a reading stays lit down to half the floor: where the floor is set by noise (a bright room) a
            // dim colour's own readings spread under it now and then, and one such dip is no edge
            if (!lit && on && p.Color == LedColor.Off && !p.Saturated && previous is not null && Adjacent(previous, p)
                && p.Level > p.StayFloor && onPeak > 0 && p.Level >= OnStay * onPeak)
            {
                p.Color = onColor;
                p.Fraction = Math.Min(1, p.Level / onPeak);
                lit = true;
            }
            p.On = lit;
            on = lit;
            onColor = p.Color;
            if (lit && p.Fraction > 0 && !p.Saturated) onPeak = p.Level / p.Fraction;
            previous = p;
        }
        return points;
    }

    private static bool Lit(Point p) => p.Saturated || p.Level > p.Floor || p.PooledLit;

    /// <summary>
    /// Within one unbroken lit stretch, a colour seen only at under 30 % of the stretch's brightest level is a mix
    /// of a dim LED with crosstalk, not a state: such samples give up their colour.
    /// </summary>
    private static void DominantColours(List<Point> points, double minLit)
    {
        var i = 0;
        while (i < points.Count)
        {
            if (!Lit(points[i])) { i++; continue; }
            var first = i;
            while (i + 1 < points.Count && Lit(points[i + 1])) i++;
            var last = i;
            i++;
            var top = new Dictionary<LedColor, double>();
            // longest unbroken run of each colour: a leak seen between another colour's blinks comes in pieces
            var held = new Dictionary<LedColor, double>();
            var max = 0.0;
            var run = (Color: LedColor.Off, From: TimeSpan.Zero);
            for (var k = first; k <= last; k++)
            {
                var p = points[k];
                if (!p.Trusted) continue;
                top[p.Color] = Math.Max(top.GetValueOrDefault(p.Color), p.Level);
                if (p.Color != run.Color) run = (p.Color, p.Time - Window(p));
                held[p.Color] = Math.Max(held.GetValueOrDefault(p.Color), (p.Time - run.From).TotalMilliseconds);
                max = Math.Max(max, p.Level);
            }
            // a colour held unbroken for as long as a solid state, at a level no leak reaches, is a state (a dim
            // blue straight into a bright white), not a mix
            for (var k = first; k <= last; k++)
                if (points[k].Trusted && top[points[k].Color] < 0.3 * max
                    && (held[points[k].Color] < SolidMin.TotalMilliseconds || top[points[k].Color] < StateOverLeak * minLit))
                    points[k].Trusted = false;
        }
    }

    /// <summary>Untrusted lit samples take the colour of the nearest trusted sample; unlit ones are off.</summary>
    private static void InheritColours(List<Point> points)
    {
        var nextTrusted = new int[points.Count];
        var next = -1;
        for (var i = points.Count - 1; i >= 0; i--)
        {
            if (points[i].Trusted) next = i;
            nextTrusted[i] = next;
        }
        var lastTrusted = -1;
        for (var i = 0; i < points.Count; i++)
        {
            var p = points[i];
            if (p.Trusted) { lastTrusted = i; continue; }
            if (!Lit(p)) { p.Color = LedColor.Off; continue; }
            if (p.ClipColor != LedColor.Off) { p.Color = p.ClipColor; continue; }
            var n = nextTrusted[i];
            var pick = lastTrusted < 0 ? n
                : n < 0 ? lastTrusted
                : (p.Time - points[lastTrusted].Time) <= (points[n].Time - p.Time) ? lastTrusted : n;
            p.Color = pick < 0 ? LedColor.Off : points[pick].Color;
        }

        MajorityColours(points);
    }

    /// <summary>
    /// Each trusted sample takes the colour most trusted samples within +-120 ms agree on: one noisy reading does
    /// not split a flashing pattern, while a real colour change moves the boundary by at most a sample.
    /// </summary>
    private static void MajorityColours(List<Point> points)
    {
        var votes = new Dictionary<LedColor, int>();
        var result = new LedColor[points.Count];
        for (var i = 0; i < points.Count; i++)
        {
            var p = points[i];
            result[i] = p.Color;
            if (!p.Trusted) continue;
            votes.Clear();
            for (var j = i; j >= 0 && p.Time - points[j].Time <= MajorityWindow; j--)
                if (points[j].Trusted) votes[points[j].Color] = votes.GetValueOrDefault(points[j].Color) + 1;
            for (var j = i + 1; j < points.Count && points[j].Time - p.Time <= MajorityWindow; j++)
                if (points[j].Trusted) votes[points[j].Color] = votes.GetValueOrDefault(points[j].Color) + 1;
            var own = votes[p.Color];
            foreach (var (colour, count) in votes)
                if (count > own) { own = count; result[i] = colour; }
        }
        for (var i = 0; i < points.Count; i++)
            if (points[i].Trusted) points[i].Color = result[i];
    }

    /// <summary>Brightness relative to the brightest trusted samples of the same colour nearby.</summary>
    private static void ComputeFractions(List<Point> points)
    {
        // Polls classify the same samples over and over: each colour keeps the sorted levels of its trusted samples
        // within the peak window as the window slides, instead of gathering and ranking the window per sample.
        var windows = new Dictionary<LedColor, SlidingLevels>();
        foreach (var p in points)
        {
            p.Fraction = 0;
            if (p.Color == LedColor.Off) continue;
            if (p.Saturated) { p.Fraction = 1; continue; }
            if (!windows.TryGetValue(p.Color, out var window))
                windows[p.Color] = window = new SlidingLevels([.. points.Where(q => q.Trusted && q.Color == p.Color)]);
            var levels = window.Around(p.Time);
            // 90th percentile: the top of the pattern without the luck of one noisy reading
            var peak = levels.Count == 0 ? 0 : levels[(int)(0.9 * (levels.Count - 1))];
            p.Fraction = peak > 0 ? Math.Min(1, p.Level / peak) : 0;
        }
    }

    /// <summary>
    /// Windows per beat of the 100 Hz PWM (and the room's 100 Hz mains flicker) against the integration time: a
    /// window that is not a whole number of 10 ms periods holds one more or one fewer on-pulse depending on its phase
    /// (12 ms: one or two pulses, up to 2:1 at low duty), and the pattern repeats after n windows that span whole
    /// periods (12 and 24 ms: 5; 19.2 ms: 1, as 1.92 periods leaves under 1 ms over).
    /// </summary>
    internal static int BeatWindows(double integrationMs)
    {
        var best = 1;
        var bestLeft = double.MaxValue;
        for (var n = 1; n <= 8; n++)
        {
            var periods = n * integrationMs / PwmPeriodMs;
            var left = Math.Abs(periods - Math.Round(periods)) * PwmPeriodMs;
            if (left <= 1) return n;
            if (left < bestLeft) (best, bestLeft) = (n, left);
        }
        return best;
    }

    private const double PwmPeriodMs = 10;

    /// <summary>
    /// Brightness averaged over one beat (<see cref="BeatWindows"/>) of adjacent readings of the same colour: the
    /// PWM and mains ripple cancel, a breathing ramp stays a ramp, and a step edge spreads over at most n - 1 readings.
    /// </summary>
    private static void ComputeEnvelopes(List<Point> points)
    {
        for (var i = 0; i < points.Count; i++)
        {
            var p = points[i];
            var n = BeatWindows(p.IntegrationMs);
            if (n == 1 || p.Saturated) { p.EnvelopeLevel = p.Level; continue; }
            // centred: n - 1 neighbours split either side
            var before = (n - 1) / 2;
            var after = n - 1 - before;
            var sum = p.Level;
            var count = 1;
            for (int j = i - 1, k = 0; k < before && j >= 0 && Adjacent(points[j], points[j + 1]); j--, k++, count++)
                sum += Share(points[j], p.Color);
            for (int j = i + 1, k = 0; k < after && j < points.Count && Adjacent(points[j - 1], points[j]); j++, k++, count++)
                sum += Share(points[j], p.Color);
            p.EnvelopeLevel = sum / count;
        }
        // relative to the top of the averaged level: a solid's ripple averages to its mean, which is then 100 %
        var windows = new Dictionary<LedColor, SlidingLevels>();
        foreach (var p in points)
        {
            p.Envelope = 0;
            if (p.Color == LedColor.Off) continue;
            if (p.Saturated) { p.Envelope = 1; continue; }
            if (!windows.TryGetValue(p.Color, out var window))
                windows[p.Color] = window = new SlidingLevels([.. points.Where(q => q.Trusted && q.Color == p.Color)], q => q.EnvelopeLevel);
            var levels = window.Around(p.Time);
            var peak = levels.Count == 0 ? 0 : levels[(int)(0.9 * (levels.Count - 1))];
            p.Envelope = peak > 0 ? Math.Min(1, p.EnvelopeLevel / peak) : 0;
        }

        static double Share(Point q, LedColor color) => q.Color == color && !q.Saturated ? q.Level : 0;
    }

    private static bool InTimeOrder(IReadOnlyList<LedSample> samples)
    {
        for (var i = 1; i < samples.Count; i++)
            if (samples[i].Time < samples[i - 1].Time) return false;
        return true;
    }

    /// <summary>The levels of a colour's trusted samples within <see cref="PeakWindow"/> of a time that only moves forward, sorted.</summary>
    private sealed class SlidingLevels(List<Point> trusted, Func<Point, double>? value = null)
    {
        private readonly List<double> _sorted = [];
        private int _next;
        private int _first;

        public List<double> Around(TimeSpan time)
        {
            while (_next < trusted.Count && trusted[_next].Time - time <= PeakWindow)
            {
                var level = Value(trusted[_next++]);
                var at = _sorted.BinarySearch(level);
                _sorted.Insert(at < 0 ? ~at : at, level);
            }
            while (_first < _next && time - trusted[_first].Time > PeakWindow)
                _sorted.RemoveAt(_sorted.BinarySearch(Value(trusted[_first++])));
            return _sorted;
        }

        private double Value(Point p) => value is null ? p.Level : value(p);
    }

    private static List<Pulse> FindPulses(List<Point> points)
    {
        var pulses = new List<Pulse>();
        var i = 0;
        while (i < points.Count)
        {
            if (!points[i].On) { i++; continue; }
            var first = i;
            var color = points[i].Color;
            while (i + 1 < points.Count && points[i + 1].On && points[i + 1].Color == color) i++;
            var last = i;
            i++;
            var rise = RiseTime(points, first);
            var fall = FallTime(points, last);
            // the firmware fades only green and cyan (breathing) and white (the start-up fade, spark-core.md 5.2): another
            // colour's ramp is a neighbouring state's light running into its edge (a breathing cyan's fall into
            // flashing red's first blink read red), not a breathing of that colour
            var isLong = fall - rise >= SmoothPulseMin && color is LedColor.Green or LedColor.Cyan or LedColor.White;
            pulses.Add(new Pulse(first, last, color, rise, fall,
                isLong && RampLength(points, first, -1) >= SmoothRampSamples,
                // the start-up white fade is cut short when the CC3000 starts (0.5-1 s), before its ramp gets deep: a
                // white fall counts its readings; a solid white's ripple is told apart by its flat top (FlatTop)
                isLong && (RampLength(points, last, +1) >= SmoothRampSamples || (color == LedColor.White && FallSamples(points, last) >= SmoothRampSamples))));
        }
        return pulses;
    }

    private static TimeSpan Window(Point p) => TimeSpan.FromMilliseconds(p.IntegrationMs);

    private static bool Adjacent(Point a, Point b) => (b.Time - a.Time).TotalMilliseconds <= 1.5 * b.IntegrationMs;

    /// <summary>The edge lies where the lit fractions of the first on window (and a partly lit one before) place it.</summary>
    private static TimeSpan RiseTime(List<Point> points, int first)
    {
        var p = points[first];
        var t = p.Time - Window(p) * Math.Clamp(p.Fraction, 0, 1);
        if (first > 0 && Adjacent(points[first - 1], p) && points[first - 1].Color == p.Color)
            t -= Window(p) * Math.Clamp(points[first - 1].Fraction, 0, 1);
        return t;
    }

    private static TimeSpan FallTime(List<Point> points, int last)
    {
        var p = points[last];
        var t = p.Time - Window(p) + Window(p) * Math.Clamp(p.Fraction, 0, 1);
        if (last + 1 < points.Count && Adjacent(p, points[last + 1]) && points[last + 1].Color == p.Color)
            t += Window(p) * Math.Clamp(points[last + 1].Fraction, 0, 1);
        return t;
    }

    /// <summary>
    /// Intermediate-brightness samples through an edge: a ramp, not a step. A ramp has depth (several readings low
    /// and several halfway up); a solid light's ripple (PWM beating against the window, mains flicker) stays high and
    /// a step edge has at most a partly lit window or two.
    /// </summary>
    private static int RampLength(List<Point> points, int edge, int direction)
    {
        static bool Intermediate(Point p) => !p.Saturated && p.Envelope is > 0.1 and < 0.85;
        int low = 0, middle = 0;
        void Count(Point p)
        {
            if (p.Envelope < 0.45) low++;
            else middle++;
        }
        // away from the pulse a ramp only gets darker, into it only brighter (up to the noise): a neighbouring
        // pattern of the same colour (breathing before a solid) is not this edge's ramp
        var lowest = double.MaxValue;
        for (var j = edge; j >= 0 && j < points.Count && Intermediate(points[j]) && points[j].Envelope <= lowest * 1.5 + 0.1; j -= direction)
        {
            Count(points[j]);
            lowest = Math.Min(lowest, points[j].Envelope);
        }
        var highest = points[edge].Envelope;
        for (var j = edge + direction; j >= 0 && j < points.Count && Intermediate(points[j]) && points[j].Envelope >= highest * 0.67 - 0.1; j += direction)
        {
            Count(points[j]);
            highest = Math.Max(highest, points[j].Envelope);
        }
        return low >= 3 && middle >= 3 ? low + middle : 0;
    }

    /// <summary>
    /// A breathing LED is over 80 % of its 90th-percentile level (72 % of its top) for 2 x 0.28 x 2.1 s = 1.2 s a cycle;
    /// a solid light stays there.
    /// </summary>
    private const double FlatLevel = 0.8;
    private static readonly TimeSpan FlatTopMin = TimeSpan.FromMilliseconds(1600);

    /// <summary>Intermediate readings through a fall edge, counted as they come (no depth rule).</summary>
    private static int FallSamples(List<Point> points, int last)
    {
        static bool Intermediate(Point p) => !p.Saturated && p.Fraction is > 0.12 and < 0.8;
        var count = 0;
        for (var j = last; j >= 0 && Intermediate(points[j]); j--) count++;
        for (var j = last + 1; j < points.Count && Intermediate(points[j]); j++) count++;
        return count;
    }

    /// <summary>
    /// A reading's own shot noise at gain 16-60 is a tenth of its level or more, enough to break any run of single
    /// readings over 80 %: the top is judged on the median of the averaged level within +-150 ms (a breathing ramp is
    /// linear over that span, so the median follows it; a solid's noise falls by 3-5x), relative to the 90th
    /// percentile of those medians over the pulse.
    /// </summary>
    private static readonly TimeSpan FlatSmoothing = TimeSpan.FromMilliseconds(150);

    /// <summary>Longest run of a pulse at the top of its averaged level, when it lasts <see cref="FlatTopMin"/> or more.</summary>
    private static int? FlatTop(List<Point> points, Pulse pulse)
    {
        if (pulse.Fall - pulse.Rise < FlatTopMin) return null;
        var n = pulse.Last - pulse.First + 1;
        var smooth = new double[n];
        var window = new List<double>();
        int lo = pulse.First, hi = pulse.First;
        for (var k = pulse.First; k <= pulse.Last; k++)
        {
            while (points[k].Time - points[lo].Time > FlatSmoothing) lo++;
            while (hi + 1 <= pulse.Last && points[hi + 1].Time - points[k].Time <= FlatSmoothing) hi++;
            window.Clear();
            for (var m = lo; m <= hi; m++) window.Add(points[m].EnvelopeLevel);
            window.Sort();
            smooth[k - pulse.First] = window[window.Count / 2];
        }
        var sorted = (double[])smooth.Clone();
        Array.Sort(sorted);
        var top = sorted[(int)(0.9 * (n - 1))];
        if (!(top > 0)) return null;
        int? best = null;
        var bestLength = TimeSpan.Zero;
        for (var k = 0; k < n; k++)
        {
            if (smooth[k] < FlatLevel * top) continue;
            var from = k;
            while (k + 1 < n && smooth[k + 1] >= FlatLevel * top) k++;
            var length = points[pulse.First + k].Time - points[pulse.First + from].Time;
            if (length > bestLength) (best, bestLength) = (pulse.First + from, length);
        }
        return bestLength >= FlatTopMin ? best : null;
    }

    /// <summary>
    /// At the foot of a breathing ramp the LED is dim and the PWM beat (up to 2:1 at 12 ms) flips readings across the
    /// on threshold: short sharp pulses inside a smooth pulse's ramp are that ripple, not blinks of their own.
    /// </summary>
    private static List<Pulse> WithoutRampFragments(List<Point> points, List<Pulse> pulses)
    {
        var kept = new List<Pulse>(pulses.Count);
        TimeSpan? rampEnd = null;
        LedColor rampColor = LedColor.Off;
        for (var k = 0; k < pulses.Count; k++)
        {
            var p = pulses[k];
            if (p.Smooth)
            {
                kept.Add(p);
                rampEnd = p.SmoothFall ? RampEnd(points, p.Last) : null;
                rampColor = p.SmoothFall ? p.Color : LedColor.Off;
                continue;
            }
            if (p.Duration < SmoothPulseMin && p.Color == rampColor && rampEnd is { } end && p.Fall <= end) continue;
            var next = k + 1;
            while (next < pulses.Count && !pulses[next].Smooth && pulses[next].Duration < SmoothPulseMin && pulses[next].Color == p.Color
                   && pulses[next].Rise - p.Fall < TimeSpan.FromSeconds(1)) next++;
            if (p.Duration < SmoothPulseMin && next < pulses.Count && pulses[next].SmoothRise && pulses[next].Color == p.Color
                && RampStart(points, pulses[next].First) <= p.Rise) continue;
            kept.Add(p);
        }
        return kept;
    }

    private List<LedSegment> BuildSegments(List<Point> points, List<Pulse> pulses)
    {
        pulses = WithoutSosSlivers(points, WithoutRampFragments(points, JoinDips(points, pulses, _calibration.DarkNoiseC > 0 && _calibration.LitC > 0)));
        var segments = new List<LedSegment>();
        var i = 0;
        while (i < pulses.Count)
        {
            var p = pulses[i];
            if (p.Smooth)
            {
                var j = i;
                while (j + 1 < pulses.Count && pulses[j + 1].Smooth && pulses[j + 1].Color == p.Color
                       && pulses[j + 1].Rise - pulses[j].Fall < TimeSpan.FromSeconds(3))
                    j++;
                var start = p.SmoothRise ? RampStart(points, p.First) : p.Rise;
                // a breathing LED is near its top for about a second; longer at the top is a solid light, entered from
                // a ramp (breathing, then solid of the same colour) or with ripple that looked like one
                var flatAt = Enumerable.Range(i, j - i + 1).Select(m => (m, top: FlatTop(points, pulses[m]))).FirstOrDefault(x => x.top is not null);
                if (flatAt.top is { } flat)
                {
                    var m = flatAt.m;
                    var solidStart = m == i && !p.SmoothRise ? p.Rise : points[flat].Time - Window(points[flat]);
                    if (solidStart - start > SmoothPulseMin)
                    {
                        var rises = Enumerable.Range(i, m - i).Select(k => (pulses[k + 1].Rise - pulses[k].Rise).TotalMilliseconds).ToList();
                        var ramp = TimeSpan.FromMilliseconds(rises.Count > 0 ? Median(rises) : 2 * (solidStart - start).TotalMilliseconds);
                        segments.Add(new LedSegment(start, solidStart, new LedState(p.Color, LedPattern.Breathing, ramp),
                            ColourAgreement(points, start, solidStart, p.Color) * (rises.Count > 1 ? Regularity(rises) : 0.7)));
                    }
                    else solidStart = m == i ? p.Rise : solidStart;
                    segments.Add(new LedSegment(solidStart, pulses[m].Fall, new LedState(p.Color, LedPattern.Solid), ColourAgreement(points, solidStart, pulses[m].Fall, p.Color)));
                    i = m + 1;
                    continue;
                }
                var end = RampEnd(points, pulses[j].Last);
                // a breathing LED whose trough stays over the floor (room light, a leak) runs straight into what follows
                if (j + 1 < pulses.Count && pulses[j + 1].Rise < end) end = pulses[j + 1].Rise;
                var agreement = ColourAgreement(points, start, end, p.Color);
                if (i == j && !p.SmoothRise && p.Color == LedColor.White)
                {
                    segments.Add(new LedSegment(start, end, new LedState(p.Color, LedPattern.Fade), agreement));
                }
                else
                {
                    TimeSpan period;
                    double regularity = 1;
                    if (j > i)
                    {
                        var periods = Enumerable.Range(i, j - i).Select(k => (pulses[k + 1].Rise - pulses[k].Rise).TotalMilliseconds).ToList();
                        period = TimeSpan.FromMilliseconds(Median(periods));
                        regularity = Regularity(periods);
                    }
                    else
                    {
                        period = (p.Fall - p.Rise) * 2;
                        regularity = 0.7;
                    }
                    segments.Add(new LedSegment(start, end, new LedState(p.Color, LedPattern.Breathing, period), agreement * regularity));
                }
                i = j + 1;
                continue;
            }
            if (p.Duration >= SolidMin)
            {
                segments.Add(new LedSegment(p.Rise, p.Fall, new LedState(p.Color, LedPattern.Solid), ColourAgreement(points, p.Rise, p.Fall, p.Color)));
                i++;
                continue;
            }
            var last = i;
            while (last + 1 < pulses.Count && !pulses[last + 1].Smooth && pulses[last + 1].Duration < SolidMin
                   && pulses[last + 1].Color == p.Color && pulses[last + 1].Rise - pulses[last].Fall < TrainGapMax)
                last++;
            var limit = last + 1 < pulses.Count ? pulses[last + 1].Rise : points[^1].Time;
            if (last > i && pulses[last].Fall - p.Rise >= SolidMin && OnShare(pulses, i, last) >= SolidOnShare)
            {
                segments.Add(new LedSegment(p.Rise, pulses[last].Fall, new LedState(p.Color, LedPattern.Solid), ColourAgreement(points, p.Rise, pulses[last].Fall, p.Color)));
                i = last + 1;
                continue;
            }
            if (p.Color == LedColor.Red) AddRedTrain(pulses, i, last, limit, points, segments);
            else AddFlashing(pulses, i, last, limit, points, segments);
            i = last + 1;
        }
        return segments;
    }

    /// <summary>
    /// A red train may hold an SOS next to red fast flashing (50 ms) or the cloud-error blinks (500 ms): the train is
    /// cut into runs of fast (under 80 ms), SOS-like (80-430 ms) and slow (430 ms and over) pulses; SOS is looked
    /// for in the SOS-like runs, the rest is flashing.
    /// </summary>
    private static void AddRedTrain(List<Pulse> pulses, int first, int last, TimeSpan limit, List<Point> points, List<LedSegment> segments)
    {
        static int ClassOf(Pulse p) => p.Duration.TotalMilliseconds switch { < 80 => 0, < 430 => 1, _ => 2 };
        var classes = Enumerable.Range(first, last - first + 1).Select(k => ClassOf(pulses[k])).ToArray();
        // a short piece at the train's edge next to an SOS-like run is a blink cut by the segment's edge, not fast flashing
        if (classes.Length > 1 && classes[0] == 0 && classes[1] == 1) classes[0] = 1;
        if (classes.Length > 1 && classes[^1] == 0 && classes[^2] == 1) classes[^1] = 1;
        // one pulse of another class inside a run (two fast blinks joined across a dip, one cut by a dip) is not a run
        // of its own: it would split a fast flashing into three
        for (var k = 2; k + 2 < classes.Length; k++)
            if (classes[k - 2] == classes[k - 1] && classes[k - 1] == classes[k + 1] && classes[k + 1] == classes[k + 2] && classes[k] != classes[k - 1]
                && classes[k - 1] != 1)
                classes[k] = classes[k - 1];
        // flashing red keeps its cadence until the SOS takes over: a blink that rises on it right before an SOS is the
        // flashing's last, cut where the SOS began (an SOS-like length), not the SOS's first; unless it is a code blink
        // that rose with it, as long as one and followed by the next code blink or the pause's end on time (and where
        // no SOS follows, SOS-like pieces inside a flashing red are its blinks broken by noise: left as they are)
        for (var k = first + 1; k < last; k++)
        {
            if (classes[k - first] != 1 || classes[k - 1 - first] != 2 || classes[k + 1 - first] != 1
                || FlashingBlinkAtStart(points, pulses, k) is not { Index: var c } || c != k || CodeBlinkAt(points, pulses, k)) continue;
            var end = k + 1;
            while (end < last && classes[end + 1 - first] == 1) end++;
            if (TrySos(pulses, k + 1, end, end < last ? pulses[end + 1].Rise : limit, points, [.. segments])) classes[k - first] = 2;
        }
        var start = first;
        for (var k = first + 1; k <= last + 1; k++)
        {
            if (k <= last && classes[k - first] == classes[start - first]) continue;
            var runLimit = k <= last ? pulses[k].Rise : limit;
            if (classes[start - first] != 1 || !TrySos(pulses, start, k - 1, runLimit, points, segments))
                AddFlashing(pulses, start, k - 1, runLimit, points, segments);
            start = k;
        }
    }

    private enum SosGroup { None, Signature, SignaturePart, Code }

    /// <summary>Pulse classes of panic.c: short 150 ms, long 300 ms; a cut pulse at a train's edge can be shorter.</summary>
    private static bool SosShort(Pulse p) => p.Duration.TotalMilliseconds is >= 80 and < 225;

    private static bool SosLong(Pulse p) => p.Duration.TotalMilliseconds is >= 225 and < 430;

    /// <summary>
    /// Finds the SOS in a red train and emits it, with flashing before and after it for the rest of the train.
    /// Pulses are grouped at dark gaps of 600 ms or more (the 900 ms pause after the signature, the 1100 ms after
    /// the code). A group with short and long pulses is (part of) the signature; long pulses 300 ms apart are a code
    /// group. The SOS runs from the first to the last such group around at least one signature. The code is the
    /// most common count of a code group seen whole (a signature or 700 ms of dark before it, 600 ms of dark or a
    /// signature after it); with no whole group, a round seen wrapped (the segment starts and ends inside the
    /// code) gives the sum of its leading and trailing blinks; otherwise the code is not reported.
    /// </summary>
    private static bool TrySos(List<Pulse> pulses, int first, int last, TimeSpan limit, List<Point> points, List<LedSegment> segments)
    {
        var groups = new List<(int From, int To, SosGroup Kind)>();
        var start = first;
        for (var k = first + 1; k <= last + 1; k++)
        {
            if (k <= last && (pulses[k].Rise - pulses[k - 1].Fall).TotalMilliseconds < 600) continue;
            var kind = Kind(pulses, start, k - 1, k - 1 == last || start == first);
            // a round entered or left inside its signature: the part seen is the signature's end (or start)
            if (kind == SosGroup.None && (start == first && SignatureEdge(pulses, start, k - 1, fromEnd: true) || k - 1 == last && SignatureEdge(pulses, start, k - 1, fromEnd: false)))
                kind = SosGroup.SignaturePart;
            groups.Add((start, k - 1, kind));
            start = k;
        }
        // a round is signature, code, signature, code...: a few blinks cut by the segment's edge next to a signature
        // are the end (or start) of a code, whatever their length says (a code blink cut to 200 ms looks short)
        for (var m = 0; m < groups.Count; m += Math.Max(1, groups.Count - 1))
        {
            var neighbour = m == 0 ? 1 : m - 1;
            if (groups[m].Kind == SosGroup.SignaturePart && neighbour < groups.Count && neighbour != m && groups[neighbour].Kind == SosGroup.Signature
                && groups[m].To - groups[m].From < 2)
                groups[m] = groups[m] with { Kind = SosGroup.Code };
        }
        var signature = groups.FindIndex(g => g.Kind == SosGroup.Signature);
        if (signature < 0) return false;
        var a = signature;
        while (a > 0 && groups[a - 1].Kind != SosGroup.None) a--;
        var b = signature;
        while (b + 1 < groups.Count && groups[b + 1].Kind != SosGroup.None) b++;
        // further signatures after a non-SOS group join the same SOS only if nothing else lies between
        if (groups[a].From > first) AddFlashing(pulses, first, groups[a].From - 1, pulses[groups[a].From].Rise, points, segments);

        // codes between two signatures were seen whole; otherwise the round was entered or left inside its code
        var codeGroups = Enumerable.Range(a, b - a + 1).Where(m => groups[m].Kind == SosGroup.Code).ToList();
        static bool IsSignature(SosGroup kind) => kind is SosGroup.Signature or SosGroup.SignaturePart;
        var wholeCodes = codeGroups.Where(m => m > a && m < b && IsSignature(groups[m - 1].Kind) && IsSignature(groups[m + 1].Kind))
            .Select(m => groups[m].To - groups[m].From + 1).ToList();
        int? code = null;
        if (wholeCodes.Count > 0)
            code = wholeCodes.GroupBy(c => c).OrderByDescending(g => g.Count()).ThenByDescending(g => g.Key).First().Key;
        else if (codeGroups.Count == 2 && codeGroups[0] == a && codeGroups[1] == b)
        {
            // one round seen wrapped: its code blinks split between the segment's start and end
            var (lead, trail) = (groups[a], groups[b]);
            // the SOS lasts whole rounds, so its start and end cut the same blink (or fall in the same pause): blinks
            // at both edges shorter than the code's other blinks are that one blink, counted once
            var whole = Enumerable.Range(lead.From, lead.To - lead.From + 1).Concat(Enumerable.Range(trail.From, trail.To - trail.From + 1))
                .Select(k => pulses[k].Duration.TotalMilliseconds).Where(d => d >= 225).ToList();
            var full = whole.Count > 0 ? Median(whole) : 300;
            var cut = pulses[lead.From].Duration.TotalMilliseconds < 0.9 * full && pulses[trail.To].Duration.TotalMilliseconds < 0.9 * full;
            code = lead.To - lead.From + 1 + trail.To - trail.From + 1 - (cut ? 1 : 0);
        }
        else if (codeGroups.Count == 1)
        {
            // one code group at the segment's edge: whole only when none of its blinks is cut and the round's pauses
            // frame it (dark of 700 ms or more on its open side); else part of a round, and no code is reported
            var g = groups[codeGroups[0]];
            var longBlinks = Enumerable.Range(g.From, g.To - g.From + 1).Select(k => pulses[k].Duration.TotalMilliseconds).Where(d => d >= 225).ToList();
            var full = longBlinks.Count > 0 ? Median(longBlinks) : 300;
            var uncut = pulses[g.From].Duration.TotalMilliseconds >= 0.7 * full && pulses[g.To].Duration.TotalMilliseconds >= 0.7 * full;
            var darkAfter = (g.To < last ? pulses[g.To + 1].Rise : limit) - pulses[g.To].Fall;
            var darkBefore = g.From > first ? pulses[g.From].Rise - pulses[g.From - 1].Fall : DarkBefore(points, pulses[g.From].First);
            var interior = codeGroups[0] > a && codeGroups[0] < b;
            // panic.c repeats whole rounds: with a whole signature at the segment's other end the round was entered
            // before that signature (or left after it), so this code was seen from its first blink to its last
            var opposite = codeGroups[0] == b ? groups[a] : groups[b];
            // (a trace that simply stops, or starts, there proves nothing: only another state beyond the code does)
            var bounded = codeGroups[0] == b ? limit < points[^1].Time : first > 0;
            var wholeSignature = bounded && opposite.Kind == SosGroup.Signature && opposite.To - opposite.From == 8;
            // code blinks are 300 ms on, 300 ms off: dark of more than the off (and a window either side) on the open side
            // of an uncut group means no further blink came, wherever the trace or the state ends
            var window = Window(points[pulses[g.From].First]);
            var framed = interior || wholeSignature || (codeGroups[0] == b ? darkAfter : darkBefore) >= TimeSpan.FromMilliseconds(300) + 2 * window + TimeSpan.FromMilliseconds(50);
            if (interior || wholeSignature || uncut && framed) code = g.To - g.From + 1;
        }
        if (code is > 12) code = null;
        // whole rounds laid over the light: anchored on a whole signature, the code that explains every blink
        var anchor = Enumerable.Range(a, b - a + 1).Select(m => groups[m])
            .Where(g => g.Kind == SosGroup.Signature && g.To - g.From == SignatureLong.Length - 1
                        && Enumerable.Range(0, SignatureLong.Length).All(i => SignatureLong[i] ? SosLong(pulses[g.From + i]) : SosShort(pulses[g.From + i])))
            .Select(g => g.From).DefaultIfEmpty(-1).First();
        var fit = anchor >= 0 ? FitSosCode(points, pulses, groups[a].From, groups[b].To, anchor) : null;
        if (fit is { } fitted) code = fitted.Code;

        var sosStart = pulses[groups[a].From].Rise;
        var lastPulse = pulses[groups[b].To];
        var next = groups[b].To < last ? pulses[groups[b].To + 1].Rise : limit;
        // a round ends with the pause after the code: the SOS holds it
        // (unless its last blink was cut: the SOS ended inside it)
        var cutLast = groups[b].Kind == SosGroup.Code && lastPulse.Duration.TotalMilliseconds < 200 && groups[b].To > groups[b].From;
        // an SOS lasts whole rounds, so it ends at the phase it began: entered inside a code, it ends inside a code,
        // after at most a blink's 300 ms off, not the round's 1.1 s pause
        var enteredInCode = a < b && groups[a].Kind == SosGroup.Code;
        var tail = cutLast ? TimeSpan.Zero : groups[b].Kind == SosGroup.Code && !enteredInCode ? TimeSpan.FromMilliseconds(1100) : TimeSpan.FromMilliseconds(300);
        var end = Min(next, lastPulse.Fall + tail);
        if (EnteredInPause(pulses, groups[a], groups[b], code, cutLast) is { } pause)
        {
            var prevEnd = segments.Count > 0 ? segments[^1].End : points[0].Time - Window(points[0]);
            var firstRise = pulses[groups[a].From].Rise;
            var after = next < points[^1].Time ? next - lastPulse.Fall : TimeSpan.MaxValue;
            var pre = SplitPause(pause, firstRise - prevEnd, after);
            (sosStart, end) = (firstRise - pre, lastPulse.Fall + pause - pre);
        }
        // the fitted rounds began earlier than the groups found: red blinks or dark the train lost before them are
        // the SOS's (a bright room broke a blink there), so the flashing red or off seen there gives way
        if (fit is { } rounds && rounds.Start(next) is var roundsStart && roundsStart < sosStart - OffMin && groups[a].From > 0
            && pulses[groups[a].From - 1] is { Color: LedColor.Red } before && before.Rise > roundsStart && before.Duration.TotalMilliseconds < 430)
        {
            var from = roundsStart;
            // the rounds end where they began a round or two earlier (the groups' end rules took it for entered in a code)
            if (from + rounds.Length > end) end = Min(next, from + rounds.Length);
            // never into another state's light: a solid, another colour or another SOS keeps its own
            var keep = segments.FindLastIndex(x => x.State.Color is not (LedColor.Red or LedColor.Off) || x.State.Pattern is LedPattern.Solid or LedPattern.Sos);
            if (keep >= 0 && segments[keep].End > from) from = segments[keep].End;
            while (segments.Count > keep + 1 && segments[^1].End > from)
            {
                var seen = segments[^1];
                if (seen.Start >= from) segments.RemoveAt(segments.Count - 1);
                else { segments[^1] = seen with { End = from }; break; }
            }
            if (from < sosStart) sosStart = from;
        }
        // forward the same way: red SOS-like blinks after the groups that the fitted rounds reach over are the SOS's
        // (the flashing red they would be taken for gives way; never a solid, another colour or another SOS, which lie
        // outside this train)
        var lastTaken = groups[b].To;
        if (fit is { } ahead && ahead.Start(next) + ahead.Length is var roundsEnd && roundsEnd > end)
        {
            var slack = TimeSpan.FromMilliseconds(0.015 * ahead.Length.TotalMilliseconds);
            while (lastTaken < last && pulses[lastTaken + 1].Fall <= roundsEnd + slack && pulses[lastTaken + 1].Duration.TotalMilliseconds < 430)
                lastTaken++;
            if (lastTaken > groups[b].To)
                end = Min(lastTaken < last ? pulses[lastTaken + 1].Rise : limit, roundsEnd);
        }
        var confidence = ColourAgreement(points, sosStart, end, LedColor.Red) * (code is null ? 0.6 : 1.0);
        segments.Add(new LedSegment(sosStart, end, new LedState(LedColor.Red, LedPattern.Sos, SosCode: code), confidence));
        if (lastTaken < last) AddFlashing(pulses, lastTaken + 1, last, limit, points, segments);
        return true;
    }

    private static SosGroup Kind(List<Pulse> pulses, int from, int to, bool atEdge)
    {
        var gaps = Enumerable.Range(from, to - from).Select(k => (pulses[k + 1].Rise - pulses[k].Fall).TotalMilliseconds).ToList();
        if (gaps.Any(g => g > 450)) return SosGroup.None;
        int shorts = 0, longs = 0;
        var insideAllLong = true;
        for (var k = from; k <= to; k++)
        {
            // a blink at the train's edge may be cut by the segment's start or end
            var edge = atEdge && (k == from || k == to);
            var isShort = SosShort(pulses[k]);
            var isLong = SosLong(pulses[k]);
            if (isShort) shorts++;
            else if (isLong) longs++;
            else if (!(edge && pulses[k].Duration.TotalMilliseconds < 430)) return SosGroup.None;
            if (!edge && !isLong) insideAllLong = false;
        }
        if (gaps.All(g => g >= 200) && insideAllLong && longs > 0) return SosGroup.Code;
        if (gaps.All(g => g < 260))
        {
            if (shorts > 0 && longs > 0) return SosGroup.Signature;
            if (atEdge && to - from < 3) return SosGroup.SignaturePart;
        }
        return SosGroup.None;
    }

    private static TimeSpan DarkBefore(List<Point> points, int index)
    {
        var j = index - 1;
        while (j >= 0 && !points[j].On) j--;
        return points[index].Time - (j >= 0 ? points[j].Time : points[0].Time - TimeSpan.FromMilliseconds(points[0].IntegrationMs)) - Window(points[index]);
    }

    private static TimeSpan DarkAfter(List<Point> points, int index)
    {
        var j = index + 1;
        while (j < points.Count && !points[j].On) j++;
        return j < points.Count ? points[j].Time - points[index].Time - Window(points[j]) : points[^1].Time - points[index].Time;
    }

    private static void AddFlashing(List<Pulse> pulses, int first, int last, TimeSpan limit, List<Point> points, List<LedSegment> segments)
    {
        // split the train where the blink rate changes (flashing cyan -> fast flashing cyan)
        var runStart = first;
        var periods = new List<double>();
        for (var k = first + 1; k <= last + 1; k++)
        {
            var close = k > last;
            if (!close)
            {
                var period = (pulses[k].Rise - pulses[k - 1].Rise).TotalMilliseconds;
                var ahead = Enumerable.Range(k + 1, Math.Max(0, Math.Min(2, last - k))).Select(m => (pulses[m].Rise - pulses[m - 1].Rise).TotalMilliseconds).ToList();
                if (periods.Count >= 2 && Math.Abs(period - Median(periods)) > 0.35 * Median(periods))
                {
                    // a change of rate holds for the next periods too; one odd period (a blink lost to the floor or
                    // broken by a dip in a bright room) is left out, not a new segment
                    var median = Median(periods);
                    if (ahead.Count == 0 || ahead.All(a => Math.Abs(a - median) > 0.35 * median)) close = true;
                }
                else if (periods.Count == 1 && Math.Abs(period - periods[0]) > 0.35 * periods[0]
                         && ahead.Count > 0 && ahead.All(a => Math.Abs(a - period) <= 0.35 * period))
                {
                    // the train's first period is the odd one when the next ones keep this one's rate: its first blink was
                    // broken (or the last of the state before it took this colour), which is no state of its own
                    periods[0] = period;
                }
                else periods.Add(period);
            }
            if (!close) continue;
            var runEnd = k - 1;
            double toggleMs;
            double regularity;
            if (periods.Count > 0)
            {
                toggleMs = Median(periods) / 2;
                regularity = Regularity(periods) * Math.Min(1, (periods.Count + 1) / 3.0);
            }
            else
            {
                toggleMs = pulses[runStart].Duration.TotalMilliseconds;
                regularity = 0.5;
            }
            var start = pulses[runStart].Rise;
            var nextRise = k <= last ? pulses[k].Rise : limit;
            var end = Min(nextRise, pulses[runEnd].Rise + TimeSpan.FromMilliseconds(2 * toggleMs));
            if (end < pulses[runEnd].Fall) end = pulses[runEnd].Fall;
            var toggle = TimeSpan.FromMilliseconds(toggleMs);
            var pattern = toggle <= FastToggleMax ? LedPattern.FastFlashing : LedPattern.Flashing;
            var color = pulses[runStart].Color;
            segments.Add(new LedSegment(start, end, new LedState(color, pattern, toggle), ColourAgreement(points, start, end, color) * regularity));
            runStart = k;
            periods.Clear();
        }
    }

    private static TimeSpan RampStart(List<Point> points, int first)
    {
        var j = first;
        while (j > 0 && points[j - 1].Color == points[first].Color && points[j - 1].Level > points[j - 1].Floor) j--;
        return j > 0 ? points[j - 1].Time : points[j].Time - Window(points[j]);
    }

    private static TimeSpan RampEnd(List<Point> points, int last)
    {
        var j = last;
        while (j + 1 < points.Count && points[j + 1].Color == points[last].Color && points[j + 1].Level > points[j + 1].Floor) j++;
        return points[j].Time;
    }

    private List<LedSegment> FillOff(List<Point> points, List<LedSegment> segments)
    {
        var result = new List<LedSegment>();
        var cursor = points[0].Time - Window(points[0]);
        if (cursor < TimeSpan.Zero) cursor = TimeSpan.Zero;
        var endOfTrace = points[^1].Time;
        foreach (var segment in segments)
        {
            var start = segment.Start < cursor ? cursor : segment.Start;
            var gap = start - cursor;
            var breathing = segment.State.Pattern == LedPattern.Breathing;
            var afterBreathing = result.Count > 0 && result[^1].State.Pattern == LedPattern.Breathing;
            // a breathing LED is below the floor at the foot of each ramp (it starts from dark): a short dark there is its trough
            if ((breathing || afterBreathing) && gap < BreathingTroughMax && result.Count > 0)
            {
                if (breathing) start = cursor;
                else result[^1] = result[^1] with { End = start };
            }
            else if (gap >= OffMin || result.Count == 0 && gap > TimeSpan.Zero)
                result.Add(new LedSegment(cursor, start, LedState.Dark, OffConfidence(points, cursor, start)));
            else if (result.Count > 0 && segment.State.Pattern == LedPattern.Breathing)
                start = cursor; // a breathing LED rises out of the dark: its true start is earlier than it shows
            else if (result.Count > 0)
                result[^1] = result[^1] with { End = start };
            else
                start = cursor;
            var end = segment.End < start ? start : segment.End;
            result.Add(segment with { Start = start, End = end });
            cursor = end;
        }
        if (result.Count > 0 && result[^1].State.Pattern == LedPattern.Breathing && endOfTrace - cursor < BreathingTroughMax)
            result[^1] = result[^1] with { End = endOfTrace };
        else if (endOfTrace - cursor >= OffMin || result.Count == 0)
            result.Add(new LedSegment(cursor, endOfTrace, LedState.Dark, OffConfidence(points, cursor, endOfTrace)));
        else if (result.Count > 0 && endOfTrace > cursor)
            result[^1] = result[^1] with { End = endOfTrace };
        return result;
    }

    private static List<LedSegment> Merge(List<LedSegment> segments)
    {
        var merged = new List<LedSegment>();
        foreach (var s in segments)
        {
            if (s.End <= s.Start && merged.Count > 0) continue;
            // no Core state is shorter than a fast flashing toggle (51 ms): a sliver left between two segments' edges is
            // the one before it running on
            if (s.Duration < ShortestState && merged.Count > 0)
            {
                merged[^1] = merged[^1] with { End = s.End };
                continue;
            }
            if (merged.Count > 0 && merged[^1].State.Matches(s.State) && s.State.Matches(merged[^1].State))
            {
                var a = merged[^1];
                var (da, ds) = (a.Duration.TotalMilliseconds, s.Duration.TotalMilliseconds);
                var weight = da + ds <= 0 ? 0.5 : da / (da + ds);
                var period = a.State.Period is { } pa && s.State.Period is { } ps
                    ? TimeSpan.FromMilliseconds(pa.TotalMilliseconds * weight + ps.TotalMilliseconds * (1 - weight))
                    : a.State.Period ?? s.State.Period;
                merged[^1] = new LedSegment(a.Start, s.End, a.State with { Period = period, SosCode = a.State.SosCode ?? s.State.SosCode },
                    a.Confidence * weight + s.Confidence * (1 - weight));
                continue;
            }
            merged.Add(s);
        }
        return merged;
    }

    private static double OffConfidence(List<Point> points, TimeSpan from, TimeSpan to)
    {
        var inside = points.Where(p => p.Time > from && p.Time <= to).ToList();
        return inside.Count == 0 ? 0.5 : Round(inside.Count(p => !p.On) / (double)inside.Count);
    }

    private static double ColourAgreement(List<Point> points, TimeSpan from, TimeSpan to, LedColor color)
    {
        var trusted = points.Where(p => p.Trusted && p.Time > from && p.Time <= to + TimeSpan.FromMilliseconds(p.IntegrationMs)).ToList();
        return trusted.Count == 0 ? 0.5 : Round(trusted.Count(p => p.Color == color) / (double)trusted.Count);
    }

    private static double Regularity(List<double> periods)
    {
        if (periods.Count < 2) return 0.8;
        var mean = periods.Average();
        var sd = Math.Sqrt(periods.Sum(p => (p - mean) * (p - mean)) / periods.Count);
        return Round(Math.Clamp(1 - sd / mean, 0, 1));
    }

    private static double Round(double value) => Math.Round(value, 3);

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        var n = sorted.Count;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private static LedColor Nearest(double r, double g, double b)
    {
        var sum = r + g + b;
        var (x, y, z) = (r / sum, g / sum, b / sum);
        var best = LedColor.Off;
        var bestDistance = double.MaxValue;
        foreach (var (color, reference) in References)
        {
            var d = (x - reference.R) * (x - reference.R) + (y - reference.G) * (y - reference.G) + (z - reference.B) * (z - reference.B);
            if (d < bestDistance) { bestDistance = d; best = color; }
        }
        return best;
    }

    private static Dictionary<LedColor, (double R, double G, double B)> BuildReferences()
    {
        double[][] die = [[1.00, 0.10, 0.06], [0.12, 0.85, 0.22], [0.06, 0.20, 0.80]];
        (double, double, double) Mix(double red, double green, double blue)
        {
            var r = red * die[0][0] + green * die[1][0] + blue * die[2][0];
            var g = red * die[0][1] + green * die[1][1] + blue * die[2][1];
            var b = red * die[0][2] + green * die[1][2] + blue * die[2][2];
            var sum = r + g + b;
            return (r / sum, g / sum, b / sum);
        }
        return new Dictionary<LedColor, (double, double, double)>
        {
            [LedColor.Red] = Mix(1, 0, 0),
            [LedColor.Green] = Mix(0, 1, 0),
            [LedColor.Blue] = Mix(0, 0, 1),
            [LedColor.Yellow] = Mix(1, 1, 0),
            [LedColor.Cyan] = Mix(0, 1, 1),
            [LedColor.Magenta] = Mix(1, 0, 1),
            [LedColor.White] = Mix(1, 1, 1),
            [LedColor.Orange] = Mix(1, 0x60 / 255.0, 0),
        };
    }

    /// <summary>A table row per segment, deterministic across runs and cultures.</summary>
    public static string FormatTable(LedTimeline timeline)
    {
        var lines = new List<string> { "start_s   end_s     state                     period_ms  confidence" };
        foreach (var s in timeline.Segments)
            lines.Add(string.Create(CultureInfo.InvariantCulture,
                $"{s.Start.TotalSeconds,-9:0.000} {s.End.TotalSeconds,-9:0.000} {s.State,-25} {(s.State.Period is { } p ? p.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture) : "-"),-10} {s.Confidence:0.00}"));
        return string.Join(Environment.NewLine, lines);
    }
}
