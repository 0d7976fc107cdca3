namespace HilRig.Core.Chips;

/// <summary>
/// A rig instrument (colour sensor, I2C mux) did not answer as it should: a NACK, a wrong chip ID, a stuck bus.
/// This is a rig fault and must never become a verdict on the device under test.
/// </summary>
public sealed class SensorException : Exception
{
    public SensorException(string slot, string message, Exception? inner = null)
        : base($"{slot}: {message}", inner)
    {
        Slot = slot;
    }

    public SensorException() : this("unknown slot", "sensor error") { }

    public SensorException(string message) : this("unknown slot", message) { }

    public SensorException(string message, Exception inner) : this("unknown slot", message, inner) { }

    /// <summary>Where the instrument sits, e.g. "slot 3" or "mux 0x70".</summary>
    public string Slot { get; }
}

/// <summary>I2C timing at a given bus clock, so samplers can account bus time in device time.</summary>
public static class I2cTiming
{
    public const int FastModeHz = 400_000;

    /// <summary>
    /// START + address byte + data bytes (9 clocks each with ACK) + STOP; a read after a write adds a repeated
    /// START and a second address byte.
    /// </summary>
    public static TimeSpan Transaction(int writeBytes, int readBytes, int clockHz = FastModeHz)
    {
        long bits = 2; // START and STOP
        if (writeBytes > 0) bits += 9 + 9L * writeBytes;
        if (readBytes > 0) bits += (writeBytes > 0 ? 1 : 0) + 9 + 9L * readBytes;
        return TimeSpan.FromTicks(bits * TimeSpan.TicksPerSecond / clockHz);
    }
}
