using System.Device.I2c;
using HilRig.Core.Config;
using HilRig.Core.Serial;
using HilRig.Core.Spark;
using HilRig.Core.Usb;
using HilRig.Hardware.Pi;
using HilRig.Sim.Rig;

namespace HilRig.Composition;

/// <summary>
/// The Pi backend's own code over the simulator's chip models: a fake /dev (gpiochipN, i2c-N, ttyACMn nodes) and a
/// fake sysfs tree (bus/usb/devices/&lt;path&gt;:1.0/tty/ttyACMn, kept in step with the simulated USB bus) in a temp
/// folder, and <see cref="LinuxPiDevices"/> with openers that hand out the simulator's GPIO driver, I2C bus and
/// serial ports where libgpiod, i2c-dev and System.IO.Ports would. USB goes through the Pi's own libusb binding,
/// loaded on the HilRig libusb shim and served the simulated bus on a socket (<see cref="ShimUsb"/>). Node checks,
/// the tty lookup by USB path, the libusb binding and the whole composition are the Pi's. The clock is the simulator's, so a run is as deterministic as on
/// backend: sim. Selected by env <see cref="Variable"/> = <c>sim</c> (the Cores of the config's own sim: section) or
/// <c>sim:FILE</c> (the sim: section of another rig config).
/// </summary>
public sealed class SimulatedPiDevices : IPiDevices, IDisposable
{
    public const string Variable = "HILRIG_PI_DEVICES";

    private readonly LinuxPiDevices _pi;
    private readonly string _dev;
    private readonly string _sysDevices;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, string> _ttyOfPath = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _pathOfTty = new(StringComparer.Ordinal);

    public SimulatedPiDevices(RigConfig config, SimBackendOptions? options = null)
    {
        options ??= new SimBackendOptions();
        Sim = SimRig.Build(config, options.Clock, options.Speed);
        Root = Directory.CreateTempSubdirectory("hilrig-pi-devices-").FullName;
        _dev = Directory.CreateDirectory(Path.Combine(Root, "dev")).FullName;
        var sys = Path.Combine(Root, "sys");
        _sysDevices = Directory.CreateDirectory(Path.Combine(sys, "bus", "usb", "devices")).FullName;
        File.WriteAllBytes(Path.Combine(_dev, $"gpiochip{config.Pi.GpioChip}"), []);
        foreach (var bus in config.Slots.Select(s => s.Sensor.I2cBus ?? config.Pi.I2cBus).Append(config.Pi.I2cBus).Distinct())
            File.WriteAllBytes(Path.Combine(_dev, $"i2c-{bus}"), []);
        try
        {
            _usb = new ShimUsb(Sim, Root);
        }
        catch
        {
            Sim.Dispose();
            Directory.Delete(Root, recursive: true);
            throw;
        }
        Sim.Usb.Changed += OnUsbChanged;
        _pi = new LinuxPiDevices(_dev, sys, new PiDeviceOpeners
        {
            GpioChip = _ => Sim.Gpio,
            I2cBus = _ => new SharedI2cBus(Sim.I2c),
            Usb = _usb.Open,
            SerialPort = OpenTty,
        }, Sim.Time);
    }

    private readonly ShimUsb _usb;

    /// <summary>Where the simulated USB bus is served for the shim (the Pi's libusb talks to it).</summary>
    public string UsbSocket => _usb.SocketPath;

    /// <summary>The simulated rig behind the fake device nodes (fault injection and inspection in tests).</summary>
    internal SimRig Sim { get; }

    /// <summary>The temp folder holding the fake dev/ and sys/ trees.</summary>
    public string Root { get; }

    public TimeProvider Time => _pi.Time;

    /// <summary>The devices <see cref="Variable"/> asks for; null when it is not set (real devices).</summary>
    /// <exception cref="BackendUnavailableException">The variable holds something else (one line naming the valid values).</exception>
    public static SimulatedPiDevices? FromEnvironment(RigConfig config, SimBackendOptions? options = null)
    {
        var value = Environment.GetEnvironmentVariable(Variable);
        if (string.IsNullOrWhiteSpace(value)) return null;
        if (value == "sim") return new SimulatedPiDevices(config, options);
        if (value.StartsWith("sim:", StringComparison.Ordinal))
        {
            var file = value["sim:".Length..];
            RigConfig other;
            try
            {
                other = RigConfigLoader.Load(file);
            }
            catch (Exception ex) when (ex is ConfigException or IOException)
            {
                throw new BackendUnavailableException($"{Variable}={value}: {ex.Message}");
            }
            return new SimulatedPiDevices(config with { Sim = other.Sim }, options);
        }
        throw new BackendUnavailableException($"{Variable}={value}: valid: sim (the config's own sim: section) or sim:<rig-config.yaml> (another config's sim: section); unset for the real devices");
    }

    public global::System.Device.Gpio.GpioDriver OpenGpioChip(int chip) => _pi.OpenGpioChip(chip);

    public I2cBus OpenI2cBus(int bus) => _pi.OpenI2cBus(bus);

    public IUsbBus OpenUsb() => _pi.OpenUsb();

    public ISlotSerial SlotSerial(string usbPath) => _pi.SlotSerial(usbPath);

    /// <summary>Where /dev/ttyACMn leads: the serial port of the Core at that USB path, while it is enumerated.</summary>
    private ISerialLink OpenTty(string tty, TimeProvider time)
    {
        string? path;
        lock (_gate) { _pathOfTty.TryGetValue(Path.GetFileName(tty), out path); }
        var core = path is null ? null : Sim.Slots.FirstOrDefault(s => s.Config.Usb.DevicePath == path)?.Core;
        if (core?.SerialPort is not { Open: true } port) throw new UsbException(UsbError.NoDevice, $"{tty}: no such device");
        return port.OpenHost();
    }

    /// <summary>The kernel's part: a CDC ACM device at a path gets the lowest free ttyACM number while it is there.</summary>
    private void OnUsbChanged(string path, bool present)
    {
        var serial = present && Sim.Usb.FunctionAt(path)?.DeviceDescriptor.ProductId == SparkUsb.SerialProductId;
        lock (_gate)
        {
            if (serial && !_ttyOfPath.ContainsKey(path))
            {
                var n = 0;
                while (_pathOfTty.ContainsKey($"ttyACM{n}")) n++;
                var tty = $"ttyACM{n}";
                _ttyOfPath[path] = tty;
                _pathOfTty[tty] = path;
                Directory.CreateDirectory(Path.Combine(_sysDevices, path + ":1.0", "tty", tty));
                File.WriteAllBytes(Path.Combine(_dev, tty), []);
            }
            else if (!serial && _ttyOfPath.Remove(path, out var gone))
            {
                _pathOfTty.Remove(gone);
                Directory.Delete(Path.Combine(_sysDevices, path + ":1.0"), recursive: true);
                File.Delete(Path.Combine(_dev, gone));
            }
        }
    }

    private bool _stopped;

    internal void StopClock()
    {
        if (_stopped) return;
        _stopped = true;
        // libusb and its socket close while the simulation can still answer them
        _usb.Dispose();
        Sim.Dispose();
    }

    public void Dispose()
    {
        Sim.Usb.Changed -= OnUsbChanged;
        StopClock();
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // a temp folder left behind is harmless
        }
    }

    /// <summary>The one simulated bus handed out per /dev/i2c-N; closing a handle must not take the bus down.</summary>
    private sealed class SharedI2cBus(I2cBus bus) : I2cBus
    {
        public override I2cDevice CreateDevice(int deviceAddress) => bus.CreateDevice(deviceAddress);

        public override void RemoveDevice(int deviceAddress) => bus.RemoveDevice(deviceAddress);
    }
}
