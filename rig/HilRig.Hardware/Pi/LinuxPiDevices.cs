using System.Device.Gpio;
using System.Device.Gpio.Drivers;
using System.Device.I2c;
using HilRig.Core.Usb;
using HilRig.Hardware.Usb;

namespace HilRig.Hardware.Pi;

/// <summary>
/// The Pi's real devices: /dev/gpiochipN through libgpiod, /dev/i2c-N through System.Device.I2c, libusb. Each
/// device node is checked first, so a missing interface or permission is one line naming the node and the fix
/// instead of an exception from deep inside a native library.
/// </summary>
public sealed class LinuxPiDevices(string devRoot = "/dev") : IPiDevices
{
    public GpioDriver OpenGpioChip(int chip)
    {
        var node = Path.Combine(devRoot, $"gpiochip{chip}");
        Require(node, "is this a Raspberry Pi with the GPIO interface enabled? (pi.gpioChip in the rig config picks another chip)");
        try
        {
            return new LibGpiodDriver(chip);
        }
        catch (Exception ex) when (ex is DllNotFoundException or TypeInitializationException or EntryPointNotFoundException or PlatformNotSupportedException)
        {
            throw new PiHardwareException($"{node}: libgpiod is not installed or not usable ({ex.Message}); install it with `sudo apt-get install libgpiod2` (scripts/pi/install.sh does)", ex);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            throw new PiHardwareException($"{node}: cannot open ({ex.Message}); add the rig user to group gpio (scripts/pi/install.sh does) and log in again", ex);
        }
    }

    public I2cDevice OpenI2c(int bus, int address)
    {
        var node = Path.Combine(devRoot, $"i2c-{bus}");
        Require(node, "enable I2C (`sudo raspi-config nonint do_i2c 0`, or dtparam=i2c_arm=on in config.txt) and reboot");
        try
        {
            return I2cDevice.Create(new I2cConnectionSettings(bus, address));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or PlatformNotSupportedException)
        {
            throw new PiHardwareException($"{node}: cannot open the chip at 0x{address:x2} ({ex.Message}); add the rig user to group i2c (scripts/pi/install.sh does) and log in again", ex);
        }
    }

    public IUsbBus OpenUsb()
    {
        try
        {
            return LibUsbBus.Open();
        }
        catch (DllNotFoundException ex)
        {
            throw new PiHardwareException($"{LibUsbNative.DefaultLibraryName}: not found ({ex.Message}); install it with `sudo apt-get install libusb-1.0-0`", ex);
        }
        catch (UsbException ex)
        {
            throw new PiHardwareException($"libusb: cannot start ({ex.Message})", ex);
        }
    }

    private static void Require(string node, string hint)
    {
        if (!File.Exists(node))
            throw new PiHardwareException($"{node}: no such device; {hint}");
    }
}
