using System.Device.I2c;

namespace HilRig.Core.Chips;

/// <summary>
/// The rig's I2C buses as the chip drivers see them: the Pi's /dev/i2c-N through System.Device.I2c, or the
/// simulator's bus. Diagnostics open chips through this; procedures get drivers built on it.
/// </summary>
public interface IRigI2c
{
    /// <summary>The chip at <paramref name="address"/> on <paramref name="bus"/> (null: the rig's default bus).</summary>
    I2cDevice Open(int address, int? bus = null);

    /// <summary>How a bus is named in messages, e.g. "/dev/i2c-1".</summary>
    string Describe(int? bus = null);
}
