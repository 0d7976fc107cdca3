using System.Text.Json;
using HilRig.Core.Results;

namespace HilRig.Tests.Cli;

public class ScreenCommandTests
{
    [Test]
    public void Default_rig_screens_eight_Cores_exit_0_json_has_the_promised_fields_and_the_store_each_step_and_verdict()
    {
        var config = TestRigs.WriteConfig(TestRigs.DefaultCores());
        var (exit, output, error) = CliHarness.Run("screen", "--config", config, "--format", "json");
        Assert.That(exit, Is.Zero, error);
        using var json = JsonDocument.Parse(output);
        // the same envelope as soak's: the run header first, then what the run found
        var run = json.RootElement.GetProperty("run");
        Assert.That(run.EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "id", "kind", "status", "rigId", "seed", "bootloader", "startedAt", "endedAt", "store" }));
        Assert.That(run.GetProperty("kind").GetString(), Is.EqualTo("screen"));
        Assert.That(run.GetProperty("status").GetString(), Is.EqualTo("passed"));
        var slots = json.RootElement.GetProperty("slots").EnumerateArray().ToList();
        Assert.That(slots, Has.Count.EqualTo(8));
        foreach (var s in slots)
        {
            foreach (var field in new[] { "slot", "deviceId", "lot", "verdict", "failureMode", "deviceTimeMs" })
                Assert.That(s.TryGetProperty(field, out _), Is.True, $"field {field}");
            Assert.That(s.GetProperty("verdict").GetString(), Is.EqualTo("pass"));
            Assert.That(s.GetProperty("deviceTimeMs").GetDouble(), Is.GreaterThan(1000));
        }
        var store = ResultsStore.Open(Path.Combine(Path.GetDirectoryName(config)!, "results", "hilrig.db"));
        // each step's row as it ended (readback, OTA, factory reset), then the slot's verdict
        var rows = store.GetResults();
        Assert.That(rows.GroupBy(r => r.Slot).Select(g => string.Join(",", g.OrderBy(r => r.EndedAt).Select(r => r.Test))),
            Is.All.EqualTo("dfu-readback,ota,factory-reset,screen"));
        Assert.That(rows.Count(r => r.Test == "screen"), Is.EqualTo(8));
        Assert.That(store.LotSummary().Select(l => (l.Lot, l.Units, l.Failed)), Is.EquivalentTo(new[] { ("SST25-1348A", 4, 0), ("SST25-1402B", 4, 0) }));
    }

    [Test]
    public void A_bad_chip_exits_1_and_the_lot_report_counts_it()
    {
        var config = TestRigs.WriteConfig(TestRigs.DefaultCores((2, "{ stuckBits: 12 }")));
        var (exit, output, _) = CliHarness.Run("screen", "--config", config, "--slots", "1-3", "--format", "json");
        Assert.That(exit, Is.EqualTo(1));
        using var json = JsonDocument.Parse(output);
        var bySlot = json.RootElement.GetProperty("slots").EnumerateArray().ToDictionary(e => e.GetProperty("slot").GetInt32());
        Assert.That(bySlot.Keys, Is.EquivalentTo(new[] { 1, 2, 3 }));
        Assert.That(bySlot[2].GetProperty("verdict").GetString(), Is.EqualTo("fail"));
        Assert.That(bySlot[2].GetProperty("failureMode").GetString(), Is.EqualTo("bad-external-flash"));

        var (reportExit, report, _) = CliHarness.Run("report", "lots", "--config", config, "--format", "csv");
        Assert.That(reportExit, Is.Zero);
        Assert.That(report, Does.Contain("SST25-1348A,3,1,"));
    }

    [Test]
    public void Bad_input_exits_2_with_one_line_naming_what_is_wrong()
    {
        var config = TestRigs.WriteConfig(TestRigs.DefaultCores());
        var (exit, _, error) = CliHarness.Run("screen", "--config", config, "--slots", "9");
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(error, Does.Contain("slot 9").And.Contain("valid: slot numbers 1-8"));

        var invalid = Path.Combine(TestRigs.RepoRoot, "examples", "invalid-rig.yaml");
        (exit, _, error) = CliHarness.Run("screen", "--config", invalid);
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(error.Split('\n', StringSplitOptions.RemoveEmptyEntries), Has.All.Match(@"invalid-rig\.yaml:\d+:\d+: "));
    }
}
