using Dapper;
using HilRig.Core.Procedures;
using HilRig.Core.Results;
using Microsoft.Data.Sqlite;

namespace HilRig.Tests.Results;

/// <summary>
/// A generated history loaded in one transaction with the results table's indexes and triggers set aside: a load that
/// fails leaves the store as it was, triggers and indexes included, so later recordings keep their summaries exact.
/// </summary>
public class BulkLoadHistoryTests
{
    private static readonly DateTimeOffset T0 = new(2030, 3, 4, 8, 0, 0, TimeSpan.Zero);
    private string _dir = "";

    [SetUp]
    public void Folder() => _dir = Directory.CreateTempSubdirectory("hilrig-bulk-").FullName;

    [TearDown]
    public void Clean() => Directory.Delete(_dir, recursive: true);

    [Test]
    public void A_load_with_a_duplicate_attempt_rolls_back_whole_and_leaves_the_triggers_and_indexes_in_place()
    {
        var path = Path.Combine(_dir, "hilrig.db");
        var store = ResultsStore.Open(path);
        var run = store.StartRun(new RunInfo("rig", "h", 1, "BL14", "screen", T0));
        store.RecordResult(new ResultRecord(run, "55ff00000000000000000001", 1, "dfu-readback", Verdict.Pass, T0, T0.AddSeconds(17)));
        var before = Schema(path);

        ResultRecord Attempt(string device, int slot) =>
            new(run, device, slot, "dfu-readback", Verdict.Fail, T0.AddMinutes(1), T0.AddMinutes(1).AddSeconds(17), FailureMode: "stuck-bits", Signature: "x", Attempt: 1);
        Assert.Throws<SqliteException>(() => store.BulkLoadHistory([Attempt("55ff00000000000000000002", 2), Attempt("55ff00000000000000000002", 3)]));

        using (var db = new SqliteConnection(ResultsStore.SqliteConnectionString(path, readOnly: true)))
        {
            Assert.That(db.ExecuteScalar<long>("SELECT COUNT(*) FROM results"), Is.EqualTo(1), "nothing of the failed load is kept");
            Assert.That(db.ExecuteScalar<string>("PRAGMA journal_mode"), Is.EqualTo("wal"));
        }
        Assert.That(Schema(path), Is.EqualTo(before), "every index and trigger of the results table is back");

        // the triggers still keep the summaries: a later recording is counted
        store.RecordResult(new ResultRecord(run, "55ff00000000000000000003", 4, "dfu-readback", Verdict.Fail, T0.AddMinutes(2), T0.AddMinutes(2).AddSeconds(17)));
        using var check = new SqliteConnection(ResultsStore.SqliteConnectionString(path, readOnly: true));
        Assert.That(check.Query<(long, long, long)>("SELECT slot, devices, failed_devices FROM slot_counts ORDER BY slot"),
            Is.EqualTo(new[] { (1L, 1L, 0L), (4L, 1L, 1L) }));
    }

    [Test]
    public void A_load_counts_every_summary_as_the_triggers_would_have()
    {
        var bulk = ResultsStore.Open(Path.Combine(_dir, "bulk.db"));
        var oneByOne = ResultsStore.Open(Path.Combine(_dir, "one-by-one.db"));
        var runs = new[] { bulk, oneByOne }.Select(s => s.StartRun(new RunInfo("rig", "h", 1, "BL14", "screen", T0))).ToArray();
        IEnumerable<ResultRecord> History(Guid run) => Enumerable.Range(0, 40).Select(i => new ResultRecord(
            run, $"55ff0000000000000000{i % 13:x4}", 1 + (i % 8), i % 3 == 0 ? "soak" : "dfu-readback",
            i % 5 == 0 ? Verdict.Fail : i % 7 == 0 ? Verdict.RigFault : Verdict.Pass, T0.AddHours(i * 3), T0.AddHours(i * 3).AddSeconds(17),
            Cycle: i % 3 == 0 ? i : null, Attempt: 1 + (i / 13), FailureMode: i % 5 == 0 ? "stuck-bits" : null, Signature: i % 5 == 0 ? $"stuck-at-0 at 0x{i:x6}" : null));
        bulk.BulkLoadHistory(History(runs[0]));
        foreach (var r in History(runs[1]))
            oneByOne.RecordResult(r);

        string[] summaries = ["unit_tests", "units", "lot_counts", "slot_devices", "slot_counts", "rig_days", "device_failures", "unit_test_days", "device_failure_days", "unit_test_ends"];
        string[] perRun = ["run_slot_counts", "run_slot_devices", "run_slots", "run_tests"];
        using var db = new SqliteConnection(ResultsStore.SqliteConnectionString(Path.Combine(_dir, "bulk.db"), readOnly: true));
        db.Open();
        db.Execute($"ATTACH '{Path.Combine(_dir, "one-by-one.db")}' AS o");
        foreach (var table in summaries)
        {
            Assert.That(db.ExecuteScalar<long>($"SELECT COUNT(*) FROM main.{table}"), Is.GreaterThan(0), table);
            Assert.That(db.ExecuteScalar<long>($"SELECT COUNT(*) FROM (SELECT * FROM main.{table} EXCEPT SELECT * FROM o.{table})"), Is.Zero, table);
            Assert.That(db.ExecuteScalar<long>($"SELECT COUNT(*) FROM (SELECT * FROM o.{table} EXCEPT SELECT * FROM main.{table})"), Is.Zero, table);
        }
        foreach (var table in perRun)
        {
            var columns = string.Join(", ", db.Query<string>($"SELECT name FROM pragma_table_info('{table}') WHERE name <> 'run_id'"));
            Assert.That(db.ExecuteScalar<long>($"SELECT COUNT(*) FROM (SELECT {columns} FROM main.{table} EXCEPT SELECT {columns} FROM o.{table})"), Is.Zero, table);
            Assert.That(db.ExecuteScalar<long>($"SELECT COUNT(*) FROM (SELECT {columns} FROM o.{table} EXCEPT SELECT {columns} FROM main.{table})"), Is.Zero, table);
        }
    }

    private static List<string> Schema(string path)
    {
        using var db = new SqliteConnection(ResultsStore.SqliteConnectionString(path, readOnly: true));
        return [.. db.Query<string>("SELECT type || ' ' || name || ': ' || sql FROM sqlite_master WHERE tbl_name = 'results' ORDER BY name")];
    }
}
