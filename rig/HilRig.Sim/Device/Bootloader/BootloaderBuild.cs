using System.Globalization;
using HilRig.Core.Config;

namespace HilRig.Sim.Device.Bootloader;

/// <summary>
/// One bootloader build as the simulator runs it: the behaviour (<see cref="Kind"/>) and, for a candidate, its defects.
/// A simulated Core carries its build as an image in pages 0-18 (<see cref="Firmware.SparkBootloaderImage"/>) and
/// reads it on every reset, so flashing another image over DFU changes what the Core does next.
/// </summary>
/// <param name="SpiBusyTimeout">How long the SPI-flash driver polls BUSY before giving up; null waits forever (BL13, BL14).</param>
/// <param name="StagesFactoryReset">The factory reset copies factory -> backup slot first and restores from the backup slot.</param>
public sealed record BootloaderBuild(BootloaderKind Kind, TimeSpan? SpiBusyTimeout, bool StagesFactoryReset)
{
    public static readonly BootloaderBuild BL13 = new(BootloaderKind.BL13, null, false);
    public static readonly BootloaderBuild BL14 = new(BootloaderKind.BL14, null, false);

    public static BootloaderBuild Candidate(SimCandidateConfig defects)
    {
        ArgumentNullException.ThrowIfNull(defects);
        return new(BootloaderKind.Candidate, TimeSpan.FromMilliseconds(defects.SpiBusyTimeoutMs), defects.StageFactoryReset);
    }

    /// <summary>The build a config names (sim.bootloader, with sim.candidate's defects for the candidate).</summary>
    public static BootloaderBuild For(SimBootloader bootloader, SimCandidateConfig candidate) => bootloader switch
    {
        SimBootloader.BL13 => BL13,
        SimBootloader.Candidate => Candidate(candidate),
        _ => BL14,
    };

    /// <summary>The BL14 family: flags page of 5 words, IWDG chain, software factory reset.</summary>
    public bool IsBl14Family => Kind is BootloaderKind.BL14 or BootloaderKind.Candidate;

    public int FlagWords => IsBl14Family ? SystemFlags.WordCount2014 : SystemFlags.WordCount2013;

    /// <summary>"BL14", or "candidate spiBusyTimeoutMs=30 stageFactoryReset=true": the text stamped into its image.</summary>
    public string Describe() => Kind switch
    {
        BootloaderKind.BL13 => "BL13",
        BootloaderKind.BL14 => "BL14",
        _ => string.Create(CultureInfo.InvariantCulture,
            $"candidate spiBusyTimeoutMs={SpiBusyTimeout?.TotalMilliseconds ?? 0:0.###} stageFactoryReset={(StagesFactoryReset ? "true" : "false")}"),
    };

    /// <summary>Parses <see cref="Describe"/>'s text; null for anything else.</summary>
    public static BootloaderBuild? Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text == "BL13") return BL13;
        if (text == "BL14") return BL14;
        var parts = text.Split(' ');
        if (parts.Length != 3 || parts[0] != "candidate") return null;
        const string timeoutKey = "spiBusyTimeoutMs=", stageKey = "stageFactoryReset=";
        if (!parts[1].StartsWith(timeoutKey, StringComparison.Ordinal) || !parts[2].StartsWith(stageKey, StringComparison.Ordinal)) return null;
        if (!double.TryParse(parts[1][timeoutKey.Length..], NumberStyles.Float, CultureInfo.InvariantCulture, out var ms) || !(ms > 0)) return null;
        var stage = parts[2][stageKey.Length..] switch { "true" => (bool?)true, "false" => false, _ => null };
        return stage is { } s ? new BootloaderBuild(BootloaderKind.Candidate, TimeSpan.FromMilliseconds(ms), s) : null;
    }
}
