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
using HilRig.Sim.Time;

namespace HilRig.Composition;

public sealed record RigSessionOptions
{
    /// <summary>Simulator clock: virtual (default) or real time with a speed factor, for real tools.</summary>
    public ClockMode SimClock { get; init; } = ClockMode.Virtual;

    public double SimSpeed { get; init; } = 1.0;

    /// <summary>Where the simulated Cores' flash is kept between sessions; null: factory-fresh Cores every time.</summary>
    public string? SimStateDirectory { get; init; }

    /// <summary>The Pi backend's devices; null: the real /dev nodes and libusb.</summary>
    public IPiDevices? PiDevices { get; init; }
    /// <summary>Where colour-sensor calibrations are kept per rig and slot (loaded at open, new ones stored); null: none kept.</summary>
    public ResultsStore? CalibrationStore { get; init; }

    /// <summary>
    /// Opens the calibration store when no <see cref="CalibrationStore"/> is given, only once the rig itself has
    /// opened: a rig that cannot open leaves nothing written (no results folder, no database).
    /// </summary>
    public Func<ResultsStore>? OpenCalibrationStore { get; init; }

    /// <summary>
    /// Calibrate the colour sensors that have no stored calibration while opening (simulator only, whose Cores are
    /// powered off at open). `hilrig led calibrate` turns this off and calibrates on demand.
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

/// <summary>A configured backend this build cannot drive (kept for entry points that still catch it; the Pi backend reports missing devices as PiHardwareException).</summary>
public sealed class BackendUnavailableException(string message) : Exception(message)
{
    public BackendUnavailableException() : this("backend unavailable") { }

    public BackendUnavailableException(string message, Exception inner) : this(message + ": " + inner.Message) { }
}

/// <summary>
/// The one composition step: a validated rig config becomes a rig with slots and instruments, on the simulator
/// or on the Pi (backend: pi, devices opened by HilRig.Hardware's PiRig). Procedures get Core types only; the entry points (CLI, fixtures) use this.
/// </summary>
public sealed class RigSession : IDisposable
{
    private readonly List<GpioController> _controllers = [];
    private string? _stateDirectory;

    private PiRig? _pi;

    /// <summary>The Pi backend's cloud: the REST API the config (or HILRIG_CLOUD_URL/HILRIG_CLOUD_TOKEN) names.</summary>
    private HilRig.Hardware.Cloud.ParticleCloudClient? _cloudClient;

    private RigSession(RigConfig config, TimeProvider time, IUsbBus usb, SimRig? sim, IRigI2c i2c)
    {
        Config = config;
        Time = time;
        Usb = usb;
        Sim = sim;
        I2c = i2c;
    }

    /// <summary>The rig's I2C buses, for diagnostics (hilrig doctor) and drivers built on them.</summary>
    public IRigI2c I2c { get; }

    public RigConfig Config { get; }

    public TimeProvider Time { get; }

    public IUsbBus Usb { get; }

    /// <summary>The simulated rig behind this session, for fault injection and inspection; null on real hardware.</summary>
    public SimRig? Sim { get; }

    public IReadOnlyList<RigSlot> Slots { get; private set; } = [];

    /// <summary>The rig's LED observation (one sampler for all slots); each slot's <see cref="RigSlot.Led"/> is its view of it.</summary>
    public RigLed? Led { get; private set; }

    /// <summary>Where this session keeps colour-sensor calibrations (the options' store, opened once the rig opened); null: none kept.</summary>
    public ResultsStore? CalibrationStore { get; private set; }

    /// <summary>
    /// The cloud the Cores connect to: the simulator's own on backend: sim; on backend: pi the Particle REST API of
    /// the config's <c>cloud:</c> section, or null when none is configured.
    /// </summary>
    public ICloud? Cloud => Sim is { } sim ? sim.Cloud : _cloudClient;

    /// <summary>What the life procedures (identify, factory reset, OTA) need of this rig.</summary>
    public CoreLifeContext Life => new(Usb, Time, Cloud);

    public static RigSession Open(RigConfig config, RigSessionOptions? options = null)
    {
        options ??= new RigSessionOptions();
        if (config.Backend == RigBackend.Pi) return OpenPi(config, options);
        var sim = SimRig.Build(config, options.SimClock, options.SimSpeed);
        if (options.SimStateDirectory is { } stateDir) SimRigState.Load(sim, stateDir);
        var session = new RigSession(config, sim.Time, sim.Usb, sim, new SimRigI2c(sim.I2c)) { _stateDirectory = options.SimStateDirectory };
        try
        {
            // Opening lines writes to (simulated) hardware, which lives on the simulation thread.
            sim.Scheduler.Run(async () =>
            {
                if (!options.ObserveLeds)
                {
                    session.Slots = session.BuildSlots(sim, null);
                    return;
                }
                var led = RigLed.Build(config, _ => sim.I2c, sim.Time, options.WallClock);
                session.CalibrationStore = options.CalibrationStore ?? options.OpenCalibrationStore?.Invoke();
                await led.StartAsync(session.CalibrationStore, options.CalibrateAtOpen);
                session.Led = led;
                session.Slots = session.BuildSlots(sim, led);
                // sampling lives on the simulation thread on the clock's background view: it never keeps an idle rig busy
                led.Run(sim.Scheduler.Time.Background);
            });
        }
        catch
        {
            session.Dispose();
            throw;
        }
        return session;
    }

    /// <exception cref="PiHardwareException">A device the config needs is missing (one line naming it and the fix).</exception>
    private static RigSession OpenPi(RigConfig config, RigSessionOptions options)
    {
        var pi = PiRig.Open(config, options.PiDevices ?? new LinuxPiDevices(), slot => new HilRig.Hardware.Serial.SerialDeviceIdentity(
            new HilRig.Hardware.Serial.SysfsSlotSerial(slot.Usb.DevicePath, TimeProvider.System), TimeProvider.System));
        return new RigSession(config, pi.Time, pi.Usb, null, pi.I2c)
        {
            _pi = pi,
            Slots = pi.Slots,
            _cloudClient = config.Cloud is { } cloud ? new HilRig.Hardware.Cloud.ParticleCloudClient(cloud) : null,
        };
    }

    /// <summary>Runs procedure code on the rig's clock (the simulation thread on the simulator).</summary>
    public Task<T> RunAsync<T>(Func<Task<T>> work) => Sim is { } sim ? sim.Scheduler.RunAsync(work) : work();

    public Task RunAsync(Func<Task> work) => Sim is { } sim ? sim.Scheduler.RunAsync(work) : work();

    public IReadOnlyList<RigSlot> Select(string? spec)
    {
        var numbers = SlotSelection.Parse(spec, Slots.Select(s => s.Number).ToList());
        return [.. Slots.Where(s => numbers.Contains(s.Number))];
    }

    public RigSlot Slot(int number) => Slots.FirstOrDefault(s => s.Number == number)
        ?? throw new FormatException($"--slot: slot {number} is not on this rig; valid: {string.Join(",", Slots.Select(s => s.Number))}");

    private List<RigSlot> BuildSlots(SimRig sim, RigLed? led)
    {
        var header = new GpioController(sim.Gpio);
        _controllers.Add(header);
        var expanders = new Dictionary<int, GpioController>();
        GpioController ControllerFor(ControlLine line) => line switch
        {
            GpioLine => header,
            ExpanderLine e => expanders.TryGetValue(e.Address, out var c) ? c : expanders[e.Address] = Track(new GpioController(new Mcp23017(sim.I2c.CreateDevice(e.Address)))),
            _ => throw new ArgumentOutOfRangeException(nameof(line), line, "unknown control line"),
        };
        SlotLine Line(ControlLine line, string role, int slot)
        {
            var pin = line switch { GpioLine g => g.Gpio, ExpanderLine e => e.Pin, _ => -1 };
            return new SlotLine(ControllerFor(line), pin, line.ActiveLow, $"slot {slot} {role} ({line.Describe()})");
        }

        var slots = new List<RigSlot>();
        foreach (var slot in Config.Slots.OrderBy(s => s.Number))
        {
            var simSlot = sim.Slot(slot.Number);
            var control = new GpioSlotControl(Line(slot.Power, "power", slot.Number), Line(slot.Mode, "mode", slot.Number), Line(slot.Reset, "reset", slot.Number));
            // the device id comes over the listening-mode serial `i` dialogue, as spark-cli identify reads it
            RigSlot? rigSlot = null;
            var identity = new SerialIdentity(new CoreLifeContext(sim.Usb, sim.Time, sim.Cloud), () => rigSlot!);
            rigSlot = new RigSlot(slot.Number, slot.Usb.DevicePath, control, identity, simSlot.Core.Spec.Lot,
                led is null ? null : new SamplerSlotLed(led.Sampler, slot.Number), new SimSlotSerial(simSlot));
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
        if (Sim is { } sim)
        {
            if (Led is { } led)
            {
                try
                {
                    sim.Scheduler.Run(() =>
                    {
                        led.Stop();
                        return Task.CompletedTask;
                    });
                }
                catch (InvalidOperationException)
                {
                    // a simulation that failed has nothing left to stop
                }
            }
            // Stop the clock first so nothing changes the flash while it is saved.
            sim.Dispose();
            if (_stateDirectory is { } dir) SimRigState.Save(sim, dir);
        }
        foreach (var c in _controllers) c.Dispose();
        _cloudClient?.Dispose();
        _pi?.Dispose();
    }

    private sealed class SimRigI2c(Sim.Rig.I2c.SimI2cBus bus) : IRigI2c
    {
        // The simulated rig has one bus; a sensor's bus number names a Pi bus and means nothing here.
        public System.Device.I2c.I2cDevice Open(int address, int? busNumber = null) => bus.CreateDevice(address);

        public string Describe(int? busNumber = null) => $"simulated {bus.Name}";
    }
}
