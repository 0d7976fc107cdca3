using System.Diagnostics;
using System.Text.RegularExpressions;
using HilRig.Cli;
using HilRig.Tests.Cli;

namespace HilRig.Tests.Station;

/// <summary>`hilrig station` as the service systemd runs: it serves its page, screens as the line feeds it, and a SIGTERM ends it with exit 0 and nothing lost.</summary>
[NonParallelizable]
[Category("Integration")] // starts hilrig as a child process
public partial class StationCommandTests
{
    [GeneratedRegex(@"page at (http://127\.0\.0\.1:[0-9]+)")]
    private static partial Regex PageAt();

    [GeneratedRegex(@"^slot [0-9]+: [0-9a-f]{24} (pass|fail|rig-fault)", RegexOptions.Multiline)]
    private static partial Regex VerdictLine();

    [Test]
    public void Bad_options_are_one_line_and_exit_2()
    {
        var config = TestRigs.WriteConfig(TestRigs.DefaultCores());
        var remote = CliHarness.Run("station", "--config", config, "--urls", "http://0.0.0.0:5081");
        var speed = CliHarness.Run("station", "--config", config, "--speed", "0");
        Assert.That((remote.Exit, remote.Error.Trim()), Is.EqualTo((ExitCodes.BadInput, "hilrig: --urls 'http://0.0.0.0:5081': not a loopback address; the station page serves this machine only unless given --allow-remote")));
        Assert.That((speed.Exit, speed.Error.Trim()), Is.EqualTo((ExitCodes.BadInput, "hilrig: --speed 0: valid: a factor > 0 and <= 1000")));
    }

    [Test]
    public async Task SIGTERM_stops_the_station_with_exit_0_every_verdict_it_printed_stored_and_no_Core_half_written()
    {
        var folder = Directory.CreateTempSubdirectory("hilrig-station-cli-").FullName;
        var written = TestRigs.WriteConfig(TestRigs.DefaultCores(), 42, "BL14", "line: { cores: 16, lots: 2, badLots: 0, seed: 3, handling: 4 }");
        var config = Path.Combine(folder, "line.yaml");
        File.Copy(written, config);
        var db = Path.Combine(folder, "results", "hilrig.db");

        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(TestContext.CurrentContext.TestDirectory, "hilrig.dll"));
        foreach (var a in new[] { "station", "--config", config, "--readback-only", "--speed", "2", "--urls", "http://127.0.0.1:0" }) start.ArgumentList.Add(a);
        using var station = Process.Start(start)!;
        var output = new System.Text.StringBuilder();
        var error = new System.Text.StringBuilder();
        station.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        station.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (error) error.AppendLine(e.Data); };
        station.BeginOutputReadLine();
        station.BeginErrorReadLine();
        string Out() { lock (output) return output.ToString(); }
        string Err() { lock (error) return error.ToString(); }

        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(4);
        while (VerdictLine().Matches(Out()).Count < 2 && !station.HasExited && DateTime.UtcNow < deadline) await Task.Delay(200);
        Assert.That(station.HasExited, Is.False, Err());
        Assert.That(VerdictLine().Matches(Out()).Count, Is.GreaterThanOrEqualTo(2), Out() + Err());
        var page = PageAt().Match(CliHarness.Unwrapped(Err())).Groups[1].Value;
        using (var http = new HttpClient())
        {
            var state = await http.GetStringAsync(new Uri(page + "/state.json"));
            Assert.That(state, Does.Contain("\"tiles\"").And.Contain("\"shift\""));
        }

        Assert.That(PosixSignals.Terminate(station.Id), Is.Zero);
        Assert.That(station.WaitForExit(TimeSpan.FromMinutes(3)), Is.True, "stopped within the grace");
        station.WaitForExit();
        Assert.That(station.ExitCode, Is.EqualTo(ExitCodes.Ok), Err());
        Assert.That(HilRig.Tests.Cli.CliHarness.Unwrapped(Err()), Does.Match(@"station stopped: [0-9]+ unit\(s\) judged in run [0-9a-f-]{36}"));

        var printed = VerdictLine().Matches(Out()).Count;
        using var sql = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={db};Mode=ReadOnly");
        sql.Open();
        long Count(string query)
        {
            using var cmd = sql.CreateCommand();
            cmd.CommandText = query;
            return (long)cmd.ExecuteScalar()!;
        }
        Assert.That(Count("SELECT COUNT(*) FROM runs WHERE kind = 'station' AND status = 'aborted' AND ended_at IS NOT NULL"), Is.EqualTo(1));
        Assert.That(Count("SELECT COUNT(*) FROM results WHERE test = 'dfu-readback'"), Is.EqualTo(printed), "every verdict shown is stored, and only those");
        var journal = Path.Combine(folder, "results", "journal");
        var open = Directory.Exists(journal) ? Directory.GetDirectories(journal).Where(d => File.Exists(Path.Combine(d, "manifest.json"))).ToList() : [];
        Assert.That(open, Is.Empty, "no Core left with a region half-written");
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
    }
}
