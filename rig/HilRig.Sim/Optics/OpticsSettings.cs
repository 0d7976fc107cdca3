namespace HilRig.Sim.Optics;

/// <summary>
/// How light gets from each simulated Core's LED into its slot's colour sensor. The lead maps the rig config's
/// <c>sim:</c> section onto this.
/// </summary>
public sealed record OpticsSettings
{
    public static readonly OpticsSettings Default = new();

    /// <summary>Room light reaching the sensor: clear-channel counts per 2.4 ms cycle at 1x gain.</summary>
    public double AmbientCountsPerCycle { get; init; } = 4;

    /// <summary>Multiplier on shot noise (sqrt(counts) standard deviation); 0 = noiseless.</summary>
    public double NoiseLevel { get; init; } = 1.0;

    /// <summary>Fraction of each neighbouring slot's LED light that reaches this slot's sensor.</summary>
    public double CrosstalkFraction { get; init; } = 0.01;

    /// <summary>Counts per 2.4 ms cycle at 1x gain on a sensor channel from one LED die at 100 % duty.</summary>
    public double CouplingCountsPerCycle { get; init; } = 200;

    /// <summary>BL13-era firmware drove the LED at full scale; later builds scale by 96/256.</summary>
    public bool FullScale { get; init; }

    public int Brightness => FullScale ? 256 : 96;

    public void Validate()
    {
        if (AmbientCountsPerCycle < 0) throw new ArgumentOutOfRangeException(nameof(AmbientCountsPerCycle), AmbientCountsPerCycle, "sim optics ambient must be >= 0 counts per cycle");
        if (NoiseLevel < 0) throw new ArgumentOutOfRangeException(nameof(NoiseLevel), NoiseLevel, "sim optics noise must be >= 0");
        if (CrosstalkFraction is < 0 or > 0.5) throw new ArgumentOutOfRangeException(nameof(CrosstalkFraction), CrosstalkFraction, "sim optics crosstalk must be between 0 and 0.5");
        if (CouplingCountsPerCycle <= 0) throw new ArgumentOutOfRangeException(nameof(CouplingCountsPerCycle), CouplingCountsPerCycle, "sim optics coupling must be > 0 counts per cycle");
    }
}

/// <summary>PWM duty of each LED die, 0..1, averaged over some window.</summary>
public readonly record struct RgbLight(double R, double G, double B)
{
    public static readonly RgbLight Dark = new(0, 0, 0);
}

/// <summary>Something that emits light over time (a Core's RGB LED).</summary>
public interface ILightSource
{
    /// <summary>Average light between two instants of the simulation clock (see <see cref="SimClock.Now"/>).</summary>
    RgbLight Average(TimeSpan from, TimeSpan to);
}

public static class SimClock
{
    /// <summary>The clock all optics share: time since the provider's timestamp zero.</summary>
    public static TimeSpan Now(TimeProvider time) => time.GetElapsedTime(0, time.GetTimestamp());
}
