using HilRig.Cli;

namespace HilRig.Tests.Cli;

/// <summary>`hilrig config check` and what a bare `hilrig` prints.</summary>
public class ConfigAndUsageTests
{
    [Test]
    public void A_bare_hilrig_prints_the_command_list_and_exits_2()
    {
        var (exit, output, error) = CliHarness.Run();

        Assert.That(exit, Is.EqualTo(ExitCodes.BadInput));
        Assert.That(output, Is.Empty);
        Assert.That(error, Does.StartWith("usage: hilrig COMMAND"));
        foreach (var command in new[] { "screen", "soak", "report", "runs", "config" })
            Assert.That(error, Does.Match($@"\n  {command} +\S"), command);
        Assert.That(error.Split('\n').Where(l => l.Length > 80), Is.Empty, "the usage fits 80 columns");
    }

    [Test]
    public void Config_check_summarises_a_valid_config_and_writes_nothing()
    {
        var config = TestRigs.WriteConfig(TestRigs.DefaultCores());
        var folder = Path.GetDirectoryName(config)!;
        var before = Directory.GetFileSystemEntries(folder, "*", SearchOption.AllDirectories);

        var (exit, output, error) = CliHarness.Run("config", "check", "--config", config);

        Assert.That(exit, Is.EqualTo(ExitCodes.Ok), error);
        // ": ok" follows the config's path, on the next line when the path is long
        Assert.That(CliHarness.Unwrapped(output), Does.Contain(": ok").And.Contain("backend  sim").And.Contain("slots    8 (1,2,3,4,5,6,7,8)"));
        Assert.That(output, Does.Match(@"store    sqlite\s+\S*hilrig\.db"), "the path whole, on the next line when it is long");
        Assert.That(Directory.GetFileSystemEntries(folder, "*", SearchOption.AllDirectories), Is.EquivalentTo(before), "no store, no sim state");
    }

    [Test]
    public void Config_check_names_each_problem_on_its_own_line_and_exits_2()
    {
        var config = TestRigs.WriteConfig(TestRigs.DefaultCores());
        File.WriteAllText(config, File.ReadAllText(config).Replace("backend: sim", "backend: simulator", StringComparison.Ordinal));

        var (exit, output, error) = CliHarness.Run("config", "check", "--config", config);

        Assert.That(exit, Is.EqualTo(ExitCodes.BadInput));
        Assert.That(output, Is.Empty);
        Assert.That(error, Does.Contain("backend").And.Contain("simulator"));
        Assert.That(error, Does.Not.Contain("   at "), "no stack trace");
    }

    [Test]
    public void Config_check_of_a_missing_file_is_one_line_and_exit_2()
    {
        var (exit, _, error) = CliHarness.Run("config", "check", "--config", Path.Combine(Path.GetTempPath(), "hilrig-no-such-config.yaml"));

        Assert.That(exit, Is.EqualTo(ExitCodes.BadInput));
        Assert.That(error.TrimEnd('\n').Split('\n'), Has.Length.EqualTo(1));
        Assert.That(error, Does.Contain("hilrig-no-such-config.yaml"));
    }
}
