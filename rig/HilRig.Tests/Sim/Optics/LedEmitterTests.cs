using HilRig.Sim.Device;
using HilRig.Sim.Optics;
using HilRig.Sim.Time;

namespace HilRig.Tests.Led;

public class LedEmitterTests
{
    private static double LevelAt(LedProgram program, double ms) => LedEmitter.Level(program, TimeSpan.FromMilliseconds(ms));

    [Test]
    public void Channels_are_scaled_by_the_firmware_brightness_96_of_256_unless_full_scale()
    {
        var dimmed = LedEmitter.Light(LedProgram.Solid(SparkColors.Orange), TimeSpan.Zero, 96);
        var full = LedEmitter.Light(LedProgram.Solid(SparkColors.Orange), TimeSpan.Zero, 256);
        Assert.Multiple(() =>
        {
            Assert.That(dimmed.R, Is.EqualTo(96 / 256.0).Within(1e-9));
            Assert.That(dimmed.G, Is.EqualTo(0x60 / 255.0 * 96 / 256.0).Within(1e-9), "orange is 0xFF6000");
            Assert.That(dimmed.B, Is.Zero);
            Assert.That(full.R, Is.EqualTo(1.0).Within(1e-9));
        });
    }

    [Test]
    public void Flashing_toggles_every_N_plus_one_ms_starting_on()
    {
        var dfu = LedProgram.Flashing(SparkColors.Yellow, 100);
        Assert.That(new[] { LevelAt(dfu, 0), LevelAt(dfu, 100.5), LevelAt(dfu, 101.5), LevelAt(dfu, 201.5), LevelAt(dfu, 202.5) },
            Is.EqualTo(new double[] { 1, 1, 0, 0, 1 }));
    }

    [Test]
    public void Breathing_is_a_100_step_triangle_with_a_4_2_s_period()
    {
        var cyan = LedProgram.Breathing(SparkColors.Cyan);
        Assert.Multiple(() =>
        {
            Assert.That(LevelAt(cyan, 0), Is.Zero);
            Assert.That(LevelAt(cyan, 2090), Is.EqualTo(1).Within(1e-9), "top after 100 steps of 21 ms");
            Assert.That(LevelAt(cyan, 1050), Is.EqualTo(50 / 99.0).Within(1e-9));
            Assert.That(LevelAt(cyan, 4200 + 1050), Is.EqualTo(LevelAt(cyan, 1050)).Within(1e-9), "period 4.2 s");
            Assert.That(LevelAt(cyan, 2100 + 1050), Is.EqualTo(49 / 99.0).Within(1e-9), "coming down");
        });
    }

    [Test]
    public void The_startup_fade_steps_down_from_full_and_stays_dark()
    {
        var fade = LedProgram.StartupFade();
        Assert.That(new[] { LevelAt(fade, 0), LevelAt(fade, 21 * 50 + 1), LevelAt(fade, 21 * 99 + 1), LevelAt(fade, 10_000) },
            Is.EqualTo(new[] { 1, 1 - 50 / 99.0, 0, 0 }).Within(1e-9));
    }

    [TestCase(1, 5200)]
    [TestCase(3, 6400)]
    [TestCase(12, 11_800)]
    public void An_SOS_round_is_three_short_three_long_three_short_then_the_code(int code, int roundMs)
    {
        var round = LedEmitter.SosRound(code);
        Assert.Multiple(() =>
        {
            Assert.That(round.Sum(p => p.OnMs + p.OffMs), Is.EqualTo(roundMs));
            Assert.That(round.Select(p => p.OnMs).Take(9), Is.EqualTo(new[] { 150, 150, 150, 300, 300, 300, 150, 150, 150 }));
            Assert.That(round[8].OffMs, Is.EqualTo(1000), "100 off + 900 pause before the code");
            Assert.That(round.Skip(9).Count(), Is.EqualTo(code));
            Assert.That(round[^1].OffMs, Is.EqualTo(1100), "300 off + 800 pause");
        });
        var sos = LedProgram.Sos(code);
        Assert.That(new[] { LevelAt(sos, 149), LevelAt(sos, 151), LevelAt(sos, 251), LevelAt(sos, 3800 + 10) }, Is.EqualTo(new double[] { 1, 0, 1, 1 }));
    }

    [Test]
    public void The_average_over_a_window_integrates_the_pattern_since_it_was_shown()
    {
        using var sim = new SimScheduler();
        var emitter = new LedEmitter(sim.Time, OpticsSettings.Default with { FullScale = true });
        var average = sim.Run(async () =>
        {
            await Task.Delay(TimeSpan.FromSeconds(1), sim.Time);
            emitter.Show(LedProgram.Flashing(SparkColors.Blue, 100));
            await Task.Delay(TimeSpan.FromSeconds(1), sim.Time);
            var start = SimClock.Now(sim.Time) - TimeSpan.FromSeconds(1);
            return (Before: emitter.Average(start - TimeSpan.FromMilliseconds(500), start), OnHalf: emitter.Average(start, start + TimeSpan.FromMilliseconds(101)),
                Period: emitter.Average(start, start + TimeSpan.FromMilliseconds(202)));
        });
        Assert.Multiple(() =>
        {
            Assert.That(average.Before.B, Is.Zero, "dark before it was shown");
            Assert.That(average.OnHalf.B, Is.EqualTo(1).Within(0.01));
            Assert.That(average.Period.B, Is.EqualTo(0.5).Within(0.01));
        });
    }
}
