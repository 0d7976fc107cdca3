namespace HilRig.Core.Chips.Tcs34725;

/// <summary>TCS34725 register map (ams TCS3472 datasheet, protocols.md section 5.1).</summary>
public static class Tcs34725Registers
{
    public const int DefaultAddress = 0x29;

    /// <summary>Command byte: CMD bit, TYPE 00 = repeated byte.</summary>
    public const byte Command = 0x80;

    /// <summary>Command byte: CMD bit, TYPE 01 = auto-increment.</summary>
    public const byte CommandAutoIncrement = 0xA0;

    public const byte Enable = 0x00;
    public const byte Atime = 0x01;
    public const byte Wtime = 0x03;
    public const byte Control = 0x0F;
    public const byte Id = 0x12;
    public const byte Status = 0x13;
    public const byte Cdatal = 0x14;

    public const byte EnablePon = 0x01;
    public const byte EnableAen = 0x02;
    public const byte StatusAvalid = 0x01;

    public const byte IdTcs34725 = 0x44;
    public const byte IdTcs34727 = 0x4D;

    /// <summary>One integration cycle: 2.4 ms.</summary>
    public static readonly TimeSpan Cycle = TimeSpan.FromTicks(24_000);

    public static TimeSpan IntegrationTime(byte atime) => TimeSpan.FromTicks((256 - atime) * Cycle.Ticks);

    /// <summary>Full-scale count for an ATIME: min(65535, (256 - ATIME) x 1024).</summary>
    public static int MaxCount(byte atime) => Math.Min(65535, (256 - atime) * 1024);

    public static byte GainCode(int gain) => gain switch
    {
        1 => 0,
        4 => 1,
        16 => 2,
        60 => 3,
        _ => throw new ArgumentOutOfRangeException(nameof(gain), gain, "TCS34725 gain must be 1, 4, 16 or 60"),
    };

    public static int GainFromCode(int code) => (code & 3) switch
    {
        0 => 1,
        1 => 4,
        2 => 16,
        _ => 60,
    };

    public static readonly IReadOnlyList<int> Gains = [1, 4, 16, 60];

    /// <summary>ATIME for an integration time, rounded to whole 2.4 ms cycles (1..256 cycles).</summary>
    public static byte AtimeFor(TimeSpan integration)
    {
        var cycles = (int)Math.Round(integration.Ticks / (double)Cycle.Ticks);
        if (cycles < 1 || cycles > 256)
            throw new ArgumentOutOfRangeException(nameof(integration), integration, "TCS34725 integration time must be 2.4 ms .. 614.4 ms");
        return (byte)(256 - cycles);
    }
}
