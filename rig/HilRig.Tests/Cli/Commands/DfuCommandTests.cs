namespace HilRig.Tests.Cli;

/// <summary>The seed thread's dfu-util commands, as `hilrig dfu` on the simulated rig.</summary>
public class DfuCommandTests
{
    [Test]
    public void Download_then_upload_in_separate_runs_reads_back_the_same_bytes_on_a_healthy_Core()
    {
        var config = TestRigs.WriteConfig(TestRigs.DefaultCores());
        var dir = Path.GetDirectoryName(config)!;
        var image = Path.Combine(dir, "image.bin");
        var back = Path.Combine(dir, "back.bin");
        Assert.That(CliHarness.Run("image", "generate", "--out", image, "--seed", "7").Exit, Is.Zero);
        var size = new FileInfo(image).Length;

        var down = CliHarness.Run("dfu", "download", "--config", config, "--slot", "3", "--alt", "1", "--address", "0x00020000", image);
        Assert.That(down.Exit, Is.Zero, down.Error);
        var up = CliHarness.Run("dfu", "upload", "--config", config, "--slot", "3", "--alt", "1", "--address", "0x00020000", "--length", size.ToString(System.Globalization.CultureInfo.InvariantCulture), back);
        Assert.That(up.Exit, Is.Zero, up.Error);
        SameBytes.AssertEqual(File.ReadAllBytes(back), File.ReadAllBytes(image));
    }

    [Test]
    public void On_a_stuck_bit_Core_the_readback_differs()
    {
        var config = TestRigs.WriteConfig(TestRigs.DefaultCores((3, "{ stuckBits: 400 }")));
        var dir = Path.GetDirectoryName(config)!;
        var image = Path.Combine(dir, "image.bin");
        var back = Path.Combine(dir, "back.bin");
        CliHarness.Run("image", "generate", "--out", image, "--size", "68216");
        Assert.That(CliHarness.Run("dfu", "download", "--config", config, "--slot", "3", "--address", "0x20000", image).Exit, Is.Zero);
        Assert.That(CliHarness.Run("dfu", "upload", "--config", config, "--slot", "3", "--address", "0x20000", "--length", "68216", back).Exit, Is.Zero);
        SameBytes.AssertDiffer(File.ReadAllBytes(back), File.ReadAllBytes(image));
    }

    [Test]
    public void Writing_the_key_region_is_refused_without_the_allow_flag_and_nothing_is_written()
    {
        var config = TestRigs.WriteConfig(TestRigs.DefaultCores());
        var dir = Path.GetDirectoryName(config)!;
        var keys = Path.Combine(dir, "keys.bin");
        File.WriteAllBytes(keys, new byte[1024]);
        var before = Path.Combine(dir, "before.bin");
        var after = Path.Combine(dir, "after.bin");
        Assert.That(CliHarness.Run("dfu", "upload", "--config", config, "--slot", "1", "--address", "0x2000", "--length", "1024", before).Exit, Is.Zero);
        var (exit, _, error) = CliHarness.Run("dfu", "download", "--config", config, "--slot", "1", "--address", "0x2000", keys);
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(error, Does.Contain("0x").And.Contain("key"));
        Assert.That(CliHarness.Run("dfu", "upload", "--config", config, "--slot", "1", "--address", "0x2000", "--length", "1024", after).Exit, Is.Zero);
        SameBytes.AssertEqual(File.ReadAllBytes(after), File.ReadAllBytes(before));
    }

    [Test]
    public void Bad_addresses_and_alt_settings_exit_2()
    {
        var config = TestRigs.WriteConfig(TestRigs.DefaultCores());
        var file = Path.Combine(Path.GetDirectoryName(config)!, "x.bin");
        Assert.That(CliHarness.Run("dfu", "upload", "--config", config, "--slot", "1", "--address", "twenty", file).Exit, Is.EqualTo(2));
        var (exit, _, error) = CliHarness.Run("dfu", "upload", "--config", config, "--slot", "1", "--alt", "5", "--address", "0x20000", file);
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(error, Does.Contain("--alt 5"));
        Assert.That(File.Exists(file), Is.False, "nothing half-written");
    }

    [Test]
    public void List_shows_both_alt_settings_of_each_Core_like_dfu_util()
    {
        var config = TestRigs.WriteConfig(TestRigs.DefaultCores());
        var (exit, output, error) = CliHarness.Run("dfu", "list", "--config", config, "--slots", "2");
        Assert.That(exit, Is.Zero, error);
        Assert.That(output.Split('\n'), Has.All.Length.LessThanOrEqualTo(80), "wrapped to 80 columns");
        // continuation lines back onto their line (a break at a double space keeps one of them)
        output = output.Replace("\n    ", " ", StringComparison.Ordinal).Replace("Flash  /", "Flash /", StringComparison.Ordinal);
        Assert.That(output, Does.Contain("Found DFU: [1d50:607f]").And.Contain("path=\"1-1.2\", alt=0, name=\"@Internal Flash /0x08000000/20*001Ka,108*001Kg\"")
            .And.Contain("alt=1, name=\"@SPI Flash : SST25x/0x00000000/512*04Kg\""));
    }
}
