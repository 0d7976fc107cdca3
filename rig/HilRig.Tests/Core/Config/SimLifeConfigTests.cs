using HilRig.Core.Config;

namespace HilRig.Tests.Config;

/// <summary>The sim: keys of the Core's life: firmware generation, cloud link, welded relays.</summary>
public class SimLifeConfigTests
{
    private const string Head = """
        rigId: t
        backend: sim
        results: { kind: sqlite, path: r.db }
        slots:
          - { slot: 1, power: { gpio: 5 }, mode: { gpio: 6 }, reset: { gpio: 13 }, usb: { hub: "1-1", port: 1 }, sensor: { mux: 0x70, channel: 0 } }
        sim:
          seed: 7

        """;

    [Test]
    public void Defaults_are_the_seeds_firmware_a_lossless_cloud_and_no_faults()
    {
        var sim = RigConfigLoader.Parse(Head, "t.yaml").Sim;
        Assert.That(sim.Firmware, Is.EqualTo(SimFirmware.Seed2014));
        Assert.That(sim.Cloud, Is.EqualTo(new SimCloudSettings(20, 0)));
        Assert.That(sim.WeldedRelays, Is.Empty);
    }

    [Test]
    public void Firmware_cloud_and_welded_relays_are_read()
    {
        var sim = RigConfigLoader.Parse(Head + "  firmware: verified\n  cloud: { latencyMs: 80, loss: 0.05 }\n  weldedRelays: [1]\n", "t.yaml").Sim;
        Assert.That(sim.Firmware, Is.EqualTo(SimFirmware.Verified));
        Assert.That(sim.Cloud, Is.EqualTo(new SimCloudSettings(80, 0.05)));
        Assert.That(sim.WeldedRelays, Is.EqualTo(new[] { 1 }));
    }

    [TestCase("  firmware: 2015\n", "t.yaml:8:13: sim.firmware: 2015 is not an app firmware generation; valid: seed2014, verified")]
    [TestCase("  cloud: { loss: 1.5 }\n", "sim.cloud.loss")]
    [TestCase("  weldedRelays: [0]\n", "sim.weldedRelays[0]")]
    public void A_bad_value_is_one_line_naming_the_key_and_what_is_valid(string extra, string expected)
    {
        var e = Assert.Throws<ConfigException>(() => RigConfigLoader.Parse(Head + extra, "t.yaml"))!;
        Assert.That(e.Errors.Select(x => x.ToString()), Has.Some.Contains(expected));
        Assert.That(e.Errors.Select(x => x.ToString()), Has.All.Contains("valid"));
    }
}
