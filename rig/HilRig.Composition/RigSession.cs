using System.Device.Gpio;
using HilRig.Core.Chips.Mcp23017;
using HilRig.Core.Cloud;
using HilRig.Core.Procedures;
using HilRig.Core.Config;
using HilRig.Core.Slots;
using HilRig.Core.Usb;
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
}

/// <summary>The backend "pi" is configured but this build cannot drive real hardware yet.</summary>
public sealed class BackendUnavailableException(string message) : Exception(message)
{
    public BackendUnavailableException() : this("backend unavailable") { }

    public BackendUnavailableException(string message, Exception inner) : this(message + ": " + inner.Message) { }
}

/// <summary>
/// The one composition step: a validated rig config becomes a rig with slots and instruments, on the simulator
/// or (later) on the Pi. Procedures get Core types only; the entry points (CLI, fixtures) use this.
/// </summary>
public sealed class RigSession : IDisposable
{
    private readonly List<GpioController> _controllers = [];
    private string? _stateDirectory;

    private RigSession(RigConfig config, TimeProvider time, IUsbBus usb, SimRig? sim)
    {
        Config = config;
        Time = time;
        Usb = usb;
        Sim = sim;
    }

    public RigConfig Config { get; }

    public TimeProvider Time { get; }

    public IUsbBus Usb { get; }

    /// <summary>The simulated rig behind this session, for fault injection and inspection; null on real hardware.</summary>
    public SimRig? Sim { get; }

    public IReadOnlyList<RigSlot> Slots { get; private set; } = [];

    /// <summary>The cloud the Cores connect to (the simulator's own on backend: sim).</summary>
    public ICloud? Cloud => Sim?.Cloud;

    /// <summary>What the life procedures (identify, factory reset, OTA) need of this rig.</summary>
    public CoreLifeContext Life => new(Usb, Time, Cloud);

    public static RigSession Open(RigConfig config, RigSessionOptions? options = null)
    {
        options ??= new RigSessionOptions();
        if (config.Backend != RigBackend.Sim)
            throw new BackendUnavailableException(
                $"{config.SourcePath}: backend: pi is not available in this build (the Raspberry Pi backend is not implemented yet); use backend: sim");
        var sim = SimRig.Build(config, options.SimClock, options.SimSpeed);
        if (options.SimStateDirectory is { } stateDir) SimRigState.Load(sim, stateDir);
        var session = new RigSession(config, sim.Time, sim.Usb, sim) { _stateDirectory = options.SimStateDirectory };
        try
        {
            // Opening lines writes to (simulated) hardware, which lives on the simulation thread.
            sim.Scheduler.Run(() =>
            {
                session.Slots = session.BuildSlots(sim);
                return Task.CompletedTask;
            });
        }
        catch
        {
            session.Dispose();
            throw;
        }
        return session;
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

    private List<RigSlot> BuildSlots(SimRig sim)
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
            rigSlot = new RigSlot(slot.Number, slot.Usb.DevicePath, control, identity, simSlot.Core.Spec.Lot, null, new SimSlotSerial(simSlot.Core));
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
            // Stop the clock first so nothing changes the flash while it is saved.
            sim.Dispose();
            if (_stateDirectory is { } dir) SimRigState.Save(sim, dir);
        }
        foreach (var c in _controllers) c.Dispose();
    }
}
