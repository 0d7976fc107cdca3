using System.Text.Json;
using HilRig.Core.Config;
using HilRig.Tests.Cli;

namespace HilRig.Tests.Health;

/// <summary>
/// The operator's side of issue 14.2 through `hilrig`: a worn slot fails good Cores that then pass elsewhere, goes suspect
/// then quarantined, is left out of `screen` in one line, and `doctor --golden` returns it to good; `slots` and `slots set`;
/// the `screening:` config section and its errors.
/// </summary>
[Category("Integration")]
public class SlotHealthCommandTests
{
    private static string Config(string screening = "screening:\n  confirm: { attempts: 2, changeSlot: true }\n  health: { suspectAfter: 1, quarantineAfter: 2 }\n")
    {
        var path = TestRigs.WriteConfig(TestRigs.DefaultCores());
        File.AppendAllText(path, screening);
        return path;
    }

    private const string ScreeningSection = "screening:\n  confirm: { attempts: 2, changeSlot: true }\n  health: { suspectAfter: 1, quarantineAfter: 2 }\n";

    /// <summary>
    /// The rig's config rewritten in place (same folder, same store): <paramref name="slot3"/> is the Core in slot 3,
    /// <paramref name="worn"/> whether slot 3's pogo pins are worn (the simulator's <c>sim.wornSlots</c>: its DFU transfers
    /// lose the Core for seconds, often enough that a readback there always ends as a USB rig fault).
    /// </summary>
    private static void Rewrite(string path, string? slot3, bool worn)
    {
        var cores = TestRigs.DefaultCores();
        if (slot3 is not null) cores[2] = $"{{ slot: 3, deviceId: {slot3}, lot: SST25-1348A, flash: healthy }}";
        var written = worn ? TestRigs.WriteConfig(cores, 42, "BL14", "wornSlots: [3]", "faults: { wornContact: 0.05 }") : TestRigs.WriteConfig(cores);
        File.WriteAllText(path, File.ReadAllText(written) + ScreeningSection);
    }

    private static JsonElement SlotJson(string path, int slot)
    {
        var (exit, output, error) = CliHarness.Run("slots", "--config", path, "--format", "json");
        Assert.That(exit, Is.EqualTo(0), error);
        return JsonDocument.Parse(output).RootElement.GetProperty("slots").EnumerateArray().Single(e => e.GetProperty("slot").GetInt32() == slot);
    }

    [Test]
    public void A_worn_slot_goes_suspect_then_quarantined_is_not_used_and_a_golden_Core_returns_it_to_good()
    {
        var path = Config();
        var config = RigConfigLoader.Load(path);
        var cores = config.Sim.Cores.ToDictionary(c => c.Slot, c => c.DeviceId);
        Rewrite(path, null, worn: true);

        // the worn slot loses its Core mid-readback: a USB rig fault, never a verdict on the Core
        var (exit, output, error) = CliHarness.Run("screen", "--config", path, "--slots", "3", "--readback-only", "--format", "json");
        Assert.That(exit, Is.EqualTo(3), output + error);
        var row = JsonDocument.Parse(output).RootElement.GetProperty("slots").EnumerateArray().Single();
        Assert.That(row.GetProperty("verdict").GetString(), Is.EqualTo("rig-fault"), output);
        var suspect = SlotJson(path, 3);
        Assert.That(suspect.GetProperty("health").GetString(), Is.EqualTo("suspect"));

        // a second good Core loses it there too: quarantined
        const string Second = "55ff000000000000000a0003";
        Rewrite(path, Second, worn: true);
        (exit, output, error) = CliHarness.Run("screen", "--config", path, "--slots", "3", "--readback-only");
        Assert.That(exit, Is.EqualTo(3), output + error);
        var quarantined = SlotJson(path, 3);
        Assert.That(quarantined.GetProperty("health").GetString(), Is.EqualTo("quarantined"));
        Assert.That(quarantined.GetProperty("strikes").GetInt32(), Is.EqualTo(2));

        (exit, output, error) = CliHarness.Run("screen", "--config", path, "--slots", "3,6", "--readback-only", "--format", "json");
        Assert.That(exit, Is.EqualTo(0), output + error);
        Assert.That(error, Does.Contain("slot 3 quarantined: not used"));
        var screened = JsonDocument.Parse(output).RootElement.GetProperty("slots").EnumerateArray().Select(e => e.GetProperty("slot").GetInt32()).ToList();
        Assert.That(screened, Is.EqualTo(new[] { 6 }), "the quarantined slot is not driven");

        // pogo pins replaced, its own Core back in: the golden check returns it to service
        Rewrite(path, null, worn: false);
        (exit, output, error) = CliHarness.Run("doctor", "--config", path, "--golden", cores[3], "--slot", "3");
        Assert.That(exit, Is.EqualTo(0), output + error);
        Assert.That(output, Does.StartWith($"slot 3: quarantined -> good: golden Core {cores[3]} passed"));
        var back = SlotJson(path, 3);
        Assert.That((back.GetProperty("health").GetString(), back.GetProperty("strikes").GetInt32()), Is.EqualTo(("good", 0)));
    }

    [Test]
    public void A_golden_check_with_another_Core_in_the_slot_changes_nothing_and_says_so()
    {
        var path = Config();
        var config = RigConfigLoader.Load(path);
        Rewrite(path, null, worn: true);
        CliHarness.Run("screen", "--config", path, "--slots", "3", "--readback-only");
        Rewrite(path, null, worn: false);

        var (exit, output, error) = CliHarness.Run("doctor", "--config", path, "--golden", config.Sim.Cores.Single(c => c.Slot == 1).DeviceId, "--slot", "3");

        Assert.That(exit, Is.EqualTo(2), output + error);
        Assert.That(CliHarness.Unwrapped(output), Does.Contain("not the golden Core").And.Contain("health unchanged"));
        Assert.That(SlotJson(path, 3).GetProperty("health").GetString(), Is.EqualTo("suspect"));
    }

    [Test]
    public void The_operator_takes_a_slot_out_for_maintenance_and_screen_leaves_it_alone()
    {
        var path = Config();

        var (exit, output, error) = CliHarness.Run("slots", "set", "2", "maintenance", "--config", path, "--reason", "pogo pins worn");
        Assert.That((exit, output.Trim()), Is.EqualTo((0, "slot 2: unknown -> maintenance (screen and soak leave it alone)")), error);
        (exit, output, error) = CliHarness.Run("screen", "--config", path, "--slots", "2", "--readback-only");
        Assert.That(error, Does.Contain("slot 2 maintenance: not used"));
        (exit, output, _) = CliHarness.Run("slots", "--config", path);
        Assert.That(output, Does.Contain("maintenance").And.Contain("pogo pins worn").And.Contain("rig faults"));

        (exit, _, error) = CliHarness.Run("slots", "set", "9", "good", "--config", path);
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(error.Trim(), Does.StartWith("hilrig: slot 9 is not on rig"));
    }

    [TestCase("screening:\n  confirm: { attempts: 0 }\n", "screening.confirm.attempts", "1-5")]
    [TestCase("screening:\n  confirm: { changeSlot: maybe }\n", "screening.confirm.changeSlot", "true")]
    [TestCase("screening:\n  health: { suspectAfter: 3, quarantineAfter: 2 }\n", "screening.health.quarantineAfter", "at least suspectAfter")]
    [TestCase("screening:\n  confirm: { tries: 2 }\n", "screening.confirm.tries", "attempts")]
    public void A_bad_screening_section_is_one_line_naming_the_field_and_what_is_valid(string section, string field, string valid)
    {
        var path = Config(section);

        var (exit, output, error) = CliHarness.Run("config", "check", "--config", path);

        Assert.That(exit, Is.EqualTo(2), output);
        var line = error.Trim();
        Assert.That(line.Split('\n'), Has.Length.EqualTo(1), line);
        Assert.That(line, Does.Contain(field).And.Contain(valid));
    }

    [Test]
    public void Config_check_states_the_policy_with_its_defaults()
    {
        var (exit, output, error) = CliHarness.Run("config", "check", "--config", Config(""));

        Assert.That(exit, Is.EqualTo(0), error);
        Assert.That(CliHarness.Unwrapped(output), Does.Contain("screening confirm 2 failing attempt(s) in different slots; slot suspect after 1, quarantined after 3 device(s) with strikes"));
    }
}
