using System.Device.Gpio;
using HilRig.Composition;
using HilRig.Core.Config;
using HilRig.Core.Slots;
using HilRig.Core.Usb;
using HilRig.Hardware.Pi;
using HilRig.Sim.Rig;
using HilRig.Sim.Rig.I2c;
using HilRig.Sim.Usb;
using HilRig.Tests.Cli;

namespace HilRig.Tests.Hardware;

/// <summary>The Pi backend without a Pi: which devices a config makes it open, and what it says when one is missing.</summary>
public class PiRigTests
{
    private const string TwoSlots = """
        rigId: pi-rig-01
        backend: pi
        results: { kind: sqlite, path: results/hilrig.db }
        pi: { gpioChip: 4, i2cBus: 3 }
        slots:
          - slot: 1
            power: { gpio: 5 }
            mode:  { expander: 0x20, pin: 0 }
            reset: { expander: 0x20, pin: 8 }
            usb:   { hub: "1-1", port: 1 }
            sensor: { mux: 0x70, channel: 0 }
          - slot: 2
            power: { expander: 0x21, pin: 2, activeLow: true }
            mode:  { expander: 0x20, pin: 1 }
            reset: { expander: 0x20, pin: 9 }
            usb:   { hub: "1-1", port: 2 }
            sensor: { mux: 0x70, channel: 1 }
        """;

    /// <summary>
    /// The Pi's own device code (<see cref="LinuxPiDevices"/>: node checks under a fake /dev, sysfs tty lookup) with the
    /// simulator's GPIO and I2C models where libgpiod and i2c-dev would be; every open is logged.
    /// </summary>
    private sealed class LoggedPiDevices
    {
        public SimGpioDriver Header { get; } = new();
        public SimI2cBus Bus { get; } = new("fake i2c");
        public Dictionary<int, Mcp23017Model> Expanders { get; } = [];
        public List<string> Log { get; } = [];
        public LinuxPiDevices Devices { get; }

        public LoggedPiDevices(params int[] expanders)
        {
            foreach (var address in expanders)
            {
                Expanders[address] = new Mcp23017Model();
                Bus.Attach(address, Expanders[address]);
            }
            var root = Directory.CreateTempSubdirectory("hilrig-pi-dev-").FullName;
            foreach (var node in new[] { "gpiochip4", "gpiochip0", "i2c-3", "i2c-1" }) File.WriteAllBytes(Path.Combine(root, node), []);
            Devices = new LinuxPiDevices(root, Path.Combine(root, "sys"), new PiDeviceOpeners
            {
                GpioChip = chip => { Log.Add($"gpiochip{chip}"); return Header; },
                I2cBus = bus => { Log.Add($"i2c-{bus}"); return Bus; },
                Usb = () => { Log.Add("usb"); return new VirtualUsbBus(TimeProvider.System); },
            });
        }
    }

    private static RigConfig Config(string text) => RigConfigLoader.Parse(text, "pi.yaml");

    private static readonly RigSessionOptions NoLeds = new() { ObserveLeds = false };

    private static RigSession Open(string text, LoggedPiDevices devices, RigSessionOptions? options = null) =>
        RigSession.Open(Config(text), (options ?? NoLeds) with { PiDevices = devices.Devices });

    [Test]
    public void Opens_the_configured_gpio_chip_the_configured_i2c_bus_once_and_usb_in_wiring_order()
    {
        var devices = new LoggedPiDevices(0x20, 0x21);
        using var session = Open(TwoSlots, devices);
        Assert.That(devices.Log, Is.EqualTo(new[] { "gpiochip4", "i2c-3", "usb" }));
        Assert.That(session.Slots.Select(s => (s.Number, s.UsbPath)), Is.EqualTo(new[] { (1, "1-1.1"), (2, "1-1.2") }));
        Assert.That(session.Time, Is.SameAs(TimeProvider.System));
        Assert.That(session.Slots.Select(s => s.Lot), Is.All.Null, "a real Core's lot comes from the inventory, never the simulator's placeholder");
        Assert.That(session.RunFacts.Seed, Is.Null, "a real rig records no simulator seed");
        Assert.That(session.RunFacts.Backend, Is.EqualTo("pi"));
    }

    [Test]
    public void Slot_lines_drive_the_header_and_expander_pins_the_config_names_with_their_active_levels()
    {
        var devices = new LoggedPiDevices(0x20, 0x21);
        using var session = Open(TwoSlots, devices);
        var slot1 = session.Slot(1);
        var slot2 = session.Slot(2);

        // Opening presses nothing: MODE/RESET are active low, so released = high.
        Assert.That(devices.Expanders[0x20].OutputLevel(0), Is.True);
        Assert.That(devices.Expanders[0x20].OutputLevel(8), Is.True);

        slot1.Control.SetPower(true);
        Assert.That(devices.Header.Level(5), Is.EqualTo(PinValue.High));
        slot1.Control.SetMode(true);
        Assert.That(devices.Expanders[0x20].OutputLevel(0), Is.False, "MODE pressed pulls the line low");
        slot2.Control.SetPower(true);
        Assert.That(devices.Expanders[0x21].OutputLevel(2), Is.False, "slot 2's relay is active low");
        slot2.Control.SetReset(true);
        Assert.That(devices.Expanders[0x20].OutputLevel(9), Is.False);
        Assert.That(devices.Expanders[0x20].OutputLevel(1), Is.True, "slot 2's MODE untouched");
    }

    [Test]
    public void A_rig_without_header_lines_never_opens_the_gpio_chip()
    {
        var text = TwoSlots.Replace("power: { gpio: 5 }", "power: { expander: 0x21, pin: 1 }", StringComparison.Ordinal);
        var devices = new LoggedPiDevices(0x20, 0x21);
        using var session = Open(text, devices);
        Assert.That(devices.Log, Has.None.StartsWith("gpiochip"));
    }

    [Test]
    public void An_expander_that_does_not_answer_is_one_line_naming_the_bus_and_address()
    {
        var devices = new LoggedPiDevices(0x20); // 0x21 missing
        var ex = Assert.Throws<RigDeviceException>(() => Open(TwoSlots, devices));
        Assert.That(ex!.Message, Does.StartWith("/dev/i2c-3: no MCP23017 answers at 0x21"));
        Assert.That(ex.Message, Does.Not.Contain("\n"));
    }

    [Test]
    public void Missing_device_nodes_name_the_node_and_the_fix()
    {
        var root = Directory.CreateTempSubdirectory("hilrig-dev-").FullName;
        var devices = new LinuxPiDevices(root);
        var gpio = Assert.Throws<PiHardwareException>(() => devices.OpenGpioChip(0));
        Assert.That(gpio!.Message, Is.EqualTo($"{root}/gpiochip0: no such device; is this a Raspberry Pi with the GPIO interface enabled? (pi.gpioChip in the rig config picks another chip)"));
        var i2c = Assert.Throws<PiHardwareException>(() => devices.OpenI2cBus(1));
        Assert.That(i2c!.Message, Does.StartWith($"{root}/i2c-1: no such device; enable I2C (`sudo raspi-config nonint do_i2c 0`"));
    }

    [Test]
    public void With_a_cloud_section_the_pi_session_flashes_through_the_Particle_REST_API_and_without_one_has_no_cloud()
    {
        var cloudConfig = RigConfigLoader.Parse(TwoSlots + "\ncloud: { url: \"http://127.0.0.1:8080\", token: abc }\n", "pi.yaml", _ => null);
        using (var session = RigSession.Open(cloudConfig, NoLeds with { PiDevices = new LoggedPiDevices(0x20, 0x21).Devices }))
        {
            var client = session.Cloud as HilRig.Hardware.Cloud.ParticleCloudClient;
            Assert.That(client, Is.Not.Null, "backend: pi with a cloud section");
            Assert.That(client!.Settings.Url, Is.EqualTo(new Uri("http://127.0.0.1:8080/")));
            Assert.That(session.Life.Cloud, Is.SameAs(client), "the procedures get the session's one client");
        }
        using var without = RigSession.Open(RigConfigLoader.Parse(TwoSlots, "pi.yaml", _ => null), NoLeds with { PiDevices = new LoggedPiDevices(0x20, 0x21).Devices });
        Assert.That(without.Cloud, Is.Null);
    }

    [Test]
    public void On_a_machine_without_gpio_the_cli_exits_3_with_one_line_and_no_stack_trace()
    {
        Assume.That(File.Exists("/dev/gpiochip0"), Is.False, "this machine has a GPIO chip");
        var dir = Directory.CreateTempSubdirectory("hilrig-pi-").FullName;
        var config = Path.Combine(dir, "rig-config.yaml");
        File.WriteAllText(config, TwoSlots.Replace("pi: { gpioChip: 4, i2cBus: 3 }", "", StringComparison.Ordinal));
        foreach (var command in new[] { "doctor", "screen" })
        {
            var (exit, output, error) = CliHarness.Run(command, "--config", config);
            Assert.That(exit, Is.EqualTo(3), command);
            Assert.That(error.TrimEnd(), Is.EqualTo("hilrig: /dev/gpiochip0: no such device; is this a Raspberry Pi with the GPIO interface enabled? (pi.gpioChip in the rig config picks another chip)"), command);
            Assert.That(output, Is.Empty, command);
        }
        // the slot leases' lock files (results/locks) are taken before the rig opens; nothing else may be written
        var results = Path.Combine(dir, "results");
        var written = Directory.Exists(results)
            ? Directory.EnumerateFileSystemEntries(results, "*", SearchOption.AllDirectories).Select(p => Path.GetRelativePath(results, p)).Where(p => p != "locks" && !p.StartsWith("locks/", StringComparison.Ordinal)).ToList()
            : [];
        Assert.That(written, Is.Empty, "nothing but lock files written when the rig cannot open");
    }
}
