using System.Globalization;
using HilRig.Core.Led;
using HilRig.Sim.Device;
using HilRig.Sim.Optics;

namespace HilRig.Cli.Bench;

public sealed record LedBenchReport(int Segments, int Correct, int BreathingFlashingConfusions, int Transitions, int TransitionsWithinBlink, double MinSamplesPerSecond)
{
    public double Accuracy => Segments == 0 ? 0 : Correct / (double)Segments;

    public bool MeetsTargets => Accuracy >= 0.99 && BreathingFlashingConfusions == 0 && TransitionsWithinBlink == Transitions;
}

/// <summary>
/// Generates labelled LED scripts for every state of spark-core.md section 5 on 16 slots, runs them through the
/// simulated optics, sensors, mux and bus, the Core drivers, sampler and classifier, across noise, ambient and
/// gain settings, and scores the timelines against the scripts.
/// </summary>
internal static class LedBench
{
    private static LedStep S(LedProgram program, double seconds) => new(program, TimeSpan.FromSeconds(seconds));

    private static readonly LedProgram Dark = LedProgram.Off;

    /// <summary>What Cores do in the field, as LED scripts.</summary>
    private static IReadOnlyList<(string Name, LedStep[] Script)> Stories() =>
    [
        ("boot to cloud", [S(Dark, 2), S(LedProgram.StartupFade(), 1), S(LedProgram.Flashing(SparkColors.Green, 100), 4), S(LedProgram.Breathing(SparkColors.Green), 3), S(LedProgram.Flashing(SparkColors.Cyan, 100), 4), S(LedProgram.Flashing(SparkColors.Cyan, 50), 2.5), S(LedProgram.Breathing(SparkColors.Cyan), 10)]),
        ("dfu", [S(Dark, 2), S(LedProgram.Flashing(SparkColors.Yellow, 100), 8), S(Dark, 2), S(LedProgram.Flashing(SparkColors.Yellow, 100), 4)]),
        ("factory reset", [S(Dark, 2), S(LedProgram.Solid(SparkColors.White), 2), S(LedProgram.Flashing(SparkColors.White, 50), 5), S(LedProgram.Solid(SparkColors.White), 2), S(Dark, 2)]),
        ("ota apply", [S(Dark, 2), S(LedProgram.Solid(SparkColors.Magenta), 2), S(LedProgram.Flashing(SparkColors.Magenta, 50), 5), S(Dark, 2), S(LedProgram.Flashing(SparkColors.Red, 50), 4)]),
        ("listening", [S(Dark, 2), S(LedProgram.Flashing(SparkColors.Blue, 250), 8), S(LedProgram.Solid(SparkColors.Blue), 2), S(LedProgram.Solid(SparkColors.Green), 2), S(Dark, 2)]),
        ("credentials wipe", [S(Dark, 2), S(LedProgram.Flashing(SparkColors.Blue, 250), 4), S(LedProgram.Flashing(SparkColors.Blue, 50), 1.5), S(Dark, 2)]),
        ("cloud error", [S(Dark, 2), S(LedProgram.Flashing(SparkColors.Red, 500), 3), S(LedProgram.Flashing(SparkColors.Cyan, 100), 4), S(LedProgram.Solid(SparkColors.Red), 2), S(LedProgram.Solid(SparkColors.Orange), 2), S(LedProgram.Solid(SparkColors.Magenta), 2), S(Dark, 2)]),
        ("panic 1", [S(Dark, 2), S(LedProgram.Sos(1), 11), S(Dark, 2)]),
        ("panic 8", [S(Dark, 2), S(LedProgram.Sos(8), 16), S(Dark, 2)]),
        ("panic 12", [S(Dark, 2), S(LedProgram.Sos(12), 20), S(Dark, 2)]),
        ("solid colours", [S(Dark, 2), S(LedProgram.Solid(SparkColors.Yellow), 2), S(LedProgram.Solid(SparkColors.Cyan), 2), S(LedProgram.Solid(SparkColors.Red), 2), S(Dark, 2)]),
        ("breathing", [S(Dark, 2), S(LedProgram.Breathing(SparkColors.Cyan), 12), S(LedProgram.Flashing(SparkColors.Cyan, 100), 4), S(Dark, 2)]),
    ];

    private sealed record Setting(string Name, OpticsSettings Optics, LedSamplerOptions Options, bool CalibrateWithWhite);

    private static IEnumerable<Setting> Settings(bool quick)
    {
        double[] noises = quick ? [1] : [0.5, 1, 2];
        double[] ambients = quick ? [4, 40] : [0, 4, 40];
        foreach (var noise in noises)
        foreach (var ambient in ambients)
        foreach (var fullScale in new[] { false, true })
        foreach (var calibrated in quick ? [true] : new[] { true, false })
        {
            var optics = OpticsSettings.Default with { NoiseLevel = noise, AmbientCountsPerCycle = ambient, FullScale = fullScale };
            var options = new LedSamplerOptions { InitialGain = calibrated ? 4 : 16 };
            var name = string.Create(CultureInfo.InvariantCulture,
                $"noise {noise:0.0} ambient {ambient,2:0} {(fullScale ? "BL13 full" : "96/256   ")} {(calibrated ? "gain by white" : "16x autorange")}");
            yield return new Setting(name, optics, options, calibrated);
        }
    }

    public static LedBenchReport Run(int seed, bool quick, TextWriter output)
    {
        var stories = Stories();
        var perState = new SortedDictionary<string, (int Total, int Right)>(StringComparer.Ordinal);
        var transitionErrors = new List<(string Kind, double ErrorMs, double AllowedMs)>();
        var confusions = 0;
        var minRate = double.MaxValue;
        var maxUtilisation = 0.0;
        var failures = new List<string>();
        output.WriteLine("setting                                          segments  right   samples/s/slot  bus use  gain changes");
        var settingIndex = 0;
        foreach (var setting in Settings(quick))
        {
            settingIndex++;
            // 16 slots, stories dealt round-robin, shifted per setting so every story meets every neighbour
            var scripts = Enumerable.Range(0, 16).Select(slot => (IReadOnlyList<LedStep>)stories[(slot + settingIndex) % stories.Count].Script).ToList();
            var result = LedScenario.Run(scripts, setting.Optics, seed + settingIndex, setting.Options, setting.CalibrateWithWhite);
            var (segments, right) = (0, 0);
            for (var slot = 0; slot < scripts.Count; slot++)
            {
                var truth = result.Truth[slot];
                var seen = result.Timelines[slot].Segments;
                foreach (var t in truth)
                {
                    var key = t.State.ToString();
                    var best = seen.Where(s => Overlap(s, t) > TimeSpan.Zero).OrderByDescending(s => Overlap(s, t)).FirstOrDefault();
                    var ok = best is not null && t.State.Matches(best.State) && Overlap(best, t) >= 0.8 * t.Duration;
                    segments++;
                    if (ok) right++;
                    else failures.Add($"{setting.Name} slot {slot}: {key} {Range(t)} seen as {result.Timelines[slot]}");
                    var (n, r) = perState.GetValueOrDefault(key);
                    perState[key] = (n + 1, r + (ok ? 1 : 0));
                    // confused: a segment named with the other pattern that lies mostly inside this one (not a boundary overlap)
                    var confused = seen.FirstOrDefault(s => (IsBreathing(t.State) && IsFlashing(s.State) || IsFlashing(t.State) && IsBreathing(s.State))
                        && Overlap(s, t) > TimeSpan.FromMilliseconds(300) && Overlap(s, t) >= 0.5 * s.Duration);
                    if (confused is not null)
                    {
                        confusions++;
                        failures.Add($"{setting.Name} slot {slot}: {key} {Range(t)} confused with {confused}");
                    }
                }
                var boundaries = seen.Skip(1).Select(s => s.Start).ToList();
                for (var i = 1; i < truth.Count; i++)
                {
                    if (truth[i].State.Matches(truth[i - 1].State)) continue;
                    var at = truth[i].Start;
                    var error = boundaries.Count == 0 ? double.PositiveInfinity : boundaries.Min(b => Math.Abs((b - at).TotalMilliseconds));
                    transitionErrors.Add(($"{Kind(truth[i - 1].State)} -> {Kind(truth[i].State)}", error, Math.Max(BlinkMs(truth[i - 1].State), BlinkMs(truth[i].State))));
                }
            }
            var rate = result.Samples.Min(s => s.Count) / result.SampledFor.TotalSeconds;
            var utilisation = result.BusTime / result.SampledFor;
            minRate = Math.Min(minRate, rate);
            maxUtilisation = Math.Max(maxUtilisation, utilisation);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{setting.Name,-48} {segments,8}  {right,5}   {rate,14:0.0}  {utilisation,6:P1}  {result.GainChanges,12}"));
        }

        output.WriteLine();
        output.WriteLine("state                          segments  accuracy");
        foreach (var (state, (total, right)) in perState)
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{state,-30} {total,8}  {right / (double)total,8:P1}"));

        output.WriteLine();
        output.WriteLine("transition                           count  mean err ms  max err ms  within one blink period");
        foreach (var group in transitionErrors.GroupBy(t => t.Kind).OrderBy(g => g.Key, StringComparer.Ordinal))
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{group.Key,-36} {group.Count(),5}  {group.Average(g => g.ErrorMs),11:0}  {group.Max(g => g.ErrorMs),10:0}  {group.Count(g => g.ErrorMs <= g.AllowedMs),5}/{group.Count()}"));

        var totalSegments = perState.Values.Sum(v => v.Total);
        var totalRight = perState.Values.Sum(v => v.Right);
        var within = transitionErrors.Count(t => t.ErrorMs <= t.AllowedMs);
        var report = new LedBenchReport(totalSegments, totalRight, confusions, transitionErrors.Count, within, minRate);
        output.WriteLine();
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"segments classified right: {totalRight}/{totalSegments} = {report.Accuracy:P2} (target >= 99 %)"));
        output.WriteLine($"breathing/flashing confusions: {confusions} (target 0)");
        output.WriteLine($"transitions within one blink period: {within}/{transitionErrors.Count}");
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"sampler, 16 slots on 2 muxes at 400 kHz: >= {minRate:0.0} samples/s per slot (cadence 24 ms = 41.7/s), I2C bus busy <= {maxUtilisation:P1} of device time"));
        foreach (var failure in failures.Take(20)) output.WriteLine($"  miss: {failure}");
        return report;
    }

    private static string Range(LedSegment s) => string.Create(CultureInfo.InvariantCulture, $"{s.Start.TotalSeconds:0.0}-{s.End.TotalSeconds:0.0} s");

    private static TimeSpan Overlap(LedSegment a, LedSegment b)
    {
        var start = a.Start > b.Start ? a.Start : b.Start;
        var end = a.End < b.End ? a.End : b.End;
        return end > start ? end - start : TimeSpan.Zero;
    }

    private static bool IsBreathing(LedState s) => s.Pattern == LedPattern.Breathing;

    private static bool IsFlashing(LedState s) => s.Pattern is LedPattern.Flashing or LedPattern.FastFlashing;

    private static string Kind(LedState s) => s.Pattern == LedPattern.Sos ? "SOS" : s.Pattern.ToString().ToLowerInvariant();

    /// <summary>One blink period: on plus off for flashing, the fade period for breathing, the longest SOS element, else 200 ms.</summary>
    private static double BlinkMs(LedState s) => s.Pattern switch
    {
        LedPattern.Flashing or LedPattern.FastFlashing => 2 * (s.Period?.TotalMilliseconds ?? 100),
        LedPattern.Breathing => s.Period?.TotalMilliseconds ?? 4200,
        LedPattern.Sos => 1100,
        _ => 200,
    };
}
