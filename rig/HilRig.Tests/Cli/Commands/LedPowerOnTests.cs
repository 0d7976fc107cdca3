using HilRig.Cli;

namespace HilRig.Tests.Cli;

/// <summary>`hilrig led watch|record --power-on`: the switch on is checked by the one rule `hilrig power on` uses (issue 14).</summary>
public class LedPowerOnTests
{
    private string _config = "";
    private string _dir = "";

    [SetUp]
    public void WriteRig()
    {
        _config = TestRigs.WriteConfig(TestRigs.DefaultCores());
        File.AppendAllText(_config, "  openRelays: [4]\n");
        _dir = Path.GetDirectoryName(_config)!;
    }

    [TearDown]
    public void RemoveRig() => Directory.Delete(_dir, recursive: true);

    private static void OneRigFaultLineNamingSlot4(int exit, string error)
    {
        Assert.That(exit, Is.EqualTo(ExitCodes.RigFault), error);
        var lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(1), error);
        Assert.That(lines[0], Does.StartWith("hilrig: rig fault: slot 4").And.Contain("stuck open").And.Contain("switched on 3 times"));
    }

    [Test]
    public void Record_with_power_on_and_a_relay_stuck_open_is_one_rig_fault_line_and_writes_no_trace()
    {
        var trace = Path.Combine(_dir, "boot.csv");
        var (exit, _, error) = CliHarness.Run("led", "record", "--config", _config, "--slot", "4", "--seconds", "10", "--out", trace, "--power-on");
        OneRigFaultLineNamingSlot4(exit, error);
        Assert.That(File.Exists(trace), Is.False);
        Assert.That(File.Exists(trace + ".partial"), Is.False);
    }

    [Test]
    public void Watch_with_power_on_and_a_relay_stuck_open_is_one_rig_fault_line()
    {
        var (exit, output, error) = CliHarness.Run("led", "watch", "--config", _config, "--slot", "4", "--seconds", "4", "--power-on");
        OneRigFaultLineNamingSlot4(exit, error);
        Assert.That(output, Is.Empty, "nothing watched: the Core never came on");
    }

    [Test]
    public void Record_with_power_on_beside_the_stuck_relay_still_records_the_boot()
    {
        var trace = Path.Combine(_dir, "boot.csv");
        var (exit, _, error) = CliHarness.Run("led", "record", "--config", _config, "--slot", "3", "--seconds", "6", "--out", trace, "--power-on");
        Assert.That(exit, Is.EqualTo(ExitCodes.Ok), error);
        var timeline = Core.Led.LedClassifier.Classify(Core.Led.TraceCsv.Read(trace));
        Assert.That(timeline.Segments.Select(s => s.State.ToString()), Does.Contain("white fade"), timeline.ToString());
    }
}
