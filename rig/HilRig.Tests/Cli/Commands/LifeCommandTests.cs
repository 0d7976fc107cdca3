namespace HilRig.Tests.Cli;

/// <summary>`hilrig power|button|factory-reset|ota|identify` on the simulated rig, with screen's exit codes.</summary>
public class LifeCommandTests
{
    private static string Config(string extraSim = "") =>
        WithSim(TestRigs.WriteConfig(TestRigs.DefaultCores()), extraSim);

    private static string WithSim(string path, string extraSim)
    {
        if (extraSim.Length > 0) File.AppendAllText(path, extraSim);
        return path;
    }

    [Test]
    public void Power_off_is_verified_the_Core_is_gone_from_USB_and_answers_no_buttons()
    {
        var (exit, output, error) = CliHarness.Run("power", "off", "--slot", "2", "--config", Config());
        Assert.That(exit, Is.Zero, error);
        Assert.That(output, Does.Contain("slot 2: power off verified: nothing at 1-1.2").And.Contain("brought up no DFU device"));
    }

    [Test]
    public void A_welded_relay_is_a_rig_fault_and_cutting_VBUS_at_the_hub_still_works()
    {
        var config = Config("  weldedRelays: [3]\n");
        var (exit, _, error) = CliHarness.Run("power", "off", "--slot", "3", "--config", config);
        Assert.That(exit, Is.EqualTo(3), error);
        Assert.That(error, Does.Contain("rig fault").And.Contain("did not cut").And.Contain("welded"));

        var (hubExit, hubOutput, hubError) = CliHarness.Run("power", "cycle", "--slot", "3", "--via", "hub", "--config", config);
        Assert.That(hubExit, Is.Zero, hubError);
        Assert.That(hubOutput, Does.Contain("power off verified").And.Contain("power on"));
    }

    [Test]
    public void Power_on_is_checked_by_the_Core_showing_itself_and_a_relay_stuck_open_is_one_rig_fault_line_naming_the_slot()
    {
        var config = Config("  openRelays: [4]\n");
        var (exit, output, error) = CliHarness.Run("power", "on", "--slot", "2", "--config", config);
        Assert.That(exit, Is.Zero, error);
        Assert.That(output, Does.Contain("slot 2: power on (checked: LED"));

        var (stuckExit, _, stuckError) = CliHarness.Run("power", "on", "--slot", "4", "--config", config);
        Assert.That(stuckExit, Is.EqualTo(3), "a rig fault (README exit codes)");
        var lines = stuckError.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(1), stuckError);
        Assert.That(lines[0], Does.StartWith("hilrig: rig fault: slot 4").And.Contain("stuck open").And.Contain("switched on 3 times"));
    }

    [Test]
    public void Identify_prints_each_Cores_device_id_read_over_serial()
    {
        var config = Config();
        var (exit, output, error) = CliHarness.Run("identify", "--slots", "1,8", "--config", config);
        Assert.That(exit, Is.Zero, error);
        var rig = Core.Config.RigConfigLoader.Load(config);
        Assert.That(output, Does.Contain($"slot 1  {rig.Sim.CoreFor(1).DeviceId}").And.Contain($"slot 8  {rig.Sim.CoreFor(8).DeviceId}"));
    }

    [Test]
    public void Button_mode_held_through_reset_puts_the_Core_into_DFU()
    {
        var (exit, output, error) = CliHarness.Run("button", "mode", "--slot", "5", "--with-reset", "--hold", "4", "--config", Config());
        Assert.That(exit, Is.Zero, error);
        Assert.That(output, Does.Contain("slot 5: 1d50:607f on USB (DFU mode)"));
    }

    [Test]
    public void A_hold_out_of_range_is_bad_input()
    {
        var (exit, _, error) = CliHarness.Run("button", "reset", "--slot", "5", "--hold", "0", "--config", Config());
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(error, Does.Contain("--hold 0").And.Contain("valid"));
    }

    [Test]
    public void Ota_flashes_a_generated_image_and_the_Core_comes_back_on_it()
    {
        var config = Config();
        var image = Path.Combine(Path.GetDirectoryName(config)!, "blink.bin");
        Assert.That(CliHarness.Run("image", "generate", "--out", image, "--name", "blink", "--app-version", "3.1.0", "--seed", "9").Exit, Is.Zero);
        var (exit, output, error) = CliHarness.Run("ota", "--slot", "6", image, "--config", config);
        Assert.That(exit, Is.Zero, error + output);
        Assert.That(output, Does.Contain("slot 6: ota: pass").And.Contain("now running blink 3.1.0"));
    }

    [Test]
    public void Factory_reset_on_a_stuck_bit_Core_exits_1_with_stuck_in_dfu()
    {
        var config = TestRigs.WriteConfig(TestRigs.DefaultCores((7, "{ stuckBits: 2000 }")));
        var (exit, output, _) = CliHarness.Run("factory-reset", "--slot", "7", "--config", config);
        Assert.That(exit, Is.EqualTo(1), output);
        Assert.That(output, Does.Contain("factory-reset: fail (stuck-in-dfu)"));
        var good = CliHarness.Run("factory-reset", "--slot", "6", "--config", config);
        Assert.That(good.Exit, Is.Zero, good.Output + good.Error);
        Assert.That(good.Output, Does.Contain("factory-reset: pass"));
    }
}
