using HilRig.Core.Config;

namespace HilRig.Tests.Config;

public class RigConfigLoaderTests
{
    // Two slots on one line each so every error position below can be checked by eye.
    private const string Valid = """
        rigId: t
        backend: sim
        results: { kind: sqlite, path: r.db }
        slots:
          - { slot: 1, power: { gpio: 5 }, mode: { gpio: 6 }, reset: { gpio: 13 }, usb: { hub: "1-1", port: 1 }, sensor: { mux: 0x70, channel: 0 } }
          - { slot: 2, power: { gpio: 16 }, mode: { gpio: 19 }, reset: { gpio: 20 }, usb: { hub: "1-1", port: 2 }, sensor: { mux: 0x70, channel: 1 } }
        sim:
          seed: 7
          bootloader: BL14
          cores:
            - { slot: 1, lot: A }
        """;

    private static IReadOnlyList<string> ErrorsOf(string yaml)
    {
        var e = Assert.Throws<ConfigException>(() => RigConfigLoader.Parse(yaml, "t.yaml"))!;
        return e.Errors.Select(x => x.ToString()).ToList();
    }

    private static string Edit(string find, string replace)
    {
        var at = Valid.IndexOf(find, StringComparison.Ordinal);
        if (at < 0)
            throw new ArgumentException($"'{find}' is not in the template", nameof(find));
        return Valid[..at] + replace + Valid[(at + find.Length)..];
    }

    [Test]
    public void The_template_itself_is_valid()
    {
        var config = RigConfigLoader.Parse(Valid, "t.yaml");
        Assert.That(config.Slots, Has.Count.EqualTo(2));
        Assert.That(config.Sim.Seed, Is.EqualTo(7));
    }

    [TestCase("port: 2 }", "port: 9 }",
        "t.yaml:6:103: slots[1].usb.port: 9 is not a hub port; valid: 1-7")]
    [TestCase("backend: sim", "backend: qemu",
        "t.yaml:2:10: backend: qemu is not a backend; valid: sim, pi")]
    [TestCase("bootloader: BL14", "bootloader: BL15",
        "t.yaml:9:15: sim.bootloader: BL15 is not a bootloader; valid: BL13, BL14, candidate")]
    [TestCase("seed: 7", "seed: seven",
        "t.yaml:8:9: sim.seed: seven is not a seed; valid: a 32-bit integer")]
    [TestCase("rigId: t\n", "rigId: t\ncolour: red\n",
        "t.yaml:2:1: colour: unknown key 'colour'; valid: rigId, backend, results, slots, sim, pi, cloud, line, fleet, screening")]
    [TestCase("rigId: t\n", "",
        "t.yaml:1:1: rigId: missing required key 'rigId'")]
    [TestCase("{ slot: 2,", "{ slot: 1,",
        "t.yaml:6:13: slots[1].slot: slot 1 is already slots[0]; each slot number once")]
    [TestCase("{ slot: 2,", "{ slot: 17,",
        "t.yaml:6:13: slots[1].slot: 17 is not a slot number; valid: 1-16")]
    [TestCase("power: { gpio: 16 }", "power: { gpio: 13 }",
        "t.yaml:6:23: slots[1].power: gpio 13 is already wired to slots[0].reset; each line drives one slot input")]
    [TestCase("power: { gpio: 16 }", "power: { gpio: 40 }",
        "t.yaml:6:31: slots[1].power.gpio: 40 is not a Pi header BCM line; valid: 0-27")]
    [TestCase("power: { gpio: 16 }", "power: { expander: 0x20 }",
        "t.yaml:6:23: slots[1].power.pin: missing required key 'pin' for an expander line; valid: 0-15")]
    [TestCase("power: { gpio: 16 }", "power: { expander: 0x30, pin: 1 }",
        "t.yaml:6:35: slots[1].power.expander: 0x30 is not an MCP23017 I2C address; valid: 0x20-0x27")]
    [TestCase("power: { gpio: 16 }", "power: { activeLow: false }",
        "t.yaml:6:23: slots[1].power: a line is either { gpio: N } or { expander: 0x20-0x27, pin: 0-15 }, exactly one of gpio/expander")]
    [TestCase("port: 2 }", "port: 1 }",
        "t.yaml:6:83: slots[1].usb: hub 1-1 port 1 is already slots[0].usb; each slot needs its own hub port")]
    [TestCase("hub: \"1-1\", port: 2", "hub: \"usb1\", port: 2",
        "t.yaml:6:90: slots[1].usb.hub: 'usb1' is not a USB hub path; valid: bus-port[.port...], e.g. \"1-1\" or \"1-1.4\"")]
    [TestCase("channel: 1 }", "channel: 0 }",
        "t.yaml:6:116: slots[1].sensor: mux 0x70 channel 0 is already slots[0].sensor; each slot needs its own sensor channel")]
    [TestCase("mux: 0x70, channel: 1", "mux: 0x71, channel: 8",
        "t.yaml:6:138: slots[1].sensor.channel: 8 is not a TCA9548A channel; valid: 0-7")]
    [TestCase("{ slot: 1, lot: A }", "{ slot: 1, lot: A, deviceId: 55ff6c0650755553320717 }",
        "t.yaml:11:36: sim.cores[0].deviceId: '55ff6c0650755553320717' is not a device id; valid: 24 hex digits, e.g. 55ff6c065075555332071787")]
    [TestCase("{ slot: 1, lot: A }", "{ slot: 1, lot: A, deviceId: 55ff6c065075555332071787 }\n    - { slot: 2, lot: B, deviceId: 55FF6C065075555332071787 }",
        "t.yaml:12:36: sim.cores[1].deviceId: device id 55ff6c065075555332071787 is already sim.cores[0]; device ids are unique")]
    [TestCase("{ slot: 1, lot: A }", "{ slot: 3, lot: A }",
        "t.yaml:11:15: sim.cores[0].slot: slot 3 is not in the rig; valid: 1, 2")]
    [TestCase("{ slot: 1, lot: A }", "{ slot: 1, lot: A }\n    - { slot: 1, lot: B }",
        "t.yaml:12:15: sim.cores[1].slot: slot 1 already has a Core at sim.cores[0]")]
    [TestCase("{ slot: 1, lot: A }", "{ slot: 1 }",
        "t.yaml:11:7: sim.cores[0].lot: missing required key 'lot'")]
    [TestCase("{ slot: 1, lot: A }", "{ slot: 1, lot: A, flash: { stuckBits: 0 } }",
        "t.yaml:11:46: sim.cores[0].flash.stuckBits: 0 is not a stuck-bit count (integer); valid: 1-3145728")]
    [TestCase("{ slot: 1, lot: A }", "{ slot: 1, lot: A, flash: { badSectors: 1.5 } }",
        "t.yaml:11:47: sim.cores[0].flash.badSectors: 1.5 is not a bad-sector count (integer); valid: 1-512")]
    [TestCase("{ slot: 1, lot: A }", "{ slot: 1, lot: A, flash: { slow: 1 } }",
        "t.yaml:11:41: sim.cores[0].flash.slow: 1 is not a slow-down factor; valid: a number > 1 (times the datasheet maximum)")]
    [TestCase("{ slot: 1, lot: A }", "{ slot: 1, lot: A, flash: { dead: false } }",
        "t.yaml:11:41: sim.cores[0].flash.dead: false is not allowed; write { dead: true } or leave the chip healthy")]
    [TestCase("{ slot: 1, lot: A }", "{ slot: 1, lot: A, flash: melted }",
        "t.yaml:11:33: sim.cores[0].flash: 'melted' is not a flash condition; valid: healthy, { stuckBits: N }, { badSectors: N }, { slow: F }, { dead: true }")]
    [TestCase("{ slot: 1, lot: A }", "{ slot: 1, lot: A, flash: { rusty: 2 } }",
        "t.yaml:11:35: sim.cores[0].flash.rusty: 'rusty' is not a flash condition; valid: healthy, { stuckBits: N }, { badSectors: N }, { slow: F }, { dead: true }")]
    [TestCase("results: { kind: sqlite, path: r.db }", "results: { kind: sqlite }",
        "t.yaml:3:10: results.path: missing required key 'path' for a sqlite store, e.g. results/hilrig.db")]
    [TestCase("results: { kind: sqlite, path: r.db }", "results: { kind: mysql, path: r.db }",
        "t.yaml:3:18: results.kind: mysql is not a results store kind; valid: sqlite, postgres")]
    public void Each_rule_reports_one_error_at_the_offending_node(string find, string replace, string expected)
    {
        Assert.That(ErrorsOf(Edit(find, replace)), Is.EqualTo(new[] { expected }));
    }

    [TestCase("bootloader: BL14", "bootloader: [BL14", "t.yaml:9:")]
    [TestCase("  seed: 7", "    seed: 7", "t.yaml:9:")]
    [TestCase("rigId: t", "rigId: \"t", "t.yaml:1:8:")]
    public void A_yaml_syntax_error_is_one_error_with_its_position(string find, string replace, string position)
    {
        var errors = ErrorsOf(Edit(find, replace));
        Assert.That(errors, Has.Count.EqualTo(1));
        Assert.That(errors[0], Does.StartWith(position).And.Contain("not valid YAML"));
    }

    [Test]
    public void A_key_written_twice_is_one_error_with_its_position()
    {
        var errors = ErrorsOf(Edit("  seed: 7\n", "  seed: 7\n  seed: 8\n"));
        Assert.That(errors, Has.Count.EqualTo(1));
        Assert.That(errors[0], Does.StartWith("t.yaml:9:"));
    }

    [Test]
    public void A_derived_device_id_written_out_for_another_slot_is_a_duplicate()
    {
        var derivedForSlot2 = SimDefaults.DeviceIdFor(7, 2);
        var errors = ErrorsOf(Edit("{ slot: 1, lot: A }", $"{{ slot: 1, lot: A, deviceId: {derivedForSlot2} }}"));
        Assert.That(errors, Is.EqualTo(new[]
        {
            $"t.yaml:11:36: sim.cores[0].deviceId: device id {derivedForSlot2} is the one derived for slot 2; choose another",
        }));
    }

    [TestCase("")]
    [TestCase("# only a comment\n")]
    public void An_empty_file_says_which_keys_it_needs(string yaml)
    {
        Assert.That(ErrorsOf(yaml), Is.EqualTo(new[] { "t.yaml:1:1: the file is empty; expected keys: rigId, backend, results, slots, sim, pi, cloud, line, fleet, screening" }));
    }

    [Test]
    public void A_missing_file_is_one_error_naming_the_file()
    {
        var path = Path.Combine(Path.GetTempPath(), $"hilrig-missing-{Guid.NewGuid():N}.yaml");
        var e = Assert.Throws<ConfigException>(() => RigConfigLoader.Load(path))!;
        Assert.That(e.Errors, Has.Count.EqualTo(1));
        Assert.That(e.Errors[0].ToString(), Does.StartWith($"{path}:1:1: cannot read the rig config: file not found"));
    }

    [Test]
    public void The_default_rig_config_is_a_simulated_rig_of_eight_healthy_cores_from_two_lots()
    {
        var config = RigConfigLoader.Load(RepoFiles.Path("rig-config.yaml"));

        Assert.That(config.Backend, Is.EqualTo(RigBackend.Sim));
        Assert.That(config.Results.Kind, Is.EqualTo(ResultsStoreKind.Sqlite));
        Assert.That(config.ResolveStorePath(), Is.EqualTo(RepoFiles.Path(Path.Combine("results", "hilrig.db"))));
        Assert.That(config.Slots.Select(s => s.Number), Is.EqualTo(Enumerable.Range(1, 8)));
        Assert.That(config.Slot(3).Usb.DevicePath, Is.EqualTo("1-1.3"));
        Assert.That(config.Slot(5).Usb.DevicePath, Is.EqualTo("1-2.1"));
        Assert.That(config.Slots.All(s => s.Mode.ActiveLow && s.Reset.ActiveLow && !s.Power.ActiveLow), "buttons default active-low, relays active-high");
        Assert.That(config.Slots.Select(s => s.Sensor.Channel), Is.EqualTo(Enumerable.Range(0, 8)));
        Assert.That(config.Sim.Seed, Is.EqualTo(42));
        Assert.That(config.Sim.Bootloader, Is.EqualTo(SimBootloader.BL14));
        Assert.That(config.Sim.Cores.All(c => c.Flash == FlashCondition.Healthy));
        Assert.That(config.Sim.Cores.GroupBy(c => c.Lot).ToDictionary(g => g.Key, g => g.Count()),
            Is.EqualTo(new Dictionary<string, int> { ["SST25-1348A"] = 4, ["SST25-1402B"] = 4 }));
        Assert.That(config.Sim.Cores.Select(c => c.DeviceId), Is.Unique);
    }

    [Test]
    public void The_bad_flash_example_puts_each_fault_in_its_slot()
    {
        var sim = RigConfigLoader.Load(RepoFiles.Path("examples/bad-flash-rig.yaml")).Sim;

        Assert.That(sim.CoreFor(3).Flash, Is.EqualTo(new FlashCondition.StuckBits(12)));
        Assert.That(sim.CoreFor(5).Flash, Is.EqualTo(new FlashCondition.BadSectors(2)));
        Assert.That(sim.CoreFor(7).Flash, Is.EqualTo(new FlashCondition.Dead()));
        Assert.That(sim.CoreFor(8).Flash, Is.EqualTo(new FlashCondition.Slow(3)));
        Assert.That(new[] { 1, 2, 4, 6 }.Select(s => sim.CoreFor(s).Flash), Is.All.EqualTo(FlashCondition.Healthy));
    }

    [Test]
    public void The_invalid_example_reports_every_mistake_not_just_the_first()
    {
        var path = RepoFiles.Path("examples/invalid-rig.yaml");
        var e = Assert.Throws<ConfigException>(() => RigConfigLoader.Load(path))!;
        var fields = e.Errors.Select(x => x.Field).ToList();

        Assert.That(fields, Is.EquivalentTo(new[]
        {
            "backend", "slots[1].slot", "slots[1].power", "slots[1].usb.port", "slots[2].colour", "slots[2].sensor",
            "sim.bootloader", "sim.cores[0].deviceId", "sim.cores[1].flash.stuckBits", "sim.cores[2].slot", "sim.cores[2].flash",
        }));
        Assert.That(e.Errors.All(x => x.File == path && x.Line > 1 && x.Column >= 1));
        Assert.That(e.Errors.Select(x => (x.Line, x.Column)), Is.Ordered, "errors in file order, as an editor lists them");
    }

    [Test]
    public void Unlisted_slots_hold_a_healthy_core_with_an_id_derived_from_seed_and_slot()
    {
        var config = RigConfigLoader.Parse(Valid, "t.yaml");
        var unlisted = config.Sim.CoreFor(2);

        Assert.That(unlisted.Flash, Is.EqualTo(FlashCondition.Healthy));
        Assert.That(unlisted.Lot, Is.EqualTo(SimDefaults.UnlistedLot));
        Assert.That(unlisted.DeviceId, Is.EqualTo(SimDefaults.DeviceIdFor(7, 2)));
        Assert.That(config.Sim.CoreFor(1).Lot, Is.EqualTo("A"));
    }

    [Test]
    public void Derived_device_ids_look_like_real_cores_and_replay_with_the_seed()
    {
        var ids = Enumerable.Range(1, 16).Select(slot => SimDefaults.DeviceIdFor(42, slot)).ToList();

        Assert.That(ids, Is.All.Match("^(55ff|54ff)[0-9a-f]{20}$"));
        Assert.That(ids, Is.Unique);
        Assert.That(Enumerable.Range(1, 16).Select(slot => SimDefaults.DeviceIdFor(42, slot)), Is.EqualTo(ids), "same seed, same ids");
        Assert.That(SimDefaults.DeviceIdFor(43, 1), Is.Not.EqualTo(ids[0]), "another seed, other ids");
    }

    [Test]
    public void The_hash_ignores_comments_and_layout_but_not_values()
    {
        var original = RigConfigLoader.Parse(Valid, "t.yaml").Hash;
        var commented = RigConfigLoader.Parse("# a comment\n" + Valid.Replace("seed: 7", "seed:   7   # replay", StringComparison.Ordinal), "t.yaml").Hash;
        var changed = RigConfigLoader.Parse(Edit("seed: 7", "seed: 8"), "t.yaml").Hash;

        Assert.That(original, Does.Match("^[0-9a-f]{16}$"));
        Assert.That(commented, Is.EqualTo(original));
        Assert.That(changed, Is.Not.EqualTo(original));
    }
}
