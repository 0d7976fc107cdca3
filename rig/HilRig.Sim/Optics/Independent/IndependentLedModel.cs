using HilRig.Core.Led;

namespace HilRig.Sim.Optics.Independent;

/// <summary>
/// A second model of a slot's LED, room and colour sensor, written from the documents alone (spark-core.md section 5,
/// protocols.md section 5.1) to check the classifier against light it was not tuned on. It shares no code or tables
/// with <see cref="LedEmitter"/> or the TCS34725 model: its own colour constants, PWM, timings, channel response,
/// room light, noise and calibration. It writes traces as the rig records them (<see cref="LedSample"/>s plus an
/// optional <c># dark</c> calibration) and the truth as <see cref="LedSegment"/>s.
/// <para>What it models: 100 Hz edge-aligned PWM per die at the firmware's brightness (96/256 or BL13 full scale),
/// integrated exactly over each window, so a solid colour ripples where the window is not a whole number of PWM
/// periods; SysTick toggles of N ms lasting N+1 ms; breathing as 100 steps of 21 ms up and down; SOS from panic.c
/// starting at any point of its round; a sensor oscillator off by up to +-1 % against the rig's clock (a window read
/// twice or skipped now and then); room light with 100 Hz flicker integrated over each window; a neighbour's LED
/// leaking in; shot and read noise; the gain chosen by the rig's calibration rule.</para>
/// </summary>
public static class IndependentLedModel
{
    /// <summary>rgbled.h, as spark-core.md 5.1 lists them.</summary>
    private static readonly (LedColor Colour, int R, int G, int B)[] Palette =
    [
        (LedColor.Red, 255, 0, 0), (LedColor.Green, 0, 255, 0), (LedColor.Blue, 0, 0, 255), (LedColor.Yellow, 255, 255, 0),
        (LedColor.Cyan, 0, 255, 255), (LedColor.Magenta, 255, 0, 255), (LedColor.White, 255, 255, 255), (LedColor.Orange, 255, 0x60, 0),
    ];

    /// <summary>
    /// Sensor channel (R, G, B, clear) per unit of each die's light, read off the TCS3472 spectral responsivity at
    /// about 630, 520 and 470 nm, times a die output that is not equal across dies.
    /// </summary>
    private static readonly double[][] DieToChannel =
    [
        [0.96 * 1.00, 0.04 * 1.00, 0.03 * 1.00, 0.92 * 1.00],
        [0.05 * 1.15, 0.78 * 1.15, 0.27 * 1.15, 0.86 * 1.15],
        [0.03 * 0.90, 0.22 * 0.90, 0.78 * 0.90, 0.80 * 0.90],
    ];

    /// <summary>Room light (a warm LED lamp) per channel, relative to its clear channel.</summary>
    private static readonly double[] RoomShare = [0.42, 0.35, 0.21, 1.0];

    private const double PwmPeriodMs = 10;

    /// <summary>The states a Core shows for seconds, as spark-core.md 5.2 gives them (name, pattern, toggle ms).</summary>
    public static IReadOnlyList<IndependentState> Catalogue { get; } = BuildCatalogue();

    private static List<IndependentState> BuildCatalogue()
    {
        var list = new List<IndependentState> { new(LedColor.Off, LedPattern.Off, 0, 0) };
        foreach (var c in new[] { LedColor.White, LedColor.Blue, LedColor.Green, LedColor.Red, LedColor.Orange, LedColor.Magenta, LedColor.Cyan, LedColor.Yellow })
            list.Add(new(c, LedPattern.Solid, 0, 0));
        list.Add(new(LedColor.Green, LedPattern.Flashing, 100, 0));
        list.Add(new(LedColor.Cyan, LedPattern.Flashing, 100, 0));
        list.Add(new(LedColor.Yellow, LedPattern.Flashing, 100, 0));
        list.Add(new(LedColor.Blue, LedPattern.Flashing, 250, 0));
        list.Add(new(LedColor.Red, LedPattern.Flashing, 500, 0));
        foreach (var c in new[] { LedColor.Cyan, LedColor.Magenta, LedColor.White, LedColor.Red, LedColor.Blue })
            list.Add(new(c, LedPattern.FastFlashing, 50, 0));
        list.Add(new(LedColor.Cyan, LedPattern.Breathing, 21, 0));
        list.Add(new(LedColor.Green, LedPattern.Breathing, 21, 0));
        for (var code = 1; code <= 12; code++) list.Add(new(LedColor.Red, LedPattern.Sos, 0, code));
        return list;
    }

    /// <summary>
    /// One slot's trace: an off stretch (the Core is powered after recording starts), then <paramref name="states"/>
    /// states from the catalogue in random order (no state twice in a row), each 2.5-14 s; SOS lasts one or two
    /// rounds from a random point of its round. A chosen <paramref name="first"/> state is placed first after the off.
    /// </summary>
    public static IndependentTrace Generate(IndependentCondition condition, int states, Random random, IndependentState? first = null)
    {
        var script = new List<(IndependentState State, double Ms, double Phase)> { (Catalogue[0], Uniform(random, 2500, 6000), 0) };
        for (var i = 0; i < states; i++)
        {
            IndependentState next;
            if (i == 0 && first is not null && first.Pattern != LedPattern.Off) next = first;
            else
                do next = Draw(random);
                while (next.Name == script[^1].State.Name || next.Pattern == LedPattern.Sos && script[^1].State.Pattern == LedPattern.Sos);
            if (next.Pattern == LedPattern.Sos)
            {
                var round = SosRound(next.SosCode).Sum(p => p.On + p.Off);
                script.Add((next, round * random.Next(1, 3), random.NextDouble() * round));
            }
            else
            {
                script.Add((next, Uniform(random, 2500, 14000), random.NextDouble()));
            }
        }
        var brightness = random.NextDouble() < 0.8 ? 96 : 256;
        var own = Waveform(script, brightness, random);
        // the neighbour runs its own life, in any state
        var neighbourScript = new List<(IndependentState, double, double)>();
        var total = script.Sum(s => s.Ms) + 1000;
        for (double t = 0; t < total;)
        {
            var s = Draw(random);
            var ms = s.Pattern == LedPattern.Sos ? SosRound(s.SosCode).Sum(p => p.On + p.Off) * 2 : Uniform(random, 2500, 14000);
            neighbourScript.Add((s, ms, random.NextDouble()));
            t += ms;
        }
        var neighbour = Waveform(neighbourScript, random.NextDouble() < 0.8 ? 96 : 256, random);

        var sensor = new SensorRun(condition, random, own, neighbour, brightness);
        var truth = new List<LedSegment>();
        var at = 0.0;
        foreach (var (state, ms, _) in script)
        {
            truth.Add(new LedSegment(TimeSpan.FromMilliseconds(at), TimeSpan.FromMilliseconds(at + ms), state.Expected, 1));
            at += ms;
        }
        var samples = sensor.Record(at);
        return new IndependentTrace(samples, condition.DarkLine ? sensor.Calibration : null, truth, condition, sensor.Gain);
    }

    /// <summary>A state at random: SOS (any code) about as often as one other state, not twelve times as often.</summary>
    private static IndependentState Draw(Random random)
    {
        var sos = Catalogue.Where(s => s.Pattern == LedPattern.Sos).ToList();
        var others = Catalogue.Where(s => s.Pattern != LedPattern.Sos).ToList();
        return random.Next(others.Count + 2) < 2 ? sos[random.Next(sos.Count)] : others[random.Next(others.Count)];
    }

    private static double Uniform(Random random, double from, double to) => from + random.NextDouble() * (to - from);

    /// <summary>panic.c: 3 x (150 on/100 off), 100 gap, 3 x (300/100), 100 gap, 3 x (150/100), 900 pause, code x (300/300), 800 pause.</summary>
    public static List<(double On, double Off)> SosRound(int code)
    {
        var round = new List<(double, double)>();
        void Group(int n, double on, double off, double extra)
        {
            for (var i = 0; i < n; i++) round.Add((on, i == n - 1 ? off + extra : off));
        }
        Group(3, 150, 100, 100);
        Group(3, 300, 100, 100);
        Group(3, 150, 100, 900);
        Group(code, 300, 300, 800);
        return round;
    }

    /// <summary>Piecewise-constant duty per die: (start ms, r, g, b), 0..1 each, before PWM.</summary>
    private static List<(double T, double R, double G, double B)> Waveform(IEnumerable<(IndependentState State, double Ms, double Phase)> script, int brightness, Random random)
    {
        var steps = new List<(double, double, double, double)>();
        var start = 0.0;
        foreach (var (state, ms, phase) in script)
        {
            var end = start + ms;
            var (r, g, b) = Duty(state.Colour, brightness);
            void At(double t, double level)
            {
                if (t < end) steps.Add((t, r * level, g * level, b * level));
            }
            switch (state.Pattern)
            {
                case LedPattern.Off:
                    steps.Add((start, 0, 0, 0));
                    break;
                case LedPattern.Solid:
                    At(start, 1);
                    break;
                case LedPattern.Flashing:
                case LedPattern.FastFlashing:
                {
                    // a SysTick reload of N counts N+1 ticks
                    var half = state.ToggleMs + 1;
                    var on = true;
                    for (var t = start; t < end; t += half, on = !on) At(t, on ? 1 : 0);
                    break;
                }
                case LedPattern.Breathing:
                {
                    // 100 steps up from dark, 100 down, one per ~21 ms (a step lasts 21 or 22 ticks)
                    var k = 0;
                    for (var t = start; t < end; t += 21 + (random.NextDouble() < 0.3 ? 1 : 0), k++)
                    {
                        var i = k % 200;
                        At(t, (i < 100 ? i : 199 - i) / 99.0);
                    }
                    break;
                }
                case LedPattern.Sos:
                {
                    var round = SosRound(state.SosCode);
                    var length = round.Sum(p => p.On + p.Off);
                    // a busy-wait delay loop: a little slower than nominal, and not the same every time
                    var skew = 1 + random.NextDouble() * 0.01;
                    var t = start - phase * skew;
                    while (t < end)
                    {
                        foreach (var (onMs, offMs) in round)
                        {
                            if (t + onMs * skew > start) At(Math.Max(t, start), 1);
                            t += onMs * skew;
                            if (t + offMs * skew > start) At(Math.Max(t, start), 0);
                            t += offMs * skew;
                        }
                    }
                    _ = length;
                    break;
                }
                default:
                    throw new ArgumentOutOfRangeException(nameof(script), state.Pattern, "no waveform for this pattern");
            }
            start = end;
        }
        steps.Add((start, 0, 0, 0));
        return steps;
    }

    /// <summary>PWM duty of each die for a colour: each 8-bit channel scaled by brightness/256, over a 255 compare range.</summary>
    private static (double R, double G, double B) Duty(LedColor colour, int brightness)
    {
        if (colour == LedColor.Off) return (0, 0, 0);
        var (_, r, g, b) = Palette.First(p => p.Colour == colour);
        static double D(int value, int brightness) => Math.Min(255, value * brightness / 256) / 255.0;
        return (D(r, brightness), D(g, brightness), D(b, brightness));
    }

    /// <summary>One slot's sensor over a trace: free-running windows read on the rig's cadence.</summary>
    private sealed class SensorRun
    {
        private readonly IndependentCondition _c;
        private readonly Random _random;
        private readonly Light _own;
        private readonly Light _neighbour;
        private readonly double _coupling;
        private readonly double _room;
        private readonly double _flickerDepth;
        private readonly double _flickerPhase;
        private readonly double _mainsHz;
        private readonly double _clock;
        private readonly double[] _gainActual = new double[61];
        private readonly int _cycles;
        private readonly int _fullScale;

        public SensorRun(IndependentCondition condition, Random random, List<(double, double, double, double)> own, List<(double, double, double, double)> neighbour, int brightness)
        {
            _c = condition;
            _random = random;
            _own = new Light(own, random.NextDouble() * PwmPeriodMs);
            _neighbour = new Light(neighbour, random.NextDouble() * PwmPeriodMs);
            // light reaching the sensor from one die at 100 % duty, counts per ms at 1x on the clear channel
            _coupling = Math.Exp(Uniform(random, Math.Log(3), Math.Log(110)));
            // room light relative to this slot's white at the default brightness
            var whiteClear = 3 * 95 / 255.0 * _coupling;
            _room = Math.Max(0.02, condition.Room * whiteClear);
            _flickerDepth = condition.Room > 0 ? Uniform(random, 0.1, 0.5) : 0;
            _flickerPhase = random.NextDouble() * 2 * Math.PI;
            _mainsHz = 2 * (50 + Uniform(random, -0.1, 0.1));
            _clock = 1 + Uniform(random, -0.01, 0.01);
            foreach (var g in new[] { 1, 4, 16, 60 }) _gainActual[g] = g * (1 + Uniform(random, -0.04, 0.04));
            _cycles = (int)Math.Round(condition.IntegrationMs / 2.4);
            _fullScale = Math.Min(65535, _cycles * 1024);
            _ = brightness;
            Calibrate();
        }

        public int Gain { get; private set; }

        public SlotCalibration Calibration { get; private set; } = SlotCalibration.None;

        private double WindowMs => _c.IntegrationMs * _clock;

        /// <summary>The rig's rule: dark at the highest gain that keeps room light under 10 % of full scale, then solid white
        /// and the gain stepped down until a second of readings stays under 75 %.</summary>
        private void Calibrate()
        {
            int[] gains = [60, 16, 4, 1];
            var darkGain = 1;
            List<double[]> dark = [];
            foreach (var g in gains)
            {
                dark = [.. Enumerable.Range(0, 16).Select(i => Window(-100_000 + i * WindowMs, g, false, false))];
                darkGain = g;
                if (dark.Max(d => d[3]) < 0.1 * _fullScale) break;
            }
            var k = 1.0 / (darkGain * _c.IntegrationMs);
            var mean = Enumerable.Range(0, 4).Select(ch => dark.Average(d => d[ch]) * k).ToArray();
            var noise = Math.Sqrt(dark.Average(d => Math.Pow(d[3] * k - mean[3], 2)));
            var gain = darkGain;
            var litC = 0.0;
            var windows = (int)Math.Ceiling(1000 / _c.IntegrationMs);
            foreach (var g in gains)
            {
                if (g > darkGain) continue;
                gain = g;
                var lit = Enumerable.Range(0, windows).Select(i => Window(-50_000 + i * WindowMs, g, true, false)).ToList();
                litC = lit.Average(d => d[3]) / (g * _c.IntegrationMs) - mean[3];
                if (lit.Max(d => d.Max()) < 0.75 * _fullScale) break;
            }
            Gain = gain;
            Calibration = new SlotCalibration(-1, mean[0], mean[1], mean[2], mean[3], noise, gain, _c.IntegrationMs, Math.Max(0, litC));
        }

        public List<LedSample> Record(double untilMs)
        {
            var samples = new List<LedSample>();
            var offset = _random.NextDouble() * WindowMs;
            for (var k = 1; ; k++)
            {
                var readAt = k * _c.IntegrationMs + _random.NextDouble() * 0.3;
                if (readAt > untilMs) break;
                // the last window the sensor completed before the read
                var j = Math.Floor((readAt - offset) / WindowMs) - 1;
                var from = offset + j * WindowMs;
                var counts = Window(from, Gain, false, true);
                ushort U(double v) => (ushort)Math.Clamp(Math.Round(v), 0, _fullScale);
                samples.Add(new LedSample(TimeSpan.FromMilliseconds(Math.Round(readAt, 3)), U(counts[0]), U(counts[1]), U(counts[2]), U(counts[3]), Gain, _c.IntegrationMs));
            }
            return samples;
        }

        /// <summary>Counts R, G, B, C of one window starting at <paramref name="from"/> (ms).</summary>
        private double[] Window(double from, int gain, bool solidWhite, bool leds)
        {
            var to = from + WindowMs;
            var dies = new double[3];
            if (solidWhite)
            {
                var duty = 95 / 255.0;
                for (var d = 0; d < 3; d++) dies[d] = PwmOnTime(0, from, to, duty) * _coupling;
            }
            else if (leds)
            {
                var own = _own.OnTime(from, to);
                var leak = _neighbour.OnTime(from, to);
                for (var d = 0; d < 3; d++) dies[d] = (own[d] + _c.Leak * leak[d]) * _coupling;
            }
            var omega = 2 * Math.PI * _mainsHz / 1000;
            var room = _room * (WindowMs + _flickerDepth / omega * (Math.Sin(omega * to + _flickerPhase) - Math.Sin(omega * from + _flickerPhase)));
            var g = _gainActual[gain];
            var result = new double[4];
            for (var ch = 0; ch < 4; ch++)
            {
                var signal = (dies[0] * DieToChannel[0][ch] + dies[1] * DieToChannel[1][ch] + dies[2] * DieToChannel[2][ch] + room * RoomShare[ch]) * g;
                // a small dark current, shot noise (counts per electron grow with gain) and read noise
                signal += 0.05 * WindowMs * g;
                var shot = Math.Sqrt(Math.Max(signal, 0) * 0.3 * g);
                result[ch] = signal + Gaussian() * Math.Sqrt(shot * shot + 2.0 * 2.0);
            }
            return result;
        }

        private double Gaussian()
        {
            var u = 1.0 - _random.NextDouble();
            return Math.Sqrt(-2 * Math.Log(u)) * Math.Sin(2 * Math.PI * _random.NextDouble());
        }
    }

    /// <summary>On-time of an edge-aligned PWM output of duty <paramref name="duty"/> between two instants.</summary>
    private static double PwmOnTime(double phase, double from, double to, double duty)
    {
        if (duty <= 0) return 0;
        if (duty >= 1) return to - from;
        double F(double t)
        {
            var u = t - phase;
            var n = Math.Floor(u / PwmPeriodMs);
            return n * duty * PwmPeriodMs + Math.Min(u - n * PwmPeriodMs, duty * PwmPeriodMs);
        }
        return F(to) - F(from);
    }

    /// <summary>A die's light over time: piecewise-constant duty, PWM applied when integrated.</summary>
    private sealed class Light(List<(double T, double R, double G, double B)> steps, double phase)
    {
        private int _cursor;

        public double[] OnTime(double from, double to)
        {
            var result = new double[3];
            if (to <= 0) return result;
            from = Math.Max(from, 0);
            // windows move forward; step back only as far as needed
            while (_cursor > 0 && steps[_cursor].T > from) _cursor--;
            while (_cursor + 1 < steps.Count && steps[_cursor + 1].T <= from) _cursor++;
            for (var i = _cursor; i < steps.Count && steps[i].T < to; i++)
            {
                var a = Math.Max(from, steps[i].T);
                var b = i + 1 < steps.Count ? Math.Min(to, steps[i + 1].T) : to;
                if (b <= a) continue;
                var (_, r, g, bl) = steps[i];
                result[0] += PwmOnTime(phase, a, b, r);
                result[1] += PwmOnTime(phase, a, b, g);
                result[2] += PwmOnTime(phase, a, b, bl);
            }
            return result;
        }
    }
}

/// <summary>One state of the catalogue: colour, pattern, toggle (ms, as the firmware's code says it) and SOS code.</summary>
public sealed record IndependentState(LedColor Colour, LedPattern Pattern, int ToggleMs, int SosCode)
{
    /// <summary>What a user would call it, with the period the classifier should report.</summary>
    public LedState Expected => Pattern switch
    {
        LedPattern.Off => LedState.Dark,
        LedPattern.Flashing or LedPattern.FastFlashing => new LedState(Colour, Pattern, TimeSpan.FromMilliseconds(ToggleMs + 1)),
        LedPattern.Breathing => new LedState(Colour, Pattern, TimeSpan.FromMilliseconds(200 * 21.3)),
        LedPattern.Sos => new LedState(Colour, Pattern, SosCode: SosCode),
        _ => new LedState(Colour, Pattern),
    };

    public string Name => Expected.ToString();
}

/// <summary>
/// The conditions of one trace: integration time (12, 19.2 or 24 ms; the rig samples at the same cadence), room
/// light as a share of the slot's white level (0 = dark), the neighbour's leak (0..0.04) and whether the trace
/// carries the <c># dark</c> calibration line.
/// </summary>
public sealed record IndependentCondition(double IntegrationMs, double Room, double Leak, bool DarkLine)
{
    public string RoomName => Room switch { <= 0 => "dark", < 0.05 => "dim", < 0.3 => "lit", _ => "bright" };

    public byte Atime => (byte)(256 - (int)Math.Round(IntegrationMs / 2.4));
}

/// <summary>A generated trace with its truth.</summary>
public sealed record IndependentTrace(IReadOnlyList<LedSample> Samples, SlotCalibration? Calibration, IReadOnlyList<LedSegment> Truth, IndependentCondition Condition, int Gain);
