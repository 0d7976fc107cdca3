using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace HilRig.Tests.Cli;

/// <summary>
/// One rig store used by several processes at once, as on a rig: the agent (or the dashboard) keeps running while an
/// operator's `hilrig slots set` comes and goes. Every process must keep reading and writing the same store: nothing a
/// process wrote may vanish, and none may find the file "malformed".
/// </summary>
[Category("Integration")]
[NonParallelizable]
public class StoreSharedByProcessesTests
{
    [Test]
    public void A_process_that_keeps_using_the_store_reads_and_writes_it_whole_after_another_process_wrote_and_closed_it()
    {
        var config = TestRigs.WriteConfig(TestRigs.DefaultCores());

        // this process (like an agent or the dashboard): several commands on the store, each checking the file is a
        // SQLite store before it reads and writes (that check once closed a descriptor of the file and so dropped this
        // process's SQLite locks: the other process below then deleted the WAL under it, "disk I/O error" / "malformed")
        foreach (var slot in new[] { 1, 2, 3 })
        {
            var set = CliHarness.Run("slots", "set", N(slot), "maintenance", "--config", config, "--reason", "relay board swap");
            Assert.That(set.Exit, Is.Zero, set.Error);
        }

        // another process writes and is the last to close the store (an agent stopped, an operator's import)
        var csv = Path.Combine(Path.GetDirectoryName(config)!, "lots.csv");
        File.WriteAllText(csv, $"device_id,lot,date_code,supplier\n{Imported},SST25-1402A,1402,Microchip\n");
        var other = Hilrig("lots", "import", csv, "--config", config);
        Assert.That(other.Exit, Is.Zero, other.Error);

        // this process again, then the other once more, then this one: each must see the other's rows and add its own
        var again = CliHarness.Run("slots", "set", "5", "maintenance", "--config", config, "--reason", "relay board swap");
        Assert.That(again.Exit, Is.Zero, again.Error);
        File.WriteAllText(csv, $"device_id,lot,date_code,supplier\n{Imported2},SST25-1350B,1350,Microchip\n");
        other = Hilrig("lots", "import", csv, "--config", config);
        Assert.That(other.Exit, Is.Zero, other.Error);
        var last = CliHarness.Run("slots", "set", "6", "maintenance", "--config", config, "--reason", "relay board swap");
        Assert.That(last.Exit, Is.Zero, last.Error);
        var here = CliHarness.Run("slots", "--config", config, "--format", "json");
        Assert.That(here.Exit, Is.Zero, here.Error);

        // and a fresh process reads all, as this one does
        var fresh = Hilrig("slots", "--config", config, "--format", "json");
        Assert.That(fresh.Exit, Is.Zero, fresh.Error);
        Assert.That(InMaintenance(fresh.Output), Is.EqualTo(new[] { 1, 2, 3, 5, 6 }), "every slot this process set is stored");
        Assert.That(InMaintenance(here.Output), Is.EqualTo(new[] { 1, 2, 3, 5, 6 }));
        var store = Path.Combine(Path.GetDirectoryName(config)!, "results", "hilrig.db");
        using var db = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={store};Pooling=False");
        db.Open();
        using var lot = db.CreateCommand();
        lot.CommandText = $"SELECT lot FROM devices WHERE device_id = '{Imported}'";
        Assert.That(lot.ExecuteScalar(), Is.EqualTo("SST25-1402A"), "this process reads what the other wrote");
        lot.CommandText = $"SELECT lot FROM devices WHERE device_id = '{Imported2}'";
        Assert.That(lot.ExecuteScalar(), Is.EqualTo("SST25-1350B"), "this process reads what the other wrote");
    }

    private const string Imported = "53ff6c065067544854291187";
    private const string Imported2 = "53ff70065067544839331287";

    private static string N(int slot) => slot.ToString(CultureInfo.InvariantCulture);

    private static int[] InMaintenance(string json) =>
        [.. JsonDocument.Parse(json).RootElement.GetProperty("slots").EnumerateArray()
            .Where(s => s.GetProperty("health").GetString() == "maintenance").Select(s => s.GetProperty("slot").GetInt32()).Order()];

    private static (int Exit, string Output, string Error) Hilrig(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(TestContext.CurrentContext.TestDirectory, "hilrig.dll"));
        foreach (var a in args) start.ArgumentList.Add(a);
        using var p = Process.Start(start)!;
        var error = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, output, error.Result);
    }
}
