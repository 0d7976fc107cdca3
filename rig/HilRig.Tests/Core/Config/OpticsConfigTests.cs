using HilRig.Core.Config;
using HilRig.Sim.Optics;
using HilRig.Sim.Rig;

namespace HilRig.Tests.Config;

/// <summary>sim.optics: how light reaches the simulated colour sensors, validated like every other key.</summary>
public class OpticsConfigTests
{
    private const string Rig = """
        rigId: t
        backend: sim
        results: { kind: sqlite, path: r.db }
        slots:
          - { slot: 1, power: { gpio: 5 }, mode: { gpio: 6 }, reset: { gpio: 13 }, usb: { hub: "1-1", port: 1 }, sensor: { mux: 0x70, channel: 0 } }
        sim:
          seed: 7

        """;

    private static IReadOnlyList<string> ErrorsOf(string optics)
    {
        var e = Assert.Throws<ConfigException>(() => RigConfigLoader.Parse(Rig + optics, "t.yaml"))!;
        return e.Errors.Select(x => x.ToString()).ToList();
    }

    [Test]
    public void Without_optics_the_simulator_keeps_its_defaults()
    {
        var config = RigConfigLoader.Parse(Rig, "t.yaml");
        Assert.That(config.Sim.OpticsOrDefault, Is.EqualTo(SimOpticsConfig.Default));
        using var sim = SimRig.Build(config);
        Assert.That(sim.Optics, Is.EqualTo(OpticsSettings.Default));
    }

    [Test]
    public void Given_keys_reach_the_simulated_optics_and_the_others_keep_their_defaults()
    {
        var config = RigConfigLoader.Parse(Rig + "  optics: { ambient: 12.5, crosstalk: 0.2, fullScale: true }\n", "t.yaml");
        Assert.That(config.Sim.OpticsOrDefault, Is.EqualTo(new SimOpticsConfig(12.5, 1.0, 0.2, true)));
        using var sim = SimRig.Build(config);
        Assert.Multiple(() =>
        {
            Assert.That(sim.Optics.AmbientCountsPerCycle, Is.EqualTo(12.5));
            Assert.That(sim.Optics.NoiseLevel, Is.EqualTo(OpticsSettings.Default.NoiseLevel));
            Assert.That(sim.Optics.CrosstalkFraction, Is.EqualTo(0.2));
            Assert.That(sim.Optics.Brightness, Is.EqualTo(256), "full scale: the BL13-era firmware's LED");
        });
    }

    [TestCase("  optics: { crosstalk: 0.6 }\n",
        "t.yaml:8:24: sim.optics.crosstalk: 0.6 is not a crosstalk fraction; valid: a fraction of a neighbouring LED's light, 0-0.5 (default 0.01)")]
    [TestCase("  optics: { ambient: -1 }\n",
        "t.yaml:8:22: sim.optics.ambient: -1 is not an ambient light level; valid: clear counts per 2.4 ms cycle at 1x gain, 0-1000 (default 4)")]
    [TestCase("  optics: { noise: loud }\n",
        "t.yaml:8:20: sim.optics.noise: loud is not a noise level; valid: a multiplier on shot noise, 0-10 (0 = noiseless, default 1)")]
    [TestCase("  optics: { fullScale: yes }\n",
        "t.yaml:8:24: sim.optics.fullScale: yes is not a boolean; valid: true, false")]
    [TestCase("  optics: { glare: 3 }\n",
        "t.yaml:8:13: sim.optics.glare: unknown key 'glare'; valid: ambient, noise, crosstalk, fullScale")]
    [TestCase("  optics: dim\n",
        "t.yaml:8:11: sim.optics: 'dim' is not a mapping; expected keys: ambient, noise, crosstalk, fullScale")]
    public void A_bad_optics_value_is_one_error_naming_file_line_column_field_and_what_is_valid(string optics, string expected)
    {
        Assert.That(ErrorsOf(optics), Is.EqualTo(new[] { expected }));
    }
}
