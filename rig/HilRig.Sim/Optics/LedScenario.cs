using HilRig.Core.Led;
using HilRig.Sim.Device;
using HilRig.Sim.Time;

namespace HilRig.Sim.Optics;

/// <summary>One LED program shown for a while.</summary>
public sealed record LedStep(LedProgram Program, TimeSpan Duration);

public sealed record LedScenarioResult(
    IReadOnlyList<IReadOnlyList<LedSample>> Samples,
    IReadOnlyList<SlotCalibration> Calibrations,
    IReadOnlyList<LedTimeline> Timelines,
    IReadOnlyList<IReadOnlyList<LedSegment>> Truth,
    TimeSpan SampledFor,
    TimeSpan BusTime,
    TimeSpan AccountedI2cTime,
    long GainChanges,
    long Overruns);

/// <summary>
/// Runs labelled LED scripts through the whole observation path on a fresh simulated rig: LED emitters, TCS34725
/// and TCA9548A models on a simulated bus, the Core drivers, the sampler (calibrated per slot: dark, then
/// optionally solid white to choose the gain) and the classifier. The truth is the scripts themselves, on the sampler's time base.
/// </summary>
public static class LedScenario
{
    public static LedScenarioResult Run(IReadOnlyList<IReadOnlyList<LedStep>> scripts, OpticsSettings optics, int seed, LedSamplerOptions? options = null, bool calibrateWithWhite = true)
    {
        using var sim = new SimScheduler();
        return sim.Run(async () =>
        {
            var rig = new SimLedRig(sim.Time, scripts.Count, optics, seed);
            var sampler = new LedSampler(rig.Sensors, sim.Time, options);
            await sampler.InitializeAsync();
            var calibrations = new List<SlotCalibration>();
            for (var slot = 0; slot < scripts.Count; slot++)
            {
                var emitter = rig.Emitters[slot];
                calibrations.Add(await sampler.CalibrateAsync(slot, calibrateWithWhite
                    ? _ =>
                    {
                        emitter.Show(LedProgram.Solid(SparkColors.White));
                        return Task.CompletedTask;
                    }
                    : null));
                emitter.Show(LedProgram.Off);
            }
            var busBefore = rig.Bus.BusTime;
            var i2cBefore = sampler.I2cTime;
            using var stop = new CancellationTokenSource();
            var t0 = sampler.Now;
            var sampling = sampler.RunAsync(stop.Token);
            var truth = new List<IReadOnlyList<LedSegment>>();
            var runs = new List<Task>();
            for (var slot = 0; slot < scripts.Count; slot++)
            {
                var emitter = rig.Emitters[slot];
                var script = scripts[slot];
                var segments = new List<LedSegment>();
                var at = t0;
                foreach (var step in script)
                {
                    segments.Add(new LedSegment(at, at + step.Duration, Expected(step.Program), 1));
                    at += step.Duration;
                }
                truth.Add(segments);
                runs.Add(Play(emitter, script, sim.Time));
            }
            await Task.WhenAll(runs);
            stop.Cancel();
            await sampling;
            var sampledFor = sampler.Now - t0;
            return new LedScenarioResult(
                [.. Enumerable.Range(0, scripts.Count).Select(sampler.Samples)],
                calibrations,
                [.. Enumerable.Range(0, scripts.Count).Select(sampler.Timeline)],
                truth,
                sampledFor,
                rig.Bus.BusTime - busBefore,
                sampler.I2cTime - i2cBefore,
                sampler.GainChanges,
                sampler.Overruns);
        });
    }

    private static async Task Play(LedEmitter emitter, IReadOnlyList<LedStep> script, TimeProvider time)
    {
        foreach (var step in script)
        {
            emitter.Show(step.Program);
            await Task.Delay(step.Duration, time);
        }
        emitter.Show(LedProgram.Off);
    }

    /// <summary>The state a user would name for a program: "flashing yellow" for the DFU program, and so on.</summary>
    public static LedState Expected(LedProgram program)
    {
        var colour = program.Rgb switch
        {
            SparkColors.Red => LedColor.Red,
            SparkColors.Green => LedColor.Green,
            SparkColors.Blue => LedColor.Blue,
            SparkColors.Yellow => LedColor.Yellow,
            SparkColors.Cyan => LedColor.Cyan,
            SparkColors.Magenta => LedColor.Magenta,
            SparkColors.White => LedColor.White,
            SparkColors.Orange => LedColor.Orange,
            0 => LedColor.Off,
            _ => throw new ArgumentOutOfRangeException(nameof(program), $"0x{program.Rgb:X6} is not one of the rgbled.h colours"),
        };
        return program.Pattern switch
        {
            Core.Led.LedPattern.Off => LedState.Dark,
            Core.Led.LedPattern.Flashing or Core.Led.LedPattern.FastFlashing =>
                new LedState(colour, program.Pattern, program.Toggle + TimeSpan.FromMilliseconds(1)),
            Core.Led.LedPattern.Breathing => new LedState(colour, program.Pattern, program.Toggle * 2),
            Core.Led.LedPattern.Sos => new LedState(colour, program.Pattern, SosCode: program.SosCode),
            _ => new LedState(colour, program.Pattern),
        };
    }
}
