using System.Device.Gpio;
using System.Device.I2c;
using System.Reflection;
using HilRig.Core.Cloud;
using HilRig.Core.Config;
using HilRig.Core.Serial;
using HilRig.Core.Usb;
using HilRig.Sim.Rig;

namespace HilRig.Composition;

/// <summary>
/// What a backend supplies to the one composition (<see cref="RigSession"/>): devices and facts only. The simulator
/// supplies its models; the Pi supplies what it opened under /dev (or, for tests, the simulator's models behind fake
/// device nodes). Everything built on top (slots, controls, hub power, LED observation, identity) is the same code.
/// </summary>
internal sealed record RigDevices
{
    public required TimeProvider Time { get; init; }

    /// <summary>The header's GPIO driver; null when the config drives no header line (the Pi then never opens the chip).</summary>
    public required GpioDriver? Header { get; init; }

    /// <summary>The I2C bus by its number (null: the rig's default bus).</summary>
    public required Func<int?, I2cBus> I2cBus { get; init; }

    /// <summary>How a bus is named in messages ("/dev/i2c-1", "simulated i2c-1").</summary>
    public required Func<int?, string> DescribeI2c { get; init; }

    public required IUsbBus Usb { get; init; }

    public required Func<SlotConfig, ISlotSerial> Serial { get; init; }

    public ICloud? Cloud { get; init; }

    /// <summary>A slot's chip lot when the backend knows it (the simulator's population); null on real Cores.</summary>
    public Func<int, string?> Lot { get; init; } = _ => null;

    public required RunFacts Facts { get; init; }

    /// <summary>Where rig work runs: the simulation thread, or the caller's thread on real hardware.</summary>
    public required Func<Func<Task>, Task> Run { get; init; }

    /// <summary>The clock the LED sampler paces itself with (the simulator's background view: it never keeps an idle rig busy).</summary>
    public required TimeProvider SamplingPacing { get; init; }

    /// <summary>The simulator behind the devices (sim backend, or a Pi over simulated devices); null on real hardware.</summary>
    public SimRig? Simulator { get; init; }

    /// <summary>Stops the devices' own activity (the simulation clock) before the controls on them are closed.</summary>
    public Action Stop { get; init; } = () => { };

    /// <summary>Releases the devices, after the controls on them are closed.</summary>
    public Action Release { get; init; } = () => { };
}

/// <summary>
/// What a run records about the rig it ran on, by backend: a real rig records what is real (rig id, software version,
/// the bootloader when known), the simulator its seed and simulated bootloader. Never the simulator's seed for real Cores.
/// </summary>
public sealed record RunFacts(string RigId, string Backend, string SoftwareVersion, int? Seed, string? Bootloader, string DeviceSource)
{
    public static string HilRigVersion { get; } =
        typeof(RunFacts).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    internal static RunFacts Simulated(RigConfig config) =>
        new(config.RigId, "sim", HilRigVersion, config.Sim.Seed, config.Sim.Bootloader.ToString(), "simulator");

    /// <summary>A Pi's bootloader is whatever its Cores carry: found by a procedure or flashed by a soak, not known at open.</summary>
    internal static RunFacts Pi(RigConfig config, string deviceSource) =>
        new(config.RigId, "pi", HilRigVersion, null, null, deviceSource);

    /// <summary>The facts as key/value pairs for a report's environment (Allure's environment.properties).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Describe()
    {
        var facts = new List<KeyValuePair<string, string>>
        {
            new("rig.id", RigId),
            new("rig.backend", Backend),
            new("rig.devices", DeviceSource),
            new("rig.bootloader", Bootloader ?? "as found on the Cores"),
            new("hilrig.version", SoftwareVersion),
        };
        if (Seed is { } seed) facts.Add(new("sim.seed", seed.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        return facts;
    }
}
