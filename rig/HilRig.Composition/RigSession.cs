using System.Device.Gpio;
using HilRig.Core.Chips;
using HilRig.Core.Chips.Mcp23017;
using HilRig.Core.Cloud;
using HilRig.Core.Procedures;
using HilRig.Core.Config;
using HilRig.Core.Results;
using HilRig.Core.Slots;
using HilRig.Core.Usb;
using HilRig.Hardware.Pi;
using HilRig.Sim.Rig;

namespace HilRig.Composition;

public sealed record RigSessionOptions
{
    /// <summary>Simulator-only knobs (clock, speed, saved flash state), for the sim backend and a Pi over simulated devices.</summary>
    public SimBackendOptions Simulator { get; init; } = new();

    /// <summary>The Pi backend's devices; null: env HILRIG_PI_DEVICES when set (see <see cref="SimulatedPiDevices"/>), else the real /dev nodes and libusb.</summary>
    public IPiDevices? PiDevices { get; init; }

    /// <summary>Where colour-sensor calibrations are kept per rig and slot (loaded at open, new ones stored); null: none kept.</summary>
    public ResultsStore? CalibrationStore { get; init; }

    /// <summary>
    /// Opens the calibration store when no <see cref="CalibrationStore"/> is given, only once the rig itself has
    /// opened: a rig that cannot open leaves nothing written (no results folder, no database).
    /// </summary>
    public Func<ResultsStore>? OpenCalibrationStore { get; init; }

    /// <summary>
    /// Calibrate, while opening, the colour sensors that have no stored calibration and whose slot is powered off
    /// (a relay that opening found off: its Core is dark). `hilrig led calibrate` turns this off and calibrates on demand.
    /// </summary>
    public bool CalibrateAtOpen { get; init; } = true;

    /// <summary>
    /// Watch every slot's LED for the session's life (default). Sampling costs simulator CPU per virtual second
    /// (about 333 sensor reads for 8 slots); long virtual-time soaks that do not look at the LED may turn it off,
    /// and their slots have no <see cref="RigSlot.Led"/>.
    /// </summary>
    public bool ObserveLeds { get; init; } = true;

    /// <summary>Wall clock for stored calibration times.</summary>
    public TimeProvider WallClock { get; init; } = TimeProvider.System;
}

/// <summary>A configured backend this build cannot drive, or a device source that is not valid (bad input).</summary>
public sealed class BackendUnavailableException(string message) : Exception(message)
{
    public BackendUnavailableException() : this("backend unavailable") { }

    public BackendUnavailableException(string message, Exception inner) : this(message + ": " + inner.Message) { }
}

/// <summary>
/// The one composition step: a backend supplies devices (the simulator's models, or what the Pi opened), and this
/// builds the same rig on them for both: slots with their controls (header lines and MCP23017 expanders), hub power,
/// LED observation with stored calibrations, identity over the listening-mode serial, and the clock procedures
/// run on. Procedures get Core types only; the entry points (CLI, fixtures) use this.
/// </summary>
public sealed class RigSession : IDisposable
{
    private readonly List<GpioController> _controllers = [];
    private readonly RigDevices _devices;

    private RigSession(RigConfig config, RigDevices devices)
    {
        Config = config;
        _devices = devices;
        I2c = new DevicesI2c(devices);
    }

    /// <summary>The rig's I2C buses, for diagnostics (hilrig doctor) and drivers built on them.</summary>
    public IRigI2c I2c { get; }

    public RigConfig Config { get; }

    public TimeProvider Time => _devices.Time;

    public IUsbBus Usb => _devices.Usb;

    /// <summary>
    /// The simulator behind this session's devices, for fault injection and inspection by the CLI's sim commands and
    /// the tests; null on real hardware. Not public: fixtures and suites see the rig only as devices.
    /// </summary>
    internal SimRig? Sim => _devices.Simulator;

    public IReadOnlyList<RigSlot> Slots { get; private set; } = [];

    /// <summary>The rig's LED observation (one sampler for all slots); each slot's <see cref="RigSlot.Led"/> is its view of it.</summary>
    public RigLed? Led { get; private set; }

    /// <summary>Where this session keeps colour-sensor calibrations (the options' store, opened once the rig opened); null: none kept.</summary>
    public ResultsStore? CalibrationStore { get; private set; }

    /// <summary>
    /// The cloud the Cores connect to: the simulator's own on simulated devices; on a Pi the Particle REST API of
    /// the config's <c>cloud:</c> section, or null when none is configured.
    /// </summary>
    public ICloud? Cloud => _devices.Cloud;

    /// <summary>What a run records about this rig (rig id, backend, software version; the seed only on the simulator).</summary>
    public RunFacts RunFacts => _devices.Facts;

    /// <summary>What the life procedures (identify, factory reset, OTA) need of this rig.</summary>
    public CoreLifeContext Life => new(Usb, Time, Cloud);

    /// <exception cref="PiHardwareException">A device the config needs is missing (one line naming it and the fix).</exception>
    /// <exception cref="RigDeviceException">A chip the wiring names does not answer.</exception>
    public static RigSession Open(RigConfig config, RigSessionOptions? options = null)
    {
        options ??= new RigSessionOptions();
        var devices = config.Backend == RigBackend.Pi ? PiBackend.Open(config, options) : SimBackend.Open(config, options.Simulator);
        var session = new RigSession(config, devices);
        try
        {
            // Opening lines writes to the hardware, which on the simulator lives on the simulation thread.
            devices.Run(() => session.ComposeAsync(options)).GetAwaiter().GetResult();
        }
        catch
        {
            session.Dispose();
            throw;
        }
        return session;
    }

    private async Task ComposeAsync(RigSessionOptions options)
    {
        var controls = BuildControls();
        RigLed? led = null;
        if (options.ObserveLeds)
        {
            led = RigLed.Build(Config, _devices.I2cBus, Time, options.WallClock);
            CalibrationStore = options.CalibrationStore ?? options.OpenCalibrationStore?.Invoke();
            // only a slot whose relay opening found off is known dark; a powered one waits for `hilrig led calibrate`
            var dark = controls.Where(c => !c.Value.PowerOn).Select(c => c.Key).ToHashSet();
            await led.StartAsync(CalibrationStore, options.CalibrateAtOpen, dark.Contains);
            Led = led;
        }
        Slots = BuildSlots(controls, led);
        led?.Run(_devices.SamplingPacing);
        // faults on purpose (sim.faults) hit the procedures, not the rig's own opening and calibration
        if (_devices.Simulator is { } sim) sim.Faults.Armed = true;
    }

    /// <summary>Runs procedure code on the rig's clock (the simulation thread on simulated devices).</summary>
    public Task<T> RunAsync<T>(Func<Task<T>> work)
    {
        if (_devices.Simulator is { } sim) return sim.Scheduler.RunAsync(work);
        return work();
    }

    public Task RunAsync(Func<Task> work) => _devices.Run(work);

    public IReadOnlyList<RigSlot> Select(string? spec)
    {
        var numbers = SlotSelection.Parse(spec, Slots.Select(s => s.Number).ToList());
        return [.. Slots.Where(s => numbers.Contains(s.Number))];
    }

    public RigSlot Slot(int number) => Slots.FirstOrDefault(s => s.Number == number)
        ?? throw new FormatException($"--slot: slot {number} is not on this rig; valid: {string.Join(",", Slots.Select(s => s.Number))}");

    /// <summary>Each slot's power, MODE and RESET lines, on the header or on an MCP23017 (each expander opened once).</summary>
    private SortedDictionary<int, GpioSlotControl> BuildControls()
    {
        GpioController? header = _devices.Header is { } driver ? Track(new GpioController(driver)) : null;
        var expanders = new Dictionary<int, GpioController>();
        foreach (var address in Config.Slots.SelectMany(s => new[] { s.Power, s.Mode, s.Reset }).OfType<ExpanderLine>().Select(l => l.Address).Distinct().Order())
        {
            Mcp23017 chip;
            try
            {
                chip = new Mcp23017(_devices.I2cBus(null).CreateDevice(address));
            }
            catch (IOException ex)
            {
                var bus = _devices.DescribeI2c(null);
                throw new RigDeviceException($"{bus}: no MCP23017 answers at 0x{address:x2} ({ex.Message}); check its power, wiring and address pins (`i2cdetect -y {Config.Pi.I2cBus}`), or run `hilrig doctor`", ex);
            }
            expanders[address] = Track(new GpioController(chip));
        }
        SlotLine Line(ControlLine line, string role, int slot) => line switch
        {
            GpioLine g => new SlotLine(header!, g.Gpio, g.ActiveLow, $"slot {slot} {role} ({line.Describe()})"),
            ExpanderLine e => new SlotLine(expanders[e.Address], e.Pin, e.ActiveLow, $"slot {slot} {role} ({line.Describe()})"),
            _ => throw new ArgumentOutOfRangeException(nameof(line), line, "unknown control line"),
        };
        var controls = new SortedDictionary<int, GpioSlotControl>();
        foreach (var slot in Config.Slots)
            controls[slot.Number] = new GpioSlotControl(Line(slot.Power, "power", slot.Number), Line(slot.Mode, "mode", slot.Number), Line(slot.Reset, "reset", slot.Number));
        return controls;
    }

    private List<RigSlot> BuildSlots(SortedDictionary<int, GpioSlotControl> controls, RigLed? led)
    {
        var slots = new List<RigSlot>();
        foreach (var slot in Config.Slots.OrderBy(s => s.Number))
        {
            // the device id comes over the listening-mode serial `i` dialogue, as spark-cli identify reads it
            RigSlot? rigSlot = null;
            var identity = new SerialIdentity(Life, () => rigSlot!);
            rigSlot = new RigSlot(slot.Number, slot.Usb.DevicePath, controls[slot.Number], identity, _devices.Lot(slot.Number),
                led is null ? null : new SamplerSlotLed(led.Sampler, slot.Number), _devices.Serial(slot));
            slots.Add(rigSlot);
        }
        return slots;
    }

    private GpioController Track(GpioController controller)
    {
        _controllers.Add(controller);
        return controller;
    }

    public void Dispose()
    {
        if (Led is { } led)
        {
            try
            {
                _devices.Run(() =>
                {
                    led.Stop();
                    return Task.CompletedTask;
                }).GetAwaiter().GetResult();
            }
            catch (InvalidOperationException)
            {
                // a simulation that failed has nothing left to stop
            }
        }
        _devices.Stop();
        foreach (var c in _controllers) c.Dispose();
        _devices.Release();
    }

    private sealed class DevicesI2c(RigDevices devices) : IRigI2c
    {
        public System.Device.I2c.I2cDevice Open(int address, int? busNumber = null) => devices.I2cBus(busNumber).CreateDevice(address);

        public string Describe(int? busNumber = null) => devices.DescribeI2c(busNumber);
    }
}
