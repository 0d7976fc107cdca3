using HilRig.Core.Config;

namespace HilRig.Tests.Config;

/// <summary>The `pi:` section: which GPIO chip and I2C bus the Pi backend opens.</summary>
public class PiSettingsTests
{
    private const string Rig = """
        rigId: t
        backend: pi
        results: { kind: sqlite, path: r.db }
        slots:
          - { slot: 1, power: { gpio: 5 }, mode: { gpio: 6 }, reset: { gpio: 13 }, usb: { hub: "1-1", port: 1 }, sensor: { mux: 0x70, channel: 0 } }
        """;

    [Test]
    public void Without_a_pi_section_the_backend_uses_gpiochip0_and_i2c_1()
    {
        Assert.That(RigConfigLoader.Parse(Rig, "t.yaml").Pi, Is.EqualTo(new PiSettings(0, 1)));
    }

    [Test]
    public void The_pi_section_sets_the_chip_and_the_bus()
    {
        Assert.That(RigConfigLoader.Parse(Rig + "\npi: { gpioChip: 4, i2cBus: 3 }\n", "t.yaml").Pi, Is.EqualTo(new PiSettings(4, 3)));
        Assert.That(RigConfigLoader.Parse(Rig + "\npi: { i2cBus: 0 }\n", "t.yaml").Pi, Is.EqualTo(new PiSettings(0, 0)));
    }

    [TestCase("pi: { gpioChip: 99 }", "t.yaml:6:17: pi.gpioChip: 99 is not a GPIO chip number (/dev/gpiochipN); valid: 0-15")]
    [TestCase("pi: { i2cBus: -1 }", "t.yaml:6:15: pi.i2cBus: -1 is not an I2C bus number (/dev/i2c-N); valid: 0-31")]
    public void A_bad_value_is_one_error_at_its_node(string line, string expected)
    {
        var e = Assert.Throws<ConfigException>(() => RigConfigLoader.Parse(Rig + "\n" + line + "\n", "t.yaml"))!;
        Assert.That(e.Errors.Select(x => x.ToString()), Is.EqualTo(new[] { expected }));
    }

    [Test]
    public void An_unknown_key_in_the_pi_section_is_an_error_naming_it()
    {
        var e = Assert.Throws<ConfigException>(() => RigConfigLoader.Parse(Rig + "\npi: { spiBus: 0 }\n", "t.yaml"))!;
        Assert.That(e.Errors.Single().ToString(), Does.Contain("pi.spiBus").And.Contain("gpioChip"));
    }
}
