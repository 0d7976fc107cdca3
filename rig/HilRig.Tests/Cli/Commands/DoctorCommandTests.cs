using System.Text.Json;
using HilRig.Cli;

namespace HilRig.Tests.Cli;

public class DoctorCommandTests
{
    /// <summary>Stores a calibration per slot through the results store, as `hilrig led calibrate` does.</summary>
    private static void StoreCalibrations(string config, params int[] slots)
    {
        var store = HilRig.Core.Results.ResultsStore.Open(Path.Combine(Path.GetDirectoryName(config)!, "results", "hilrig.db"));
        foreach (var slot in slots)
            store.SaveCalibration("sim-rig-01", new HilRig.Core.Led.SlotCalibration(slot, 0.5, 0.6, 0.4, 1.7, 0.1, 4, 24, 60), new DateTimeOffset(2026, 11, 24, 6, 0, 0, TimeSpan.Zero));
    }

    [Test]
    public void A_healthy_calibrated_simulated_rig_exits_0_with_every_check_ok()
    {
        var config = TestRigs.WriteConfig(TestRigs.DefaultCores());
        StoreCalibrations(config, 1, 2, 3, 4, 5, 6, 7, 8);
        var (exit, output, error) = CliHarness.Run("doctor", "--config", config);
        Assert.That(exit, Is.Zero, output + error);
        Assert.That(output.Split('\n'), Has.All.Length.LessThanOrEqualTo(80), "wrapped to 80 columns");
        output = output.Replace("\n" + new string(' ', 14), " ", StringComparison.Ordinal); // continuation lines back onto their line
        Assert.That(output, Does.Contain("50 ok, 0 failed, 0 not checked"));
        Assert.That(output, Does.Contain("slot 4 calibration: stored: dark C 1.7 counts/ms (noise 0.1), gain 4x"));
        Assert.That(output, Does.Not.Contain("fix:"));
    }

    [Test]
    public void An_uncalibrated_slot_exits_3_with_the_fix_under_the_failed_line()
    {
        var config = TestRigs.WriteConfig(TestRigs.DefaultCores());
        StoreCalibrations(config, 1, 2, 3, 4, 5, 6, 8);
        var (exit, output, _) = CliHarness.Run("doctor", "--config", config);
        Assert.That(exit, Is.EqualTo(3));
        var lines = output.Split('\n');
        var failed = Array.FindIndex(lines, l => l.Contains("FAILED", StringComparison.Ordinal));
        Assert.That(lines[failed], Does.Contain("slot 7 calibration: no stored sensor calibration"));
        Assert.That(lines[failed + 1].Trim(), Does.StartWith("fix: run `hilrig led calibrate --slots 7`"));
        Assert.That(output, Does.Contain("49 ok, 1 failed, 0 not checked"));
    }

    [Test]
    public void On_a_fresh_simulator_doctor_fails_the_calibrations_until_led_calibrate_stores_them()
    {
        // doctor only inspects: the simulator calibrates at open for the commands that drive it, never for doctor
        var config = TestRigs.WriteConfig(TestRigs.DefaultCores());
        var (before, output, _) = CliHarness.Run("doctor", "--config", config);
        Assert.That(before, Is.EqualTo(ExitCodes.RigFault), output);
        Assert.That(output, Does.Contain("42 ok, 8 failed, 0 not checked"));
        Assert.That(output, Does.Contain("slot 1 calibration: no stored sensor calibration"));

        var (calibrated, calibrateOutput, calibrateError) = CliHarness.Run("led", "calibrate", "--config", config);
        Assert.That(calibrated, Is.Zero, calibrateOutput + calibrateError);

        var (after, afterOutput, afterError) = CliHarness.Run("doctor", "--config", config);
        Assert.That(after, Is.Zero, afterOutput + afterError);
        Assert.That(afterOutput, Does.Contain("50 ok, 0 failed, 0 not checked"));
    }

    [Test]
    public void Json_lists_each_check_with_its_status_and_fix_and_no_store_is_created()
    {
        var config = TestRigs.WriteConfig(TestRigs.DefaultCores());
        var (exit, output, _) = CliHarness.Run("doctor", "--config", config, "--format", "json");
        Assert.That(exit, Is.EqualTo(3));
        using var json = JsonDocument.Parse(output);
        var checks = json.RootElement.GetProperty("checks").EnumerateArray().ToList();
        Assert.That(checks, Has.Count.EqualTo(50));
        var calibration = checks.Where(c => c.GetProperty("area").GetString() == "sensor" && c.GetProperty("subject").GetString()!.EndsWith("calibration", StringComparison.Ordinal)).ToList();
        Assert.That(calibration.Select(c => c.GetProperty("status").GetString()), Is.All.EqualTo("failed"));
        Assert.That(calibration[0].GetProperty("fix").GetString(), Does.Contain("hilrig led calibrate"));
        Assert.That(checks.Count(c => c.GetProperty("status").GetString() == "ok"), Is.EqualTo(42));
        Assert.That(checks.Where(c => c.GetProperty("status").GetString() == "ok").Select(c => c.GetProperty("fix").ValueKind), Is.All.EqualTo(JsonValueKind.Null));
        Assert.That(File.Exists(Path.Combine(Path.GetDirectoryName(config)!, "results", "hilrig.db")), Is.False, "doctor only reads the store");
    }

    [Test]
    public void Slots_limits_the_slot_checks_but_not_the_shared_chips()
    {
        var config = TestRigs.WriteConfig(TestRigs.DefaultCores());
        StoreCalibrations(config, 3);
        var (exit, output, error) = CliHarness.Run("doctor", "--config", config, "--slots", "3", "--format", "json");
        Assert.That(exit, Is.Zero, error);
        using var json = JsonDocument.Parse(output);
        var subjects = json.RootElement.GetProperty("checks").EnumerateArray().Select(c => c.GetProperty("subject").GetString()).ToList();
        Assert.That(subjects, Is.EqualTo(new[] { "MCP23017 0x20", "TCA9548A 0x70", "slot 3 sensor", "slot 3 calibration", "slot 3 USB", "slot 3 hub port", "slot 3 relay", "slot 3 dark" }));

        var (badExit, _, badError) = CliHarness.Run("doctor", "--config", config, "--slots", "12");
        Assert.That(badExit, Is.EqualTo(2));
        Assert.That(badError, Does.Contain("slot"));
    }

    [Test]
    public void A_bad_config_exits_2()
    {
        var (exit, _, error) = CliHarness.Run("doctor", "--config", Path.Combine(Path.GetTempPath(), $"missing-{Guid.NewGuid():N}.yaml"));
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(error, Does.Contain("cannot read the rig config: file not found"));
    }
}
