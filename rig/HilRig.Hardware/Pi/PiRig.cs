using System.Device.Gpio;
using System.Device.I2c;
using HilRig.Core.Chips;
using HilRig.Core.Chips.Mcp23017;
using HilRig.Core.Config;
using HilRig.Core.Slots;
using HilRig.Core.Usb;

namespace HilRig.Hardware.Pi;

/// <summary>
/// A rig device is missing or refused: the GPIO chip, an I2C bus, libusb. The message is one line naming the
/// device and what to do; the CLI prints it and exits with the rig-fault code.
/// </summary>
public sealed class PiHardwareException : IOException
{
    public PiHardwareException(string message) : base(message) { }

    public PiHardwareException(string message, Exception inner) : base(message, inner) { }

    public PiHardwareException() : this("rig hardware missing") { }
}

/// <summary>Where the Pi backend gets its devices; the real ones are <see cref="LinuxPiDevices"/>, tests pass fakes.</summary>
public interface IPiDevices
{
    /// <summary>The GPIO driver of /dev/gpiochip<paramref name="chip"/> (the Pi header).</summary>
    GpioDriver OpenGpioChip(int chip);

    /// <summary>The chip at <paramref name="address"/> on /dev/i2c-<paramref name="bus"/>.</summary>
    I2cDevice OpenI2c(int bus, int address);

    IUsbBus OpenUsb();
}

/// <summary>
/// The Raspberry Pi backend: opens the real devices a rig config names and hands them to Core: header lines through
/// a GpioController on the libgpiod driver, MCP23017 expanders as GpioDrivers on /dev/i2c-N, USB through our libusb
/// binding, the system clock. It opens only what the config uses; the first thing missing stops it with one line.
/// </summary>
public sealed class PiRig : IDisposable
{
    private readonly List<IDisposable> _owned = [];

    private PiRig(RigConfig config, IPiDevices devices)
    {
        Config = config;
        I2c = new PiI2c(devices, config.Pi.I2cBus);
    }

    public RigConfig Config { get; }

    public TimeProvider Time => TimeProvider.System;

    public IUsbBus Usb { get; private set; } = null!;

    public IRigI2c I2c { get; }

    public IReadOnlyList<RigSlot> Slots { get; private set; } = [];

    /// <summary>What was opened, in order ("/dev/gpiochip0", "/dev/i2c-1 0x20", "libusb"): for diagnostics and tests.</summary>
    public IReadOnlyList<string> Opened => _opened;

    private readonly List<string> _opened = [];

    /// <exception cref="PiHardwareException">A device is missing or refused access (one line, with the fix).</exception>
    public static PiRig Open(RigConfig config, IPiDevices devices, Func<SlotConfig, IDeviceIdentifier> identity)
    {
        var rig = new PiRig(config, devices);
        try
        {
            rig.Build(devices, identity);
        }
        catch
        {
            rig.Dispose();
            throw;
        }
        return rig;
    }

    private void Build(IPiDevices devices, Func<SlotConfig, IDeviceIdentifier> identity)
    {
        var lines = Config.Slots.SelectMany(s => new[] { s.Power, s.Mode, s.Reset }).ToList();
        GpioController? header = null;
        if (lines.OfType<GpioLine>().Any())
        {
            header = Own(new GpioController(devices.OpenGpioChip(Config.Pi.GpioChip)));
            _opened.Add($"/dev/gpiochip{Config.Pi.GpioChip}");
        }

        var expanders = new Dictionary<int, GpioController>();
        foreach (var address in lines.OfType<ExpanderLine>().Select(l => l.Address).Distinct().Order())
        {
            var device = Own(devices.OpenI2c(Config.Pi.I2cBus, address));
            Mcp23017 driver;
            try
            {
                driver = new Mcp23017(device);
            }
            catch (IOException ex)
            {
                throw new PiHardwareException($"/dev/i2c-{Config.Pi.I2cBus}: no MCP23017 answers at 0x{address:x2} ({ex.Message}); check its power, wiring and address pins (`i2cdetect -y {Config.Pi.I2cBus}`), or run `hilrig doctor`", ex);
            }
            expanders[address] = Own(new GpioController(driver));
            _opened.Add($"/dev/i2c-{Config.Pi.I2cBus} 0x{address:x2}");
        }

        Usb = devices.OpenUsb();
        if (Usb is IDisposable usb) _owned.Add(usb);
        _opened.Add("libusb");

        SlotLine Line(ControlLine line, string role, int slot) => line switch
        {
            GpioLine g => new SlotLine(header!, g.Gpio, g.ActiveLow, $"slot {slot} {role} ({line.Describe()})"),
            ExpanderLine e => new SlotLine(expanders[e.Address], e.Pin, e.ActiveLow, $"slot {slot} {role} ({line.Describe()})"),
            _ => throw new ArgumentOutOfRangeException(nameof(line), line, "unknown control line"),
        };
        Slots = [.. Config.Slots.OrderBy(s => s.Number).Select(s => new RigSlot(
            s.Number, s.Usb.DevicePath,
            new GpioSlotControl(Line(s.Power, "power", s.Number), Line(s.Mode, "mode", s.Number), Line(s.Reset, "reset", s.Number)),
            identity(s), Lot: null, Serial: new Serial.SysfsSlotSerial(s.Usb.DevicePath, Time)))];
    }

    private T Own<T>(T disposable) where T : IDisposable
    {
        _owned.Add(disposable);
        return disposable;
    }

    public void Dispose()
    {
        // Controllers before the devices under them.
        for (var i = _owned.Count - 1; i >= 0; i--) _owned[i].Dispose();
        _owned.Clear();
    }

    private sealed class PiI2c(IPiDevices devices, int defaultBus) : IRigI2c
    {
        public I2cDevice Open(int address, int? bus = null) => devices.OpenI2c(bus ?? defaultBus, address);

        public string Describe(int? bus = null) => $"/dev/i2c-{bus ?? defaultBus}";
    }
}
