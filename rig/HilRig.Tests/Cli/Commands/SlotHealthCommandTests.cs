using System.Text.Json;
using HilRig.Core.Config;
using HilRig.Core.Procedures;
using HilRig.Core.Results;
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

    /// <summary>
    /// What a worn slot does to a good Core (its pogo pins corrupt a transfer the readback then reads as bit errors): a DUT
    /// failure of that Core in slot 3, recorded as `screen` records a final verdict.
    /// </summary>
    private static void WornSlotFails(RigConfig config, string deviceId)
    {
        var store = ResultsStore.Open(config.ResolveStorePath());
        var wall = TimeProvider.System;
        var run = store.StartRun(new RunInfo(config.RigId, config.Hash, 42, "BL14", "screen", wall.GetUtcNow()));
        var now = wall.GetUtcNow();
        var stored = store.RecordResult(new ResultRecord(run, deviceId, 3, Screening.TestName, Verdict.Fail, now, now, FailureMode: FailureModes.BadExternalFlash,
            Signature: "3 bit error(s): 3 stuck-at-1"));
        new ScreeningLedger(store, config.RigId, config.Screening, wall).Record(stored, null, [.. config.Slots.Select(s => s.Number)]);
        store.FinishRun(run, RunStatus.Failed, wall.GetUtcNow());
    }

    private static JsonElement SlotJson(string path, int slot)
    {
        var (exit, output, error) = CliHarness.Run("slots", "--config", path, "--format", "json");
        Assert.That(exit, Is.EqualTo(0), error);
        return JsonDocument.Parse(output).RootElement.EnumerateArray().Single(e => e.GetProperty("slot").GetInt32() == slot);
    }

    [Test]
    public void A_worn_slot_goes_suspect_then_quarantined_is_not_used_and_a_golden_Core_returns_it_to_good()
    {
        var path = Config();
        var config = RigConfigLoader.Load(path);
        var cores = config.Sim.Cores.ToDictionary(c => c.Slot, c => c.DeviceId);

        // the Core of slot 5 was failed by slot 3, then passes in its own slot: that failure points at slot 3
        WornSlotFails(config, cores[5]);
        Assert.That(SlotJson(path, 3).GetProperty("health").GetString(), Is.EqualTo("suspect"));
        var (exit, output, error) = CliHarness.Run("screen", "--config", path, "--slots", "5", "--readback-only");
        Assert.That(exit, Is.EqualTo(0), output + error);
        Assert.That(output, Does.Contain($"device {cores[5]} passed in slot 5 after failing in slot 3: that failure points at slot 3"));

        // a second good Core failed there: quarantined
        WornSlotFails(config, cores[6]);
        var quarantined = SlotJson(path, 3);
        Assert.That(quarantined.GetProperty("health").GetString(), Is.EqualTo("quarantined"));
        Assert.That(quarantined.GetProperty("strikes").GetInt32(), Is.EqualTo(2));

        (exit, output, error) = CliHarness.Run("screen", "--config", path, "--slots", "3,6", "--readback-only", "--format", "json");
        Assert.That(exit, Is.EqualTo(0), output + error);
        Assert.That(error, Does.Contain("slot 3 quarantined: not used"));
        var screened = JsonDocument.Parse(output).RootElement.GetProperty("slots").EnumerateArray().Select(e => e.GetProperty("slot").GetInt32()).ToList();
        Assert.That(screened, Is.EqualTo(new[] { 6 }), "the quarantined slot is not driven");

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
        WornSlotFails(config, config.Sim.Cores.Single(c => c.Slot == 5).DeviceId);

        var (exit, output, error) = CliHarness.Run("doctor", "--config", path, "--golden", config.Sim.Cores.Single(c => c.Slot == 1).DeviceId, "--slot", "3");

        Assert.That(exit, Is.EqualTo(2), output + error);
        Assert.That(output, Does.Contain("not the golden Core").And.Contain("health unchanged"));
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
        Assert.That(output, Does.Contain("screening confirm 2 failing attempt(s) in different slots; slot suspect after 1, quarantined after 3 device(s) with strikes"));
    }
}
