namespace HilRig.Core.Slots;

/// <summary>
/// A rig device is missing, refused or does not answer (a GPIO chip, an I2C bus or chip, the USB library). The message
/// is one line naming the device and what to do; entry points print it and exit with the rig-fault code.
/// </summary>
public class RigDeviceException : IOException
{
    public RigDeviceException(string message) : base(message) { }

    public RigDeviceException(string message, Exception inner) : base(message, inner) { }

    public RigDeviceException() : this("rig device missing") { }
}
