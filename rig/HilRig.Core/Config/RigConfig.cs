namespace HilRig.Core.Config;

/// <summary>Where the rig's hardware lives: real instruments on a Raspberry Pi, or the simulator.</summary>
public enum RigBackend
{
    Sim,
    Pi,
}

public enum ResultsStoreKind
{
    Sqlite,
    Postgres,
}

/// <summary>
/// Where verdicts are stored. <see cref="Path"/> is as written in the file (for sqlite); use
/// <see cref="RigConfig.ResolveStorePath"/> to get it relative to the config file.
/// </summary>
public sealed record ResultsStoreSettings(ResultsStoreKind Kind, string? Path, string? ConnectionString);

/// <summary>One digital output that drives a relay or a button line.</summary>
public abstract record ControlLine(bool ActiveLow)
{
    /// <summary>Identity of the physical line, used to catch two slots wired to one line.</summary>
    public abstract string Describe();
}

/// <summary>A BCM GPIO line on the Pi header.</summary>
public sealed record GpioLine(int Gpio, bool ActiveLow) : ControlLine(ActiveLow)
{
    public override string Describe() => $"gpio {Gpio}";
}

/// <summary>A pin of an MCP23017 I2C port expander (pins 0-7 are port A, 8-15 port B).</summary>
public sealed record ExpanderLine(int Address, int Pin, bool ActiveLow) : ControlLine(ActiveLow)
{
    public override string Describe() => $"expander 0x{Address:x2} pin {Pin}";
}

/// <summary>The hub port a slot's Core is plugged into; <see cref="DevicePath"/> is the USB port path the Core appears at.</summary>
public sealed record UsbPortWiring(string HubPath, int Port)
{
    public string DevicePath => $"{HubPath}.{Port}";
}

/// <summary>The slot's TCS34725 colour sensor behind a TCA9548A mux channel.</summary>
public sealed record SensorWiring(int MuxAddress, int Channel, int? I2cBus);

public sealed record SlotConfig(
    int Number,
    ControlLine Power,
    ControlLine Mode,
    ControlLine Reset,
    UsbPortWiring Usb,
    SensorWiring Sensor);

/// <summary>The bootloader the simulated Cores run.</summary>
public enum SimBootloader
{
    BL13,
    BL14,

    /// <summary>A new build under soak: BL14 with the defects of <see cref="SimConfig.Candidate"/> (by default a 30 ms SPI-flash busy timeout: slow chips fail it).</summary>
    Candidate,
}

/// <summary>
/// The defects of the simulated <c>candidate</c> bootloader build (<c>sim.candidate</c>). <paramref name="SpiBusyTimeoutMs"/>:
/// the candidate's SPI-flash driver gives up polling BUSY after this long (BL13/BL14 wait forever), so an erase that takes
/// longer is abandoned while the chip is still busy and the commands that follow are ignored by the chip; a healthy sector
/// erase takes 18 ms, a <c>{ slow: F }</c> chip's F x 25 ms. <paramref name="StageFactoryReset"/>: its factory reset first
/// copies the factory image into the backup slot (SPI erases and writes, where the timeout bites) and restores from there;
/// false restores straight from the factory slot as BL14 does, leaving the timeout only in the OTA apply's backup copy.
/// </summary>
public sealed record SimCandidateConfig(double SpiBusyTimeoutMs = 30, bool StageFactoryReset = true)
{
    public const double MaxSpiBusyTimeoutMs = 1000;

    public static readonly SimCandidateConfig Default = new();
}

/// <summary>
/// The app firmware generation the simulated Cores run (spark-core.md §6.1): the seed's January 2014 build writes
/// OTA chunks without reading them back; the later one verifies each chunk and asks again (ChunkMissed) on a mismatch.
/// </summary>
public enum SimFirmware
{
    Seed2014,
    Verified,
}

/// <summary>The simulated cloud's link to the Cores: one-way latency and message loss (seeded).</summary>
public sealed record SimCloudSettings(double LatencyMs = 20, double Loss = 0)
{
    public static readonly SimCloudSettings Default = new();
}

/// <summary>
/// Faults injected on purpose at the simulator's boundaries (<c>sim.faults</c>): each a probability per operation of
/// that boundary, drawn from the sim seed, so the same seed places the same faults. Every injected fault goes into the
/// simulator's fault ledger (kind, slot, time).
/// </summary>
/// <param name="UsbStall">A DfuSe class request on a Core in DFU stalls on the wire (the device never saw it).</param>
/// <param name="UsbTimeout">A DfuSe class request is not answered within the host's control timeout (never delivered).</param>
/// <param name="UsbDisconnect">The Core drops off the bus in the middle of a DFU upload or download and re-enumerates in DFU.</param>
/// <param name="I2cNack">An I2C transaction to a chip that is there (expander, mux, colour sensor) is not acknowledged.</param>
/// <param name="ButtonDead">A press or release on a MODE or RESET line does not reach the Core (the pin does not follow its latch).</param>
/// <param name="Cloud5xx">The cloud answers an OTA request (the PUT) with 503.</param>
/// <param name="CloudDrop">Per OTA chunk: the cloud drops the Core's connection in the middle of the transfer.</param>
/// <param name="CloudSlow">Per OTA chunk: the cloud's chunk stream stalls for longer than the Core's 30 s update timeout.</param>
/// <param name="RelayStuck">Per switch of a slot's power relay: the contact sticks where it was (the line follows, the supply does not).</param>
/// <param name="WornContact">Per DFU data transfer on a slot of <see cref="SimConfig.WornSlots"/>: its pogo pins lose contact for seconds.</param>
/// <param name="BrownOut">Per DFU data transfer: the supply sags, the Core resets (off the bus, then its app, not DFU).</param>
/// <param name="SensorId">Per read of a colour sensor's chip id (register 0x12): it answers an id that is not a TCS3472x's (a glitch on the sensor's cable).</param>
public sealed record SimFaultSettings(
    double UsbStall = 0, double UsbTimeout = 0, double UsbDisconnect = 0, double I2cNack = 0, double ButtonDead = 0,
    double Cloud5xx = 0, double CloudDrop = 0, double CloudSlow = 0, double RelayStuck = 0, double WornContact = 0, double BrownOut = 0, double SensorId = 0)
{
    public static readonly SimFaultSettings None = new();

    /// <summary>The worn slots' rate when <c>sim.wornSlots</c> names slots and <c>sim.faults.wornContact</c> is not given.</summary>
    public const double DefaultWornContact = 0.01;

    public bool Any => UsbStall > 0 || UsbTimeout > 0 || UsbDisconnect > 0 || I2cNack > 0 || ButtonDead > 0 || Cloud5xx > 0 || CloudDrop > 0 || CloudSlow > 0
        || RelayStuck > 0 || WornContact > 0 || BrownOut > 0 || SensorId > 0;
}

/// <summary>A simulated Core in a slot: its identity, chip lot and external-flash condition.</summary>
public sealed record SimCoreConfig(int Slot, string DeviceId, string Lot, FlashCondition Flash)
{
    /// <summary>This Core's option bytes write-protect bootloader pages 0-15; null: the rig's <see cref="SimConfig.BootloaderProtected"/>.</summary>
    public bool? BootloaderProtected { get; init; }
}

/// <summary>
/// How the simulated LEDs reach the colour sensors (<c>sim.optics</c>): room light in clear counts per 2.4 ms cycle
/// at 1x gain, a multiplier on shot noise, the fraction of a neighbour's LED light that leaks in, and whether the
/// firmware drives the LED at full scale (BL13-era) rather than 96/256.
/// </summary>
public sealed record SimOpticsConfig(double Ambient = 4, double Noise = 1.0, double Crosstalk = 0.01, bool FullScale = false)
{
    public static readonly SimOpticsConfig Default = new();
}

public sealed record SimConfig(int Seed, SimBootloader Bootloader, IReadOnlyList<SimCoreConfig> Cores, SimOpticsConfig? Optics = null)
{
    public SimOpticsConfig OpticsOrDefault => Optics ?? SimOpticsConfig.Default;

    public SimFirmware Firmware { get; init; } = SimFirmware.Seed2014;

    public SimCloudSettings Cloud { get; init; } = SimCloudSettings.Default;

    /// <summary>Faults injected on purpose (<c>sim.faults</c>); none by default.</summary>
    public SimFaultSettings Faults { get; init; } = SimFaultSettings.None;

    /// <summary>Rig fault injection: slots whose power relay contact is welded shut (switching it off cuts nothing).</summary>
    public IReadOnlyList<int> WeldedRelays { get; init; } = [];

    /// <summary>Rig fault injection: slots whose power relay contact never closes (switching it on powers nothing).</summary>
    public IReadOnlyList<int> OpenRelays { get; init; } = [];

    /// <summary>Rig fault injection: slots whose colour sensor answers the wrong chip id (0x60) at ID register 0x12.</summary>
    public IReadOnlyList<int> WrongSensorIds { get; init; } = [];

    /// <summary>Rig fault injection: slots with worn pogo pins or cable, failing DFU transfers at <see cref="SimFaultSettings.WornContact"/>.</summary>
    public IReadOnlyList<int> WornSlots { get; init; } = [];

    /// <summary>The defects of the <c>candidate</c> bootloader build.</summary>
    public SimCandidateConfig Candidate { get; init; } = SimCandidateConfig.Default;

    /// <summary>
    /// Option bytes write-protect bootloader pages 0-15 (spark-core.md §2.2), as on Cores from the factory (the default);
    /// a rig prepared for bootloader soaks has unlocked Cores (false). A Core's own <see cref="SimCoreConfig.BootloaderProtected"/> wins.
    /// </summary>
    public bool BootloaderProtected { get; init; } = true;

    /// <summary>The simulated line's operator for `hilrig station` (<c>sim.line</c>); null: the config's Cores stay in their slots.</summary>
    public SimLineConfig? Line { get; init; }

    public bool IsBootloaderProtected(int slot) => Cores.FirstOrDefault(c => c.Slot == slot)?.BootloaderProtected ?? BootloaderProtected;

    public SimCoreConfig CoreFor(int slot) =>
        Cores.FirstOrDefault(c => c.Slot == slot)
        ?? throw new ArgumentOutOfRangeException(nameof(slot), slot, "no simulated Core for this slot");
}

/// <summary>Where the Pi backend finds its buses: /dev/gpiochip{GpioChip} for header lines, /dev/i2c-{I2cBus} for the expanders and (unless a sensor names its own bus) the sensors.</summary>
public sealed record PiSettings(int GpioChip, int I2cBus)
{
    public static readonly PiSettings Default = new(0, 1);
}

/// <summary>
/// The Particle (Spark) cloud REST API a Pi rig flashes through (root <c>cloud:</c>, overridden by HILRIG_CLOUD_URL and
/// HILRIG_CLOUD_TOKEN): a local spark-server, `hilrig sim serve --cloud-port`, or the hosted API. <see cref="Url"/>
/// is the base the /v1/... paths go under (always ending in '/').
/// </summary>
public sealed record CloudSettings(Uri Url, string Token, TimeSpan RequestTimeout, TimeSpan FlashTimeout)
{
    public const string UrlVariable = "HILRIG_CLOUD_URL";
    public const string TokenVariable = "HILRIG_CLOUD_TOKEN";

    /// <summary>Device info and opening an event stream.</summary>
    public static readonly TimeSpan DefaultRequestTimeout = TimeSpan.FromSeconds(30);

    /// <summary>The PUT: spark-server waits up to 90 s for the device's UpdateReady before it answers "Timed out.".</summary>
    public static readonly TimeSpan DefaultFlashTimeout = TimeSpan.FromSeconds(120);

    /// <summary>The token stays out of logs and exception messages.</summary>
    public override string ToString() =>
        $"CloudSettings {{ Url = {Url}, Token = ({Token.Length} characters), RequestTimeout = {RequestTimeout}, FlashTimeout = {FlashTimeout} }}";
}

/// <summary>The `fleet:` section: where the rig's results are forwarded. The connection string may hold a password.</summary>
public sealed record FleetSettings(string ConnectionString)
{
    /// <summary>Overrides fleet.connectionString when set.</summary>
    public const string ConnectionVariable = "HILRIG_FLEET_CONNECTION";

    public override string ToString() => "FleetSettings { ConnectionString = (hidden) }";
}

/// <summary>
/// How a DUT failure is confirmed before it is final (<c>screening.confirm</c>): it takes <see cref="Attempts"/> failing
/// attempts of the same device, each in a slot of its own when <see cref="ChangeSlot"/>. Attempts 1: the first failure is final.
/// </summary>
public sealed record ConfirmPolicy(int Attempts = 2, bool ChangeSlot = true)
{
    public const int MaxAttempts = 5;
}

/// <summary>
/// When a slot's health turns (<c>screening.health</c>): strikes are distinct devices that had, in the slot since its
/// health was last reset, a rig fault of the slot's own hardware (USB, sensor, relay, buttons) or a DUT failure that is
/// not confirmed elsewhere. <see cref="SuspectAfter"/> strikes make it suspect, <see cref="QuarantineAfter"/> quarantined.
/// </summary>
public sealed record HealthThresholds(int SuspectAfter = 1, int QuarantineAfter = 3)
{
    public const int MaxStrikes = 100;

    public static readonly HealthThresholds Default = new();
}

/// <summary>The <c>screening:</c> section: confirmation of DUT failures and slot health thresholds.</summary>
public sealed record ScreeningPolicy(ConfirmPolicy Confirm, HealthThresholds Health)
{
    public static readonly ScreeningPolicy Default = new(new ConfirmPolicy(), new HealthThresholds());
}

/// <summary>A validated rig-config.yaml.</summary>
public sealed record RigConfig(
    string SourcePath,
    string RigId,
    RigBackend Backend,
    ResultsStoreSettings Results,
    IReadOnlyList<SlotConfig> Slots,
    SimConfig Sim,
    string Hash)
{
    /// <summary>The `pi:` section; defaults (gpiochip0, i2c-1) when absent or on the simulator.</summary>
    public PiSettings Pi { get; init; } = PiSettings.Default;

    /// <summary>The cloud the Pi backend flashes through; null when neither the config nor the environment names one.</summary>
    public CloudSettings? Cloud { get; init; }

    /// <summary>The central PostgreSQL `hilrig sync` forwards to; null when neither the config nor the environment names one.</summary>
    public FleetSettings? Fleet { get; init; }

    /// <summary>The production line label (`line:`), carried to the fleet with the rig's sync; null when not given.</summary>
    public string? Line { get; init; }

    /// <summary>The `screening:` section (confirmation policy, slot health thresholds); defaults when absent.</summary>
    public ScreeningPolicy Screening { get; init; } = ScreeningPolicy.Default;

    public SlotConfig Slot(int number) =>
        Slots.FirstOrDefault(s => s.Number == number)
        ?? throw new ArgumentOutOfRangeException(nameof(number), number, "no such slot in the rig config");

    /// <summary>The sqlite file, relative paths taken from the config file's folder so the rig works from any cwd.</summary>
    public string ResolveStorePath()
    {
        if (Results.Kind != ResultsStoreKind.Sqlite || Results.Path is null)
            throw new InvalidOperationException($"{SourcePath}: results.kind is {Results.Kind.ToString().ToLowerInvariant()}, which has no file path");
        if (System.IO.Path.IsPathRooted(Results.Path))
            return Results.Path;
        var folder = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(SourcePath)) ?? ".";
        return System.IO.Path.GetFullPath(System.IO.Path.Combine(folder, Results.Path));
    }
}

/// <summary>
/// The simulated line (<c>sim.line</c>): an operator who keeps the slots fed from a seeded population of
/// <paramref name="Cores"/> Cores from <paramref name="Lots"/> chip lots, <paramref name="BadLots"/> of them with high
/// defect rates, taking <paramref name="Handling"/> per Core (pull the finished one, drop in the next).
/// </summary>
public sealed record SimLineConfig(int Cores, int Lots, int BadLots, int Seed, TimeSpan Handling)
{
    public const int DefaultLots = 4;

    public static readonly TimeSpan DefaultHandling = TimeSpan.FromSeconds(15);
}
