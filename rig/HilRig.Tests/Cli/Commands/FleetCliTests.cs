using System.Text.Json;
using System.Text.RegularExpressions;
using HilRig.Tests.Cli;

namespace HilRig.Tests.Fleet;

/// <summary>
/// A rig config pointed at the fleet's PostgreSQL (results: { kind: postgres }) where a rig's own SQLite store belongs:
/// every command that drives the rig or writes results refuses in one line with exit 2 before touching anything; and
/// `hilrig sync --status` says the rig's backlog with no fleet connection at all.
/// </summary>
public partial class FleetCliTests
{
    private string _folder = "";

    [SetUp]
    public void CreateFolder() => _folder = Directory.CreateTempSubdirectory("hilrig-fleetcli-").FullName;

    [TearDown]
    public void RemoveFolder() => Directory.Delete(_folder, recursive: true);

    private string Config(string name, string results)
    {
        var template = File.ReadAllText(RepoFiles.Path("rig-config.yaml"));
        var text = ResultsSection().Replace(template, "results:\n" + results + "\n", 1);
        Assert.That(text, Is.Not.EqualTo(template), "the template's results section was replaced");
        var path = Path.Combine(_folder, name);
        File.WriteAllText(path, text);
        return path;
    }

    [TestCase("screen")]
    [TestCase("soak", "--cycles", "1")]
    [TestCase("led", "calibrate")]
    [TestCase("recover")]
    [TestCase("doctor")]
    [TestCase("sim", "fleet", "--cores", "10", "--path", "fast")]
    public void A_rig_command_on_a_postgres_results_config_refuses_in_one_line_with_exit_2(params string[] command)
    {
        // A closed port: nothing may even try to connect before refusing.
        var config = Config("pg.yaml", "  kind: postgres\n  connectionString: \"Host=127.0.0.1;Port=1;Database=fleet;Username=u;Password=p\"");

        var (exit, output, error) = CliHarness.Run([.. command, "--config", config]);

        Assert.That(exit, Is.EqualTo(2), error);
        var lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(1), error);
        Assert.That(lines[0], Does.StartWith("hilrig: ").And.Contain("results.kind").And.Contain("sqlite"));
        Assert.That(error, Does.Not.Contain("internal error").And.Not.Contain("   at "));
        Assert.That(output, Is.Empty);
        Assert.That(Directory.GetFileSystemEntries(_folder), Is.EqualTo(new[] { config }), "nothing written next to the config");
    }

    [Test]
    public void Sync_status_with_no_fleet_connection_says_the_backlog_and_that_the_central_side_is_unknown()
    {
        var config = Config("rig.yaml", "  kind: sqlite\n  path: results/hilrig.db");
        var fleet = CliHarness.Run("sim", "fleet", "--cores", "30", "--path", "fast", "--config", config);
        Assert.That(fleet.Exit, Is.Zero, fleet.Error);
        var results = TestStoreCount(Path.Combine(_folder, "results", "hilrig.db"));

        var text = CliHarness.Run("sync", "--status", "--config", config);
        var json = CliHarness.Run("sync", "--status", "--format", "json", "--config", config);

        Assert.That(text.Exit, Is.Zero, text.Error);
        Assert.That(text.Output, Does.Contain($"{results} results behind").And.Contain("last sync never").And.Contain("the central side is unknown"));
        Assert.That(json.Exit, Is.Zero, json.Error);
        using var doc = JsonDocument.Parse(json.Output);
        Assert.That(doc.RootElement.GetProperty("target").ValueKind, Is.EqualTo(JsonValueKind.Null));
        Assert.That(doc.RootElement.GetProperty("resultsBehind").GetInt64(), Is.EqualTo(results));
        Assert.That(doc.RootElement.GetProperty("resultsSynced").GetInt64(), Is.Zero);
    }

    private static long TestStoreCount(string path) => Support.TestStore.Sqlite(path).Scalar("SELECT COUNT(*) FROM results");

    [GeneratedRegex(@"^results:\n(  .*\n)+", RegexOptions.Multiline)]
    private static partial Regex ResultsSection();
}
