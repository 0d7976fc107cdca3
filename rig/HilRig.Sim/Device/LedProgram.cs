using HilRig.Core.Led;

namespace HilRig.Sim.Device;

/// <summary>
/// What the simulated firmware asks of its RGB LED: a colour (24-bit, before the firmware's brightness scaling)
/// and a pattern with its timing, as in spark-core.md section 5. The optics model turns it into light over time.
/// </summary>
public sealed record LedProgram(uint Rgb, LedPattern Pattern, TimeSpan Toggle, int SosCode = 0)
{
    public static readonly LedProgram Off = new(0, LedPattern.Off, TimeSpan.Zero);

    public static LedProgram Solid(uint rgb) => new(rgb, LedPattern.Solid, TimeSpan.Zero);

    /// <summary>On for <paramref name="toggleMs"/>, off for as long.</summary>
    public static LedProgram Flashing(uint rgb, int toggleMs) =>
        new(rgb, toggleMs <= 60 ? LedPattern.FastFlashing : LedPattern.Flashing, TimeSpan.FromMilliseconds(toggleMs));

    public static LedProgram Breathing(uint rgb) => new(rgb, LedPattern.Breathing, TimeSpan.FromMilliseconds(2100));

    /// <summary>The app's start-up white fade: full, then one step down every ~21 ms.</summary>
    public static LedProgram StartupFade(uint rgb = SparkColors.White) => new(rgb, LedPattern.Fade, TimeSpan.FromMilliseconds(21));

    public static LedProgram Sos(int code) => new(SparkColors.Red, LedPattern.Sos, TimeSpan.Zero, code);
}

/// <summary>rgbled.h colour constants.</summary>
public static class SparkColors
{
    public const uint Red = 0xFF0000;
    public const uint Green = 0x00FF00;
    public const uint Blue = 0x0000FF;
    public const uint Yellow = 0xFFFF00;
    public const uint Cyan = 0x00FFFF;
    public const uint Magenta = 0xFF00FF;
    public const uint White = 0xFFFFFF;
    public const uint Orange = 0xFF6000;
}

/// <summary>Where simulated firmware sends its LED program; the optics model listens here.</summary>
public interface ILedOutput
{
    /// <summary>The program is effective from the current virtual time.</summary>
    void Show(LedProgram program);

    LedProgram Current { get; }
}
