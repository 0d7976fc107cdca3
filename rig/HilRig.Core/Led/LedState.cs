namespace HilRig.Core.Led;

/// <summary>The colours a Spark Core shows (rgbled.h constants), plus off.</summary>
public enum LedColor
{
    Off,
    Red,
    Green,
    Blue,
    Yellow,
    Cyan,
    Magenta,
    White,
    Orange,
}

public enum LedPattern
{
    Off,
    Solid,

    /// <summary>Toggle around 100 ms (DFU yellow, Wi-Fi green, cloud cyan) or 250 ms (listening blue).</summary>
    Flashing,

    /// <summary>Toggle around 50 ms (bootloader OTA apply / factory reset, handshake cyan).</summary>
    FastFlashing,

    /// <summary>Triangular fade, ~4.2 s period (breathing cyan).</summary>
    Breathing,

    /// <summary>Red SOS followed by a blink code.</summary>
    Sos,

    /// <summary>The app's start-up white fade.</summary>
    Fade,
}

/// <summary>An LED state as users say it: "flashing yellow", "breathing cyan".</summary>
public sealed record LedState(LedColor Color, LedPattern Pattern, TimeSpan? Period = null, int? SosCode = null)
{
    public static readonly LedState Dark = new(LedColor.Off, LedPattern.Off);

    public override string ToString()
    {
        if (Pattern == LedPattern.Off || Color == LedColor.Off) return "off";
        var colour = Color.ToString().ToLowerInvariant();
        return Pattern switch
        {
            LedPattern.Solid => $"solid {colour}",
            LedPattern.Flashing => $"flashing {colour}",
            LedPattern.FastFlashing => $"fast flashing {colour}",
            LedPattern.Breathing => $"breathing {colour}",
            LedPattern.Sos => SosCode is { } code ? $"SOS {code} ({colour})" : $"SOS ({colour})",
            LedPattern.Fade => $"{colour} fade",
            _ => colour,
        };
    }
}
