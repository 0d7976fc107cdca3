namespace HilRig.Core.Config;

/// <summary>
/// The state of a simulated Core's external SPI flash (SST25VF016B). The simulator maps this to its own flash
/// model; Core only carries the choice.
/// </summary>
public abstract record FlashCondition
{
    /// <summary>Region where stuck cells are placed: factory, backup and OTA images (0x20000-0x7FFFF).</summary>
    public const uint StuckBitsStart = 0x20000;
    public const uint StuckBitsEnd = 0x80000;
    public const int SectorSize = 4096;
    public const int ChipSectors = 2 * 1024 * 1024 / SectorSize;
    public const int MaxStuckBits = (int)(StuckBitsEnd - StuckBitsStart) * 8;

    public static readonly FlashCondition Healthy = new HealthyFlash();

    private FlashCondition()
    {
    }

    /// <summary>The form written in rig-config.yaml: "healthy", "{ stuckBits: 12 }", "dead".</summary>
    public string Describe() => this switch
    {
        StuckBits s => FormattableString.Invariant($"{{ stuckBits: {s.Count} }}"),
        BadSectors b => FormattableString.Invariant($"{{ badSectors: {b.Count} }}"),
        Slow s => FormattableString.Invariant($"{{ slow: {s.Factor:0.###} }}"),
        Dead => "{ dead: true }",
        _ => "healthy",
    };

    public sealed record HealthyFlash : FlashCondition
    {
        public override string ToString() => "healthy";
    }

    /// <summary><see cref="Count"/> cells stuck at 0 or 1 in 0x20000-0x7FFFF.</summary>
    public sealed record StuckBits(int Count) : FlashCondition
    {
        public override string ToString() => $"stuckBits {Count}";
    }

    /// <summary><see cref="Count"/> 4 KiB sectors that do not fully erase.</summary>
    public sealed record BadSectors(int Count) : FlashCondition
    {
        public override string ToString() => $"badSectors {Count}";
    }

    /// <summary>Erase and program take <see cref="Factor"/> times the datasheet maximum.</summary>
    public sealed record Slow(double Factor) : FlashCondition
    {
        public override string ToString() => FormattableString.Invariant($"slow {Factor}");
    }

    /// <summary>The chip does not answer: no JEDEC id.</summary>
    public sealed record Dead : FlashCondition
    {
        public override string ToString() => "dead";
    }
}
