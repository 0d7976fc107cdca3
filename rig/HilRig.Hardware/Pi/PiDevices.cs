using System.Device.Gpio;
using System.Device.I2c;
using HilRig.Core.Serial;
using HilRig.Core.Slots;
using HilRig.Core.Usb;

namespace HilRig.Hardware.Pi;

/// <summary>A Pi device is missing or refused: the GPIO chip, an I2C bus, libusb (one line naming it and the fix).</summary>
public sealed class PiHardwareException : RigDeviceException
{
    public PiHardwareException(string message) : base(message) { }

    public PiHardwareException(string message, Exception inner) : base(message, inner) { }

    public PiHardwareException() : this("rig hardware missing") { }
}

/// <summary>
/// What the Pi backend supplies to the rig's composition: devices only. Slots, controls, LED observation and
/// procedures are built from them by the same composition as the simulator's. The real ones are
/// <see cref="LinuxPiDevices"/>; tests hand it the simulator's chip models behind fake device nodes.
/// </summary>
public interface IPiDevices
{
    /// <summary>The GPIO driver of /dev/gpiochip<paramref name="chip"/> (the Pi header).</summary>
    GpioDriver OpenGpioChip(int chip);

    /// <summary>The I2C bus /dev/i2c-<paramref name="bus"/> (MCP23017 expanders, TCA9548A muxes, TCS34725 sensors).</summary>
    I2cBus OpenI2cBus(int bus);

    IUsbBus OpenUsb();

    /// <summary>A slot's listening-mode serial port, looked up by the slot's USB path on every open.</summary>
    ISlotSerial SlotSerial(string usbPath);

    /// <summary>The clock the rig runs on (the system clock on a Pi).</summary>
    TimeProvider Time { get; }
}
