using System.Globalization;

namespace HilRig.Sim.Device.Flash;

/// <summary>
/// The health of a simulated SST25VF016B. Faults are placed from the chip's seed inside
/// <see cref="Sst25vf016b.FaultRegionStart"/>..<see cref="Sst25vf016b.FaultRegionEnd"/> (the factory, backup and OTA slots).
/// </summary>
public abstract record FlashCondition
{
    private FlashCondition()
    {
    }

    /// <summary>Short form used in reports and config files: "healthy", "{ stuckBits: 12 }", "dead".</summary>
    public abstract string Describe();

    /// <summary>Typical datasheet timings, every cell erases and programs.</summary>
    public sealed record Healthy : FlashCondition
    {
        public override string Describe() => "healthy";
    }

    /// <summary><paramref name="Count"/> distinct bit cells stuck at 0 or 1.</summary>
    public sealed record StuckBits(int Count) : FlashCondition
    {
        public override string Describe() => $"{{ stuckBits: {Count.ToString(CultureInfo.InvariantCulture)} }}";
    }

    /// <summary><paramref name="Count"/> distinct 4 KiB sectors whose erase leaves some bits at 0.</summary>
    public sealed record BadSectors(int Count) : FlashCondition
    {
        public override string Describe() => $"{{ badSectors: {Count.ToString(CultureInfo.InvariantCulture)} }}";
    }

    /// <summary>Every operation takes <paramref name="Factor"/> times the datasheet maximum.</summary>
    public sealed record Slow(double Factor) : FlashCondition
    {
        public override string Describe() => $"{{ slow: {Factor.ToString("0.###", CultureInfo.InvariantCulture)} }}";
    }

    /// <summary>The chip does not answer: MISO stays high, so JEDEC id, data and status all read 0xFF.</summary>
    public sealed record Dead : FlashCondition
    {
        public override string Describe() => "dead";
    }
}
