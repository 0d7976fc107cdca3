using System.Collections.Concurrent;
using HilRig.Core.Led;
using HilRig.Sim.Device;

namespace HilRig.Sim.Optics;

/// <summary>
/// A Core's RGB LED as light over time: the firmware shows <see cref="LedProgram"/>s, and this turns each into
/// PWM-averaged duty per die with the firmware's brightness scaling and the timings of spark-core.md section 5.2.
/// </summary>
public sealed class LedEmitter : ILedOutput, ILightSource
{
    /// <summary>Integration step; the 100 Hz PWM itself is averaged, only pattern edges matter.</summary>
    private static readonly TimeSpan Step = TimeSpan.FromTicks(5_000);

    private readonly TimeProvider _time;
    private readonly int _brightness;
    private readonly List<(TimeSpan Since, LedProgram Program)> _history = [];

    public LedEmitter(TimeProvider time, OpticsSettings settings)
    {
        _time = time;
        _brightness = settings.Brightness;
        _history.Add((TimeSpan.Zero, LedProgram.Off));
    }

    public LedProgram Current => _history[^1].Program;

    public void Show(LedProgram program)
    {
        var now = SimClock.Now(_time);
        if (_history[^1].Since == now) _history[^1] = (now, program);
        else _history.Add((now, program));
        // a sensor looks back at most one integration window (614 ms); keep a few seconds
        if (_history.Count > 256)
        {
            var keepFrom = now - TimeSpan.FromSeconds(5);
            var drop = _history.FindLastIndex(h => h.Since <= keepFrom);
            if (drop > 0) _history.RemoveRange(0, drop);
        }
    }

    public RgbLight At(TimeSpan t)
    {
        var index = _history.FindLastIndex(h => h.Since <= t);
        if (index < 0) return RgbLight.Dark;
        var (since, program) = _history[index];
        return Light(program, t - since, _brightness);
    }

    public RgbLight Average(TimeSpan from, TimeSpan to)
    {
        if (to <= from) return At(from);
        // a dark LED over the whole window (most of an idle rig) needs no integration
        var first = _history.FindLastIndex(h => h.Since <= from);
        if (first >= 0 && _history[first].Program.Pattern == LedPattern.Off && (first == _history.Count - 1 || _history[first + 1].Since >= to))
            return RgbLight.Dark;
        double r = 0, g = 0, b = 0;
        var n = 0;
        // the history is in time order: walk it along the window instead of searching it at every step (as At does)
        var index = first;
        for (var t = from + Step / 2; t < to; t += Step)
        {
            while (index + 1 < _history.Count && _history[index + 1].Since <= t) index++;
            var light = index < 0 ? RgbLight.Dark : Light(_history[index].Program, t - _history[index].Since, _brightness);
            r += light.R;
            g += light.G;
            b += light.B;
            n++;
        }
        return n == 0 ? At(from) : new RgbLight(r / n, g / n, b / n);
    }

    /// <summary>The light of <paramref name="program"/> at <paramref name="sinceShown"/> after it was shown.</summary>
    public static RgbLight Light(LedProgram program, TimeSpan sinceShown, int brightness)
    {
        var level = Level(program, sinceShown);
        if (level <= 0) return RgbLight.Dark;
        var scale = level * brightness / 256.0 / 255.0;
        return new RgbLight(((program.Rgb >> 16) & 0xFF) * scale, ((program.Rgb >> 8) & 0xFF) * scale, (program.Rgb & 0xFF) * scale);
    }

    /// <summary>Relative brightness 0..1 of a pattern at a time since it was shown.</summary>
    public static double Level(LedProgram program, TimeSpan sinceShown)
    {
        var ms = sinceShown.TotalMilliseconds;
        switch (program.Pattern)
        {
            case LedPattern.Off:
                return 0;
            case LedPattern.Solid:
                return 1;
            case LedPattern.Flashing:
            case LedPattern.FastFlashing:
            {
                // SysTick reloads of N count N+1 ticks
                var toggle = program.Toggle.TotalMilliseconds + 1;
                return ((long)Math.Floor(ms / toggle) & 1) == 0 ? 1 : 0;
            }
            case LedPattern.Breathing:
            {
                // 100-step triangular fade starting dark, one step per Toggle/100 (~21 ms)
                var stepMs = program.Toggle.TotalMilliseconds / 100;
                var k = (long)Math.Floor(ms / stepMs) % 200;
                return k < 100 ? k / 99.0 : (199 - k) / 99.0;
            }
            case LedPattern.Fade:
            {
                // start-up fade: full, then one step down per Toggle, staying dark at the end
                var k = Math.Floor(ms / program.Toggle.TotalMilliseconds);
                return Math.Max(0, 1 - k / 99.0);
            }
            case LedPattern.Sos:
                return SosOn(program.SosCode, ms) ? 1 : 0;
            default:
                return 0;
        }
    }

    /// <summary>
    /// CCL panic.c: 3 x (150 on/100 off), 100 gap, 3 x (300 on/100 off), 100 gap, 3 x (150/100), 900 pause,
    /// code x (300 on/300 off), 800 pause; repeating.
    /// </summary>
    public static IReadOnlyList<(int OnMs, int OffMs)> SosRound(int code)
    {
        var round = new List<(int, int)>();
        for (var i = 0; i < 3; i++) round.Add((150, i == 2 ? 200 : 100));
        for (var i = 0; i < 3; i++) round.Add((300, i == 2 ? 200 : 100));
        for (var i = 0; i < 3; i++) round.Add((150, i == 2 ? 100 + 900 : 100));
        for (var i = 0; i < code; i++) round.Add((300, i == code - 1 ? 300 + 800 : 300));
        return round;
    }

    /// <summary>Each code's round and its length, built once: an SOS is looked at every integration step of a sensor.</summary>
    private static readonly ConcurrentDictionary<int, ((int OnMs, int OffMs)[] Round, int Length)> SosRounds = new();

    private static bool SosOn(int code, double ms)
    {
        var (round, length) = SosRounds.GetOrAdd(code, c =>
        {
            (int OnMs, int OffMs)[] r = [.. SosRound(c)];
            return (r, r.Sum(p => p.OnMs + p.OffMs));
        });
        var t = ms % length;
        foreach (var (on, off) in round)
        {
            if (t < on) return true;
            t -= on;
            if (t < off) return false;
            t -= off;
        }
        return false;
    }
}
