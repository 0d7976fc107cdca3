using System.Device.Gpio;
using System.Device.Gpio.Drivers;
using System.Device.I2c;
using HilRig.Core.Serial;
using HilRig.Core.Usb;
using HilRig.Hardware.Serial;
using HilRig.Hardware.Usb;

namespace HilRig.Hardware.Pi;

/// <summary>
/// How a device node becomes a driver, once <see cref="LinuxPiDevices"/> has found the node: libgpiod, the kernel's
/// i2c-dev, libusb, a tty through System.IO.Ports. The lowest seam there is: a test (or `HILRIG_PI_DEVICES=sim`)
/// puts the simulator's chip models here, and everything above (node checks, sysfs lookups, the composition) is the
/// Pi's own code.
/// </summary>
public sealed record PiDeviceOpeners
{
    public Func<int, GpioDriver> GpioChip { get; init; } = chip => new LibGpiodDriver(chip);

    public Func<int, I2cBus> I2cBus { get; init; } = bus => new I2cDevNodeBus(bus);

    public Func<IUsbBus> Usb { get; init; } = () => LibUsbBus.Open();

    /// <summary>Opens a tty (e.g. /dev/ttyACM0) at 9600 8N1; throws UsbException(NoDevice) when it is gone.</summary>
    public Func<string, TimeProvider, ISerialLink> SerialPort { get; init; } = (tty, time) => new SerialPortLink(tty, time);

    public static PiDeviceOpeners Real { get; } = new();
}

/// <summary>
/// The Pi's devices: /dev/gpiochipN through libgpiod, /dev/i2c-N through System.Device.I2c, libusb, the Cores'
/// ttyACM ports found through sysfs by USB path. Each device node is checked first, so a missing interface or
/// permission is one line naming the node and the fix instead of an exception from deep inside a native library.
/// </summary>
public sealed class LinuxPiDevices(string devRoot = "/dev", string sysfsRoot = SysfsSerialPorts.DefaultSysfsRoot, PiDeviceOpeners? openers = null, TimeProvider? time = null) : IPiDevices
{
    private readonly PiDeviceOpeners _open = openers ?? PiDeviceOpeners.Real;

    public TimeProvider Time { get; } = time ?? TimeProvider.System;

    public GpioDriver OpenGpioChip(int chip)
    {
        var node = Path.Combine(devRoot, $"gpiochip{chip}");
        Require(node, "is this a Raspberry Pi with the GPIO interface enabled? (pi.gpioChip in the rig config picks another chip)");
        try
        {
            return _open.GpioChip(chip);
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

    public I2cBus OpenI2cBus(int bus)
    {
        var node = Path.Combine(devRoot, $"i2c-{bus}");
        Require(node, "enable I2C (`sudo raspi-config nonint do_i2c 0`, or dtparam=i2c_arm=on in config.txt) and reboot");
        try
        {
            return _open.I2cBus(bus);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or PlatformNotSupportedException)
        {
            throw new PiHardwareException($"{node}: cannot open ({ex.Message}); add the rig user to group i2c (scripts/pi/install.sh does) and log in again", ex);
        }
    }

    public IUsbBus OpenUsb()
    {
        try
        {
            return _open.Usb();
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

    public ISlotSerial SlotSerial(string usbPath) => new SysfsSlotSerial(usbPath, Time, sysfsRoot, devRoot, _open.SerialPort);

    private static void Require(string node, string hint)
    {
        if (!File.Exists(node))
            throw new PiHardwareException($"{node}: no such device; {hint}");
    }
}

/// <summary>
/// /dev/i2c-N as an <see cref="I2cBus"/> whose chips are each opened through the kernel's i2c-dev node: unlike the
/// library's own bus it lets two drivers share an address (the LED sampler and `hilrig doctor` both talk to a mux).
/// </summary>
public sealed class I2cDevNodeBus(int bus) : I2cBus
{
    public override I2cDevice CreateDevice(int deviceAddress) => I2cDevice.Create(new I2cConnectionSettings(bus, deviceAddress));

    public override void RemoveDevice(int deviceAddress)
    {
        // each device owns its file handle and closes it on Dispose
    }
}
