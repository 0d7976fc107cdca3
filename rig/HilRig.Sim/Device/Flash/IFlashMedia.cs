namespace HilRig.Sim.Device.Flash;

/// <summary>
/// The outcome of a flash operation: how long the chip is busy. <see cref="Hung"/>: BUSY never clears (the Spark
/// SPI driver has no timeout, so whoever waits on it hangs).
/// </summary>
public readonly record struct FlashOpResult(TimeSpan Duration, bool Hung = false)
{
    public static FlashOpResult Done(TimeSpan duration) => new(duration);

    public static readonly FlashOpResult Hang = new(Timeout.InfiniteTimeSpan, true);
}

/// <summary>
/// A flash memory as the bootloader's DFU media layer (dfu_mal.c) reaches it: erase one erase unit, write
/// bytes (without erasing), read bytes. Addresses are absolute (0x08000000-based for internal flash, 0-based
/// for the SPI flash). Every call returns the device time it costs; the caller turns that into virtual time.
/// </summary>
public interface IFlashMedia
{
    uint BaseAddress { get; }

    int Size { get; }

    /// <summary>1 KiB page (internal) or 4 KiB sector (SPI).</summary>
    int EraseUnit { get; }

    TimeSpan Read(uint address, Span<byte> destination);

    /// <summary>Erases the unit containing <paramref name="address"/> (unaligned allowed).</summary>
    FlashOpResult Erase(uint address);

    FlashOpResult Write(uint address, ReadOnlySpan<byte> data);
}
