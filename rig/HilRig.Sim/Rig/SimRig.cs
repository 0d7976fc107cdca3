using HilRig.Core.Spark;
using System.Device.Gpio;
using HilRig.Core.Config;
using HilRig.Core.Usb;
using HilRig.Sim.Cloud;
using HilRig.Sim.Device;
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
        Cloud = new SimCloud(scheduler.Time, config.Sim.Cloud, config.Sim.Seed);
    }

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

        var muxes = new Dictionary<int, Tca9548aModel>();
        foreach (var address in Config.Slots.Select(s => s.Sensor.MuxAddress).Distinct().Order())
        {
            var mux = new Tca9548aModel($"tca9548a@0x{address:X2}");
            muxes[address] = mux;
            I2c.Attach(address, mux);
        }
        Muxes = muxes;

        var factory = SparkAppImageGenerator.Tinker(seed);
        var emitters = new Dictionary<int, LedEmitter>();
        foreach (var slot in Config.Slots.OrderBy(s => s.Number))
        {
            var coreConfig = Config.Sim.Cores.FirstOrDefault(c => c.Slot == slot.Number)
                ?? new SimCoreConfig(slot.Number, SimDefaults.DeviceIdFor(seed, slot.Number), SimDefaults.UnlistedLot, FlashCondition.Healthy);
            var led = new LedEmitter(Time, Optics);
            emitters[slot.Number] = led;
            var spec = new VirtualCoreSpec(slot.Number, coreConfig.DeviceId, coreConfig.Lot, coreConfig.Flash, build.Kind, seed * 1009 + slot.Number)
            {
                Build = build,
                BootloaderProtected = Config.Sim.IsBootloaderProtected(slot.Number),
            };
            var core = new VirtualCore(spec, Usb, slot.Usb.DevicePath, led, Time);
            core.Manufacture(factory);
            core.Cloud = Cloud;
            core.Firmware = Config.Sim.Firmware;
            var simSlot = new SimSlot(slot, core, hubs[slot.Usb.HubPath]) { RelayWelded = Config.Sim.WeldedRelays.Contains(slot.Number) };
            _slots[slot.Number] = simSlot;

            WireLine(slot.Power, on => core.SetRelay(on || simSlot.RelayWelded)); // a welded contact never opens
            WireLine(slot.Mode, core.SetMode);
            WireLine(slot.Reset, core.SetReset);
            simSlot.Hub.PortPowerChanged += (port, on) => { if (port == slot.Usb.Port) core.SetVbus(on); };
        }

        foreach (var slot in Config.Slots)
        {
            var neighbours = Config.Slots
                .Where(s => Math.Abs(s.Number - slot.Number) == 1)
                .Select(s => (ILightSource)emitters[s.Number])
                .ToList();
            var sensor = new Tcs34725Model(Time, emitters[slot.Number], neighbours, Optics, new Random(seed * 7919 + slot.Number));
            muxes[slot.Sensor.MuxAddress].Channel(slot.Sensor.Channel).Attach(0x29, sensor);
            _slots[slot.Number].Sensor = sensor;
        }
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
public sealed class SimSlot(SlotConfig config, VirtualCore core, VirtualUsbHub hub)
{
    public SlotConfig Config { get; } = config;

    public int Number => Config.Number;

    public VirtualCore Core { get; } = core;

    public VirtualUsbHub Hub { get; } = hub;

    public Tcs34725Model? Sensor { get; internal set; }

    /// <summary>Rig fault: the relay's contact is welded shut, so switching it off does not cut the Core's power.</summary>
    public bool RelayWelded { get; set; }
}

/// <summary>
/// Keeps the simulated Cores' flash (internal and external) between runs of the CLI, so a `dfu download` followed by
/// a `dfu upload` sees what was written, as real Cores would. One gzip file per slot, tied to the device id.
/// The bootloader pages are kept too, unless the config now names another build than the one the state was saved
/// under (or a version-1 state, from before bootloaders were images): then the configured build is manufactured
/// over them, so changing sim.bootloader re-flashes the simulated Cores' bootloader.
/// </summary>
public static class SimRigState
{
    private const int Version = 2;

    public static void Save(SimRig rig, string directory)
    {
        Directory.CreateDirectory(directory);
        foreach (var slot in rig.Slots)
        {
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
            }
            File.Move(temp, path, overwrite: true);
        }
    }

    /// <summary>Loads what matches (same device id and flash condition in the slot); returns the slots restored.</summary>
    public static IReadOnlyList<int> Load(SimRig rig, string directory)
    {
        var restored = new List<int>();
        foreach (var slot in rig.Slots)
        {
            var path = Path.Combine(directory, $"slot-{slot.Number}.state");
            if (!File.Exists(path)) continue;
            try
            {
                using var file = File.OpenRead(path);
                using var zip = new System.IO.Compression.GZipStream(file, System.IO.Compression.CompressionMode.Decompress);
                using var r = new BinaryReader(zip);
                var version = r.ReadInt32();
                if (version is not (1 or Version) || r.ReadString() != slot.Core.DeviceId || r.ReadString() != slot.Core.Spec.Flash.Describe()) continue;
                var savedUnder = version >= 2 ? r.ReadString() : null;
                var internalCells = r.ReadBytes(r.ReadInt32());
                var externalCells = r.ReadBytes(r.ReadInt32());
                slot.Core.InternalFlash.RestoreCells(internalCells);
                slot.Core.Chip.RestoreCells(externalCells);
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
