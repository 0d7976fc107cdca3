using HilRig.Core.Spark;
using System.Device.Gpio;
using HilRig.Core.Config;
using HilRig.Core.Usb;
using HilRig.Sim.Cloud;
using HilRig.Sim.Device;
using HilRig.Sim.Device.App;
using HilRig.Sim.Device.Bootloader;
using HilRig.Sim.Device.Firmware;
using HilRig.Sim.Optics;
using HilRig.Sim.Rig.I2c;
using HilRig.Sim.Time;
using HilRig.Sim.Usb;

namespace HilRig.Sim.Rig;

/// <summary>
/// The whole simulated rig built from a rig config: the simulation thread and clock, the USB bus with its hubs,
/// the Pi's GPIO header, the I2C bus with MCP23017 expanders and the colour sensors behind their mux, and one
/// virtual Core per slot, wired exactly as the config describes the real rig.
/// </summary>
public sealed class SimRig : IDisposable
{
    private readonly Dictionary<int, SimSlot> _slots = [];

    /// <summary>Cores pulled from a slot, by device id: one put back (in any slot) keeps its memories.</summary>
    private readonly Dictionary<string, VirtualCore> _shelf = new(StringComparer.Ordinal);
    private byte[] _factoryImage = [];
    private BootloaderBuild? _build;
    private int _inserted;
    private int _unnamed;

    private SimRig(RigConfig config, SimScheduler scheduler)
    {
        Config = config;
        Scheduler = scheduler;
        Usb = new VirtualUsbBus(scheduler.Time);
        Gpio = new SimGpioDriver();
        I2c = new SimI2cBus("i2c-1");
        var optics = config.Sim.OpticsOrDefault;
        Optics = OpticsSettings.Default with
        {
            AmbientCountsPerCycle = optics.Ambient,
            NoiseLevel = optics.Noise,
            CrosstalkFraction = optics.Crosstalk,
            FullScale = optics.FullScale,
        };
        Faults = new Faults.FaultInjector(config.Sim.Faults, config.Sim.Seed, scheduler.Time);
        Cloud = new SimCloud(scheduler.Time, config.Sim.Cloud, config.Sim.Seed) { Faults = Faults, SlotOf = SlotOfDevice };
    }

    /// <summary>The faults injected on purpose (<c>sim.faults</c>) and their ledger.</summary>
    public Faults.FaultInjector Faults { get; }

    private int? SlotOfDevice(string deviceId) => _slots.Values.FirstOrDefault(s => s.Occupied && s.Core.DeviceId == deviceId)?.Number;

    /// <summary>The cloud the simulated Cores connect to once they have Wi-Fi.</summary>
    public SimCloud Cloud { get; }

    public RigConfig Config { get; }

    public SimScheduler Scheduler { get; }

    public TimeProvider Time => Scheduler.Time;

    public VirtualUsbBus Usb { get; }

    public SimGpioDriver Gpio { get; }

    public SimI2cBus I2c { get; }

    public OpticsSettings Optics { get; }

    public IReadOnlyDictionary<string, VirtualUsbHub> Hubs { get; private set; } = new Dictionary<string, VirtualUsbHub>();

    public IReadOnlyDictionary<int, Mcp23017Model> Expanders { get; private set; } = new Dictionary<int, Mcp23017Model>();

    public IReadOnlyDictionary<int, Tca9548aModel> Muxes { get; private set; } = new Dictionary<int, Tca9548aModel>();

    public IReadOnlyCollection<SimSlot> Slots => _slots.Values;

    public SimSlot Slot(int number) => _slots.TryGetValue(number, out var s)
        ? s
        : throw new ArgumentOutOfRangeException(nameof(number), number, $"the rig has slots {string.Join(", ", _slots.Keys.Order())}");

    public static SimRig Build(RigConfig config, ClockMode mode = ClockMode.Virtual, double speed = 1.0)
    {
        var rig = new SimRig(config, new SimScheduler(mode, speed));
        rig.Wire();
        return rig;
    }

    private void Wire()
    {
        var seed = Config.Sim.Seed;
        var slotByPath = Config.Slots.ToDictionary(s => s.Usb.DevicePath, s => s.Number, StringComparer.Ordinal);
        Usb.Faults = Faults;
        Usb.WornSlots = Config.Sim.WornSlots.ToHashSet();
        Usb.BrownOut = path =>
        {
            // a dip below the MCU's brown-out threshold: as if the supply were cut and restored at once
            if (slotByPath.TryGetValue(path, out var n) && _slots.TryGetValue(n, out var s) && s.Occupied && s.Core.Powered)
            {
                s.Core.SetRelay(false);
                s.Core.SetRelay(true);
            }
        };
        Usb.SlotOf = path => slotByPath.TryGetValue(path, out var n) ? n : null;
        I2c.Faults = Faults;
        var build = BootloaderBuild.For(Config.Sim.Bootloader, Config.Sim.Candidate);

        var hubs = new Dictionary<string, VirtualUsbHub>(StringComparer.Ordinal);
        foreach (var hubPath in Config.Slots.Select(s => s.Usb.HubPath).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
        {
            var ports = Math.Max(4, Config.Slots.Where(s => s.Usb.HubPath == hubPath).Max(s => s.Usb.Port));
            var hub = new VirtualUsbHub(Usb, hubPath, Math.Min(7, ports));
            hubs[hubPath] = hub;
            Usb.Connect(hubPath, hub);
        }
        Hubs = hubs;

        var expanders = new Dictionary<int, Mcp23017Model>();
        foreach (var address in Config.Slots.SelectMany(s => new[] { s.Power, s.Mode, s.Reset }).OfType<ExpanderLine>().Select(l => l.Address).Distinct().Order())
        {
            var model = new Mcp23017Model();
            expanders[address] = model;
            I2c.Attach(address, model);
        }
        Expanders = expanders;
        WireButtonFaults();

        var muxes = new Dictionary<int, Tca9548aModel>();
        foreach (var address in Config.Slots.Select(s => s.Sensor.MuxAddress).Distinct().Order())
        {
            var mux = new Tca9548aModel($"tca9548a@0x{address:X2}");
            muxes[address] = mux;
            I2c.Attach(address, mux);
        }
        Muxes = muxes;

        _factoryImage = SparkAppImageGenerator.Tinker(seed);
        _build = build;
        var emitters = new Dictionary<int, LedEmitter>();
        foreach (var slot in Config.Slots.OrderBy(s => s.Number))
        {
            var coreConfig = Config.Sim.Cores.FirstOrDefault(c => c.Slot == slot.Number)
                ?? new SimCoreConfig(slot.Number, SimDefaults.DeviceIdFor(seed, slot.Number), SimDefaults.UnlistedLot, FlashCondition.Healthy);
            var led = new LedEmitter(Time, Optics);
            emitters[slot.Number] = led;
            var core = NewCore(slot, led, coreConfig.DeviceId, coreConfig.Lot, coreConfig.Flash, seed * 1009 + slot.Number);
            var simSlot = new SimSlot(slot, core, hubs[slot.Usb.HubPath], led)
            {
                RelayWelded = Config.Sim.WeldedRelays.Contains(slot.Number),
                RelayOpen = Config.Sim.OpenRelays.Contains(slot.Number),
            };
            var number = slot.Number;
            simSlot.RelaySticks = on => Faults.Inject(Sim.Faults.FaultKind.RelayStuck, number, $"slot {number} relay ({slot.Power.Describe()}) {(on ? "on" : "off")}");
            _slots[slot.Number] = simSlot;

            // The lines reach whichever Core sits in the slot now; an empty slot's lines go nowhere.
            WireLine(slot.Power, on => simSlot.SetRelayLine(on));
            WireLine(slot.Mode, simSlot.SetModeLine);
            WireLine(slot.Reset, simSlot.SetResetLine);
            simSlot.Hub.PortPowerChanged += (port, on) => { if (port == slot.Usb.Port) simSlot.SetVbus(on); };
        }

        foreach (var slot in Config.Slots)
        {
            var neighbours = Config.Slots
                .Where(s => Math.Abs(s.Number - slot.Number) == 1)
                .Select(s => (ILightSource)emitters[s.Number])
                .ToList();
            var sensor = new Tcs34725Model(Time, emitters[slot.Number], neighbours, Optics, new Random(seed * 7919 + slot.Number));
            // another part fitted where the TCS34725 belongs: it answers, with the wrong chip id
            if (Config.Sim.WrongSensorIds.Contains(slot.Number)) sensor.Id = WrongSensorId;
            var number = slot.Number;
            sensor.IdGlitch = () => Faults.Inject(Sim.Faults.FaultKind.SensorId, number, $"slot {number} colour sensor chip id read");
            muxes[slot.Sensor.MuxAddress].Channel(slot.Sensor.Channel).Attach(0x29, sensor);
            _slots[slot.Number].Sensor = sensor;
        }
    }

    /// <summary>The chip id a wrong colour sensor answers at register 0x12 (<c>sim.wrongSensorIds</c>): neither 0x44 nor 0x4D.</summary>
    public const byte WrongSensorId = 0x60;

    private VirtualCore NewCore(SlotConfig slot, LedEmitter led, string deviceId, string lot, FlashCondition flash, int coreSeed)
    {
        var build = _build!;
        var spec = new VirtualCoreSpec(slot.Number, deviceId, lot, flash, build.Kind, coreSeed)
        {
            Build = build,
            BootloaderProtected = Config.Sim.IsBootloaderProtected(slot.Number),
        };
        var core = new VirtualCore(spec, Usb, slot.Usb.DevicePath, led, Time);
        core.Manufacture(_factoryImage);
        core.Cloud = Cloud;
        core.Firmware = Config.Sim.Firmware;
        return core;
    }

    /// <summary>
    /// The operator drops a Core into empty slot <paramref name="number"/>: it sees the slot's lines as they are now
    /// (a relay that is on powers it at once). A device id pulled earlier comes back with its memories (flash,
    /// Wi-Fi profiles); a new one is factory-fresh with the given lot and flash. Runs on the simulation thread.
    /// </summary>
    /// <exception cref="InvalidOperationException">The slot holds a Core, or that Core sits in another slot.</exception>
    public VirtualCore Insert(int number, string deviceId, string lot, FlashCondition flash)
    {
        var slot = Slot(number);
        if (slot.Occupied) throw new InvalidOperationException($"slot {number} holds Core {slot.Core.DeviceId}; remove it first");
        var id = SparkIdentity.Normalize(deviceId);
        if (_slots.Values.FirstOrDefault(s => s.Occupied && s.Core.DeviceId == id) is { } other)
            throw new InvalidOperationException($"Core {id} is in slot {other.Number}");
        if (!_shelf.Remove(id, out var core))
        {
            // a seed per insertion keeps a line run deterministic
            core = NewCore(slot.Config, slot.Led, id, lot, flash, unchecked(Config.Sim.Seed * 1009 + 100_003 * ++_inserted + number));
        }
        else if (core.UsbPath != slot.Config.Usb.DevicePath)
        {
            // the same Core moved to another slot: same chip (its seed places the same defects), same memories
            var moved = NewCore(slot.Config, slot.Led, id, core.Spec.Lot, core.Spec.Flash, core.Spec.Seed);
            moved.TakeMemoriesOf(core);
            core = moved;
        }
        slot.Plug(core);
        return core;
    }

    /// <summary>
    /// Puts back into slot <paramref name="number"/> the Core a saved line state found there (one the line dropped in,
    /// not the config's): same device id, lot, flash condition and seed, so the same chip and defects; its cells are
    /// restored after. Runs before the rig starts.
    /// </summary>
    internal VirtualCore Reinsert(int number, string deviceId, string lot, FlashCondition flash, int seed)
    {
        var slot = Slot(number);
        Remove(number);
        var id = SparkIdentity.Normalize(deviceId);
        _shelf.Remove(id);
        var core = NewCore(slot.Config, slot.Led, id, lot, flash, seed);
        slot.Plug(core);
        return core;
    }

    /// <summary>The operator pulls the Core from slot <paramref name="number"/>: it loses power, leaves USB, its LED goes dark.</summary>
    /// <returns>The Core pulled; null when the slot was empty.</returns>
    public VirtualCore? Remove(int number)
    {
        var slot = Slot(number);
        if (!slot.Occupied) return null;
        var core = slot.Core;
        slot.Unplug();
        _shelf[core.DeviceId] = core;
        return core;
    }

    /// <summary>A device id for a Core dropped in without one: seeded, never one of the config's slots' ids.</summary>
    public string NewDeviceId()
    {
        string id;
        do id = SimDefaults.DeviceIdFor(Config.Sim.Seed, 1000 + ++_unnamed);
        while (_shelf.ContainsKey(id) || _slots.Values.Any(s => s.Core.DeviceId == id));
        return id;
    }

    /// <summary>A Core pulled earlier and not put back, by device id.</summary>
    public VirtualCore? Shelved(string deviceId) => _shelf.GetValueOrDefault(SparkIdentity.Normalize(deviceId));

    /// <summary>A MODE or RESET line that does not follow what the rig drives (<c>sim.faults.buttonDead</c>).</summary>
    private void WireButtonFaults()
    {
        var buttons = Config.Slots.SelectMany(s => new[] { (s.Number, Role: "mode", Line: s.Mode), (s.Number, Role: "reset", Line: s.Reset) }).ToList();
        foreach (var (address, expander) in Expanders)
        {
            var pins = buttons.Where(b => b.Line is ExpanderLine e && e.Address == address).ToDictionary(b => ((ExpanderLine)b.Line).Pin);
            expander.LineFault = (pin, high) => pins.TryGetValue(pin, out var b)
                && Faults.Inject(Sim.Faults.FaultKind.ButtonDead, b.Number, $"slot {b.Number} {b.Role} line ({b.Line.Describe()}) to {(high ? "high" : "low")}");
        }
        var header = buttons.Where(b => b.Line is GpioLine).ToDictionary(b => ((GpioLine)b.Line).Gpio);
        Gpio.LineFault = (pin, level) => header.TryGetValue(pin, out var b)
            && Faults.Inject(Sim.Faults.FaultKind.ButtonDead, b.Number, $"slot {b.Number} {b.Role} line ({b.Line.Describe()}) to {level}");
    }

    private void WireLine(ControlLine line, Action<bool> onActive)
    {
        switch (line)
        {
            case GpioLine g:
                Gpio.Watch(g.Gpio, level => onActive((level == PinValue.High) != g.ActiveLow));
                break;
            case ExpanderLine e:
                var pin = e.Pin;
                Expanders[e.Address].Watch((p, high) => { if (p == pin) onActive(high != e.ActiveLow); });
                break;
        }
    }

    public void Dispose() => Scheduler.Dispose();
}

/// <summary>One slot of the simulated rig: its Core, its hub, its sensor, and rig faults to inject.</summary>
public sealed class SimSlot(SlotConfig config, VirtualCore core, VirtualUsbHub hub, LedEmitter led)
{
    private bool _mode;
    private bool _reset;
    private bool _vbus = hub.IsPortPowered(config.Usb.Port);

    public SlotConfig Config { get; } = config;

    public int Number => Config.Number;

    /// <summary>The Core in the slot, or while it is empty the one last pulled from it (unpowered, off the bus).</summary>
    public VirtualCore Core { get; private set; } = core;

    /// <summary>False after the operator pulled the Core and before the next is dropped in.</summary>
    public bool Occupied { get; private set; } = true;

    public VirtualUsbHub Hub { get; } = hub;

    /// <summary>The slot's LED as the sensor sees it: the Core's RGB LED at this position.</summary>
    public LedEmitter Led { get; } = led;

    /// <summary>Raised on the simulation thread after a Core was dropped in (true) or pulled (false).</summary>
    public event Action<SimSlot, bool>? Changed;

    private bool _contact;

    internal void SetRelayLine(bool on)
    {
        // a welded contact never opens, a burnt one never closes; a sticky one stays put on this switch
        if (RelayWelded) _contact = true;
        else if (RelayOpen) _contact = false;
        else if (on != _contact && RelaySticks?.Invoke(on) == true) { }
        else _contact = on;
        if (Occupied) Core.SetRelay(_contact);
    }

    /// <summary>Whether the relay's contact is closed now (what the Core's supply sees, whatever the line says).</summary>
    public bool RelayContact => _contact;

    internal void SetModeLine(bool active)
    {
        _mode = active;
        if (Occupied) Core.SetMode(active);
    }

    internal void SetResetLine(bool active)
    {
        _reset = active;
        if (Occupied) Core.SetReset(active);
    }

    internal void SetVbus(bool on)
    {
        _vbus = on;
        if (Occupied) Core.SetVbus(on);
    }

    internal void Plug(VirtualCore core)
    {
        Core = core;
        Occupied = true;
        // contacts close: the buttons as they are held, then the supply (which may boot it)
        core.SetMode(_mode);
        core.SetReset(_reset);
        core.SetVbus(_vbus);
        core.SetRelay(_contact || RelayWelded);
        Changed?.Invoke(this, true);
    }

    internal void Unplug()
    {
        Core.SetRelay(false);
        Core.SetVbus(false);
        Core.SetMode(false);
        Core.SetReset(false);
        Occupied = false;
        Changed?.Invoke(this, false);
    }

    public Tcs34725Model? Sensor { get; internal set; }

    /// <summary>Rig fault: the relay's contact is welded shut, so switching it off does not cut the Core's power.</summary>
    public bool RelayWelded { get; set; }

    /// <summary>Rig fault: the relay's contact never closes, so switching it on powers nothing.</summary>
    public bool RelayOpen { get; set; }

    /// <summary>Asked on each switch that would move the contact: true when it sticks where it was (<c>sim.faults.relayStuck</c>).</summary>
    internal Func<bool, bool>? RelaySticks { get; set; }
}

/// <summary>
/// Keeps the simulated Cores' flash (internal and external) and the CC3000's Wi-Fi profiles between runs of the CLI, so a `dfu download` followed by
/// a `dfu upload` sees what was written, as real Cores would. One gzip file per slot, tied to the device id.
/// The bootloader pages are kept too, unless the config now names another build than the one the state was saved
/// under (or a version-1 state, from before bootloaders were images): then the configured build is manufactured
/// over them, so changing sim.bootloader re-flashes the simulated Cores' bootloader.
/// </summary>
public static class SimRigState
{
    // 3: the CC3000's Wi-Fi profiles follow the flash cells; 4: then whether the slot holds its Core, its lot and seed (a line's Cores)
    private const int Version = 4;

    /// <summary>The file a line's operator keeps its progress in, next to the slots' files; its presence makes <see cref="Load"/> restore the line as it was.</summary>
    public const string LineFile = "line.json";

    /// <param name="slots">The slots to save (a process saves only the slots it holds); null: every slot.</param>
    public static void Save(SimRig rig, string directory, IReadOnlyCollection<int>? slots = null)
    {
        Directory.CreateDirectory(directory);
        foreach (var slot in rig.Slots)
        {
            if (slots is not null && !slots.Contains(slot.Number)) continue;
            var path = Path.Combine(directory, $"slot-{slot.Number}.state");
            var temp = path + ".partial";
            using (var file = File.Create(temp))
            using (var zip = new System.IO.Compression.GZipStream(file, System.IO.Compression.CompressionLevel.Fastest))
            using (var w = new BinaryWriter(zip))
            {
                w.Write(Version);
                w.Write(slot.Core.DeviceId);
                w.Write(slot.Core.Spec.Flash.Describe());
                w.Write(slot.Core.Spec.BuildOrDefault.Describe());
                var internalCells = slot.Core.InternalFlash.SnapshotCells();
                var externalCells = slot.Core.Chip.SnapshotCells();
                w.Write(internalCells.Length);
                w.Write(internalCells);
                w.Write(externalCells.Length);
                w.Write(externalCells);
                var profiles = slot.Core.Nvmem.Profiles;
                w.Write(profiles.Count);
                foreach (var (ssid, security, password) in profiles)
                {
                    w.Write(ssid);
                    w.Write(security);
                    w.Write(password);
                }
                w.Write(slot.Occupied);
                w.Write(slot.Core.Spec.Lot);
                w.Write(slot.Core.Spec.Seed);
            }
            File.Move(temp, path, overwrite: true);
        }
    }

    /// <summary>
    /// Loads what matches (same device id and flash condition in the slot); returns the slots restored. Where a line's
    /// operator kept its state (<see cref="LineFile"/>), the line comes back as it was: a slot left empty is empty, and
    /// a Core the line dropped in is back in its slot with its chip and memories.
    /// </summary>
    public static IReadOnlyList<int> Load(SimRig rig, string directory)
    {
        var restored = new List<int>();
        var line = File.Exists(Path.Combine(directory, LineFile));
        foreach (var slot in rig.Slots.ToList())
        {
            var path = Path.Combine(directory, $"slot-{slot.Number}.state");
            if (!File.Exists(path)) continue;
            try
            {
                using var file = File.OpenRead(path);
                using var zip = new System.IO.Compression.GZipStream(file, System.IO.Compression.CompressionMode.Decompress);
                using var r = new BinaryReader(zip);
                var version = r.ReadInt32();
                if (version is not (1 or 2 or 3 or Version)) continue;
                var deviceId = r.ReadString();
                var flashText = r.ReadString();
                var savedUnder = version >= 2 ? r.ReadString() : null;
                var internalCells = r.ReadBytes(r.ReadInt32());
                var externalCells = r.ReadBytes(r.ReadInt32());
                var profiles = new List<(string, int, string)>();
                if (version >= 3)
                {
                    var count = r.ReadInt32();
                    if (count is < 0 or > WifiNvmem.MaxProfiles) throw new InvalidDataException($"{count} Wi-Fi profiles (the CC3000 keeps at most {WifiNvmem.MaxProfiles})");
                    for (var i = 0; i < count; i++) profiles.Add((r.ReadString(), r.ReadInt32(), r.ReadString()));
                }
                var occupied = version < 4 || r.ReadBoolean();
                var lot = version >= 4 ? r.ReadString() : null;
                var seed = version >= 4 ? r.ReadInt32() : 0;
                if (line && !occupied)
                {
                    rig.Remove(slot.Number);
                    continue;
                }
                if (deviceId != slot.Core.DeviceId || flashText != slot.Core.Spec.Flash.Describe())
                {
                    // a Core the line dropped in comes back; otherwise the config names another Core now
                    if (!line || lot is null || !FlashWords.TryParse(flashText, out var flash, out _)) continue;
                    rig.Reinsert(slot.Number, deviceId, lot, flash, seed);
                }
                slot.Core.InternalFlash.RestoreCells(internalCells);
                slot.Core.Chip.RestoreCells(externalCells);
                // the CC3000's NVMEM keeps the Wi-Fi profiles without power, as the flash keeps its cells
                slot.Core.Nvmem.RestoreFrom(profiles);
                if (savedUnder != slot.Core.Spec.BuildOrDefault.Describe()) slot.Core.ManufactureBootloader();
                restored.Add(slot.Number);
            }
            catch (Exception ex) when (ex is IOException or InvalidDataException or EndOfStreamException or ArgumentException)
            {
                // A damaged state file only means a factory-fresh Core: say so, do not fail the run.
                Console.Error.WriteLine($"hilrig: ignoring simulator state {path}: {ex.Message}");
            }
        }
        return restored;
    }
}
