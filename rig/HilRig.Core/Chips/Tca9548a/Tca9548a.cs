using System.Device.I2c;

namespace HilRig.Core.Chips.Tca9548a;

/// <summary>
/// TCA9548A 8-channel I2C switch: one control register, bit n connects channel n. Only one channel is ever
/// selected here, because every TCS34725 answers at 0x29.
/// </summary>
public sealed class Tca9548a
{
    public const int BaseAddress = 0x70;
    public const int ChannelCount = 8;

    private readonly I2cDevice _device;

    public Tca9548a(I2cDevice device, string name)
    {
        _device = device;
        Name = name;
    }

    public string Name { get; }

    /// <summary>The last channel selected, or null when all are disconnected or a select failed (the channel is then not known).</summary>
    public int? Selected { get; private set; }

    /// <summary>Connects exactly one channel (writes 1 &lt;&lt; channel) and reads the register back.</summary>
    public void Select(int channel)
    {
        if (channel is < 0 or >= ChannelCount)
            throw new ArgumentOutOfRangeException(nameof(channel), channel, "TCA9548A channel must be 0..7");
        // a write that went through and whose read back then failed has switched the channel all the same: until a
        // select succeeds the channel is not known, so the next one is written again rather than taken as selected
        // (a reading of the wrong slot's sensor)
        Selected = null;
        WriteControl((byte)(1 << channel));
        Selected = channel;
    }

    /// <summary>Disconnects every channel (0x00), so another mux's channel with the same sensor address can be used.</summary>
    public void DeselectAll()
    {
        WriteControl(0);
        Selected = null;
    }

    public byte ReadControl()
    {
        try
        {
            return _device.ReadByte();
        }
        catch (IOException ex)
        {
            throw new SensorException(Name, $"I2C mux did not answer a read (NACK or bus error: {ex.Message})", ex);
        }
    }

    private void WriteControl(byte value)
    {
        try
        {
            _device.WriteByte(value);
        }
        catch (IOException ex)
        {
            throw new SensorException(Name, $"I2C mux did not answer a write of 0x{value:X2} (NACK or bus error: {ex.Message})", ex);
        }
        var readBack = ReadControl();
        if (readBack != value)
            throw new SensorException(Name, $"I2C mux control register reads 0x{readBack:X2} after writing 0x{value:X2}");
    }
}
