using System.Text.Json;
using HilRig.Cli;
using HilRig.Core.Procedures;
using HilRig.Core.Results;

namespace HilRig.Tests.Cli;

/// <summary>`hilrig runs` and `hilrig runs show RUN`: full ids, newest first, counts per verdict, prefixes resolved once.</summary>
public class RunsCommandTests
{
    private string _folder = "";
    private string _store = "";
    private Guid _oldScreen, _soakA, _soakB;
    private static readonly DateTimeOffset T0 = new(2026, 11, 2, 8, 0, 0, TimeSpan.Zero);

    [SetUp]
    public void Store()
    {
        _folder = Directory.CreateTempSubdirectory("hilrig-runs-").FullName;
        _store = Path.Combine(_folder, "hilrig.db");
        var store = ResultsStore.Open(_store);
        store.UpsertDevice("aaaaaaaaaaaaaaaaaaaaaaa1", "LOT-A", T0);
        store.UpsertDevice("aaaaaaaaaaaaaaaaaaaaaaa2", "LOT-A", T0);
        _oldScreen = store.StartRun(new RunInfo("rig-7", "h", 42, "BL14", "screen", T0));
        Record(store, _oldScreen, "aaaaaaaaaaaaaaaaaaaaaaa1", 1, Verdict.Pass, T0);
        Record(store, _oldScreen, "aaaaaaaaaaaaaaaaaaaaaaa2", 2, Verdict.Fail, T0, "bad-external-flash");
        store.FinishRun(_oldScreen, RunStatus.Failed, T0.AddMinutes(3));
        // two soaks started in the same millisecond: time-ordered ids equal in their first 12 hex digits
        var later = T0.AddHours(2);
        _soakA = store.StartRun(new RunInfo("rig-7", "h", 42, "BL13", "soak", later));
        _soakB = store.StartRun(new RunInfo("rig-7", "h", 42, "BL14", "soak", later));
        Record(store, _soakB, "aaaaaaaaaaaaaaaaaaaaaaa1", 1, Verdict.RigFault, later);
    }

    [TearDown]
    public void Remove() => Directory.Delete(_folder, recursive: true);

    private static void Record(ResultsStore store, Guid run, string device, int slot, Verdict verdict, DateTimeOffset at, string? mode = null) =>
        store.RecordResult(new ResultRecord(run, device, slot, "screen", verdict, at, at.AddSeconds(30), FailureMode: mode));

    [Test]
    public void Json_lists_every_run_newest_first_with_full_ids_and_counts_per_verdict()
    {
        var (exit, output, error) = CliHarness.Run("runs", "--store", _store, "--format", "json");

        Assert.That(exit, Is.EqualTo(ExitCodes.Ok), error);
        using var doc = JsonDocument.Parse(output);
        var runs = doc.RootElement.GetProperty("runs").EnumerateArray().ToList();
        Assert.That(runs, Has.Count.EqualTo(3));
        Assert.That(runs[2].GetProperty("id").GetGuid(), Is.EqualTo(_oldScreen), "the oldest run last");
        Assert.That(runs.Take(2).Select(r => r.GetProperty("id").GetGuid()), Is.EquivalentTo(new[] { _soakA, _soakB }));
        var screen = runs[2];
        Assert.That(screen.GetProperty("kind").GetString(), Is.EqualTo("screen"));
        Assert.That(screen.GetProperty("status").GetString(), Is.EqualTo("failed"));
        Assert.That(screen.GetProperty("rigId").GetString(), Is.EqualTo("rig-7"));
        Assert.That((screen.GetProperty("results").GetInt32(), screen.GetProperty("pass").GetInt32(), screen.GetProperty("fail").GetInt32(), screen.GetProperty("rigFault").GetInt32()),
            Is.EqualTo((2, 1, 1, 0)));
        var soakB = runs.Single(r => r.GetProperty("id").GetGuid() == _soakB);
        Assert.That(soakB.GetProperty("rigFault").GetInt32(), Is.EqualTo(1));
        Assert.That(soakB.GetProperty("endedAt").ValueKind, Is.EqualTo(JsonValueKind.Null), "still running");
    }

    [Test]
    public void The_table_and_csv_carry_full_ids_never_cut_to_8_digits_and_limit_keeps_the_newest()
    {
        var (exit, table, _) = CliHarness.Run("runs", "--store", _store);
        Assert.That(exit, Is.EqualTo(ExitCodes.Ok));
        foreach (var id in new[] { _oldScreen, _soakA, _soakB })
            Assert.That(table, Does.Contain(id.ToString("D")));
        Assert.That(table, Does.Not.Contain("\u001b"), "no colour codes");

        var (csvExit, csv, _) = CliHarness.Run("runs", "--store", _store, "--format", "csv", "--limit", "2");
        Assert.That(csvExit, Is.EqualTo(ExitCodes.Ok));
        var lines = csv.TrimEnd('\n').Split('\n');
        Assert.That(lines[0], Is.EqualTo("id,kind,status,rigId,startedAt,endedAt,results,pass,fail,rigFault"));
        Assert.That(lines, Has.Length.EqualTo(3), "header and the two newest runs");
        Assert.That(csv, Does.Not.Contain(_oldScreen.ToString("D")));
    }

    [Test]
    public void Show_takes_a_unique_prefix_and_gives_the_header_and_each_slots_verdict()
    {
        var prefix = _oldScreen.ToString("D")[..13];
        var (exit, output, error) = CliHarness.Run("runs", "show", prefix, "--store", _store);

        Assert.That(exit, Is.EqualTo(ExitCodes.Ok), error);
        Assert.That(output, Does.Contain($"run      {_oldScreen:D}"));
        Assert.That(output, Does.Contain("kind     screen").And.Contain("status   failed").And.Contain("results  2 (1 pass, 1 fail, 0 rig fault)"));
        var slot2 = output.Split('\n').Single(l => l.TrimStart().StartsWith("2 ", StringComparison.Ordinal));
        Assert.That(slot2, Does.Contain("aaaaaaaaaaaaaaaaaaaaaaa2").And.Contain("fail").And.Contain("bad-external-flash"));

        var (jsonExit, json, _) = CliHarness.Run("runs", "show", _oldScreen.ToString("N")[..20], "--store", _store, "--format", "json");
        Assert.That(jsonExit, Is.EqualTo(ExitCodes.Ok));
        using var doc = JsonDocument.Parse(json);
        Assert.That(doc.RootElement.GetProperty("run").GetProperty("id").GetGuid(), Is.EqualTo(_oldScreen));
        var slots = doc.RootElement.GetProperty("slots").EnumerateArray().ToList();
        Assert.That(slots.Select(s => (s.GetProperty("slot").GetInt32(), s.GetProperty("lastVerdict").GetString())), Is.EqualTo(new[] { (1, "pass"), (2, "fail") }));
    }

    [Test]
    public void An_ambiguous_prefix_is_one_line_listing_the_candidates_and_exit_2()
    {
        var shared = _soakA.ToString("D")[..13];
        Assume.That(_soakB.ToString("D"), Does.StartWith(shared), "same start, same time digits");

        var (exit, output, error) = CliHarness.Run("runs", "show", shared, "--store", _store);

        Assert.That(exit, Is.EqualTo(ExitCodes.BadInput));
        Assert.That(output, Is.Empty);
        Assert.That(error.TrimEnd('\n').Split('\n'), Has.Length.EqualTo(1));
        Assert.That(error, Does.Contain("ambiguous").And.Contain(_soakA.ToString("D")).And.Contain(_soakB.ToString("D")));
    }

    [TestCase("ffffffff", "no run with that id")]
    [TestCase("last-night", "valid: a run id or a unique prefix")]
    [TestCase("abc", "valid: a run id or a unique prefix")]
    public void An_unknown_or_malformed_run_is_one_line_and_exit_2(string run, string message)
    {
        var (exit, output, error) = CliHarness.Run("runs", "show", run, "--store", _store);

        Assert.That(exit, Is.EqualTo(ExitCodes.BadInput));
        Assert.That(output, Is.Empty);
        Assert.That(error, Does.StartWith($"hilrig: run {run}: ").And.Contain(message));
        Assert.That(error.TrimEnd('\n').Split('\n'), Has.Length.EqualTo(1));
    }

    [Test]
    public void Listing_a_missing_store_leaves_no_file_behind()
    {
        var missing = Path.Combine(_folder, "nope.db");
        var (exit, _, error) = CliHarness.Run("runs", "--store", missing);

        Assert.That(exit, Is.EqualTo(ExitCodes.BadInput));
        Assert.That(error, Does.Contain("no results store at"));
        Assert.That(File.Exists(missing), Is.False);
    }
}
