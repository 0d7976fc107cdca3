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

    /// <summary>
    /// True when <paramref name="observed"/> is this state as a user would say it: same colour and pattern; a period
    /// or SOS code given here must also agree (periods within 35 %).
    /// </summary>
    public bool Matches(LedState observed)
    {
        var thisOff = Pattern == LedPattern.Off || Color == LedColor.Off;
        var thatOff = observed.Pattern == LedPattern.Off || observed.Color == LedColor.Off;
        if (thisOff || thatOff) return thisOff && thatOff;
        if (Color != observed.Color || Pattern != observed.Pattern) return false;
        if (SosCode is { } code && observed.SosCode != code) return false;
        if (Period is { } period && observed.Period is { } seen)
            return Math.Abs(seen.TotalMilliseconds - period.TotalMilliseconds) <= 0.35 * period.TotalMilliseconds;
        return true;
    }

    /// <summary>Parses the words users say: "off", "solid blue", "flashing yellow", "fast flashing white", "breathing cyan", "SOS 3", "white fade".</summary>
    public static LedState Parse(string text)
    {
        var words = text.Trim().ToLowerInvariant().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (words is ["off"] or ["dark"]) return Dark;
        if (words is ["sos"]) return new LedState(LedColor.Red, LedPattern.Sos);
        if (words is ["sos", var n] && int.TryParse(n, System.Globalization.CultureInfo.InvariantCulture, out var code) && code is >= 1 and <= 12)
            return new LedState(LedColor.Red, LedPattern.Sos, SosCode: code);
        if (words is [var c, "fade"] && TryColor(c, out var fadeColor)) return new LedState(fadeColor, LedPattern.Fade);
        var pattern = words.Length switch
        {
            2 when words[0] == "solid" => LedPattern.Solid,
            2 when words[0] == "flashing" => LedPattern.Flashing,
            2 when words[0] == "breathing" => LedPattern.Breathing,
            3 when words[0] == "fast" && words[1] == "flashing" => LedPattern.FastFlashing,
            _ => (LedPattern?)null,
        };
        if (pattern is { } p && TryColor(words[^1], out var colour) && colour != LedColor.Off)
            return new LedState(colour, p);
        throw new FormatException($"LED state '{text}' is not one of: off, solid|flashing|fast flashing|breathing <colour>, SOS [1-12], <colour> fade; colours: red, green, blue, yellow, cyan, magenta, white, orange");
    }

    private static bool TryColor(string word, out LedColor colour) =>
        Enum.TryParse(word, ignoreCase: true, out colour) && !int.TryParse(word, System.Globalization.CultureInfo.InvariantCulture, out _);

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
