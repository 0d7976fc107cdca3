using System.Globalization;
using HilRig.Cli;
using HilRig.Core.Procedures;
using HilRig.Core.Results;
using HilRig.Reports.Queries;
using HilRig.Reports.Statistics;
using HilRig.Tests.Cli;
using HilRig.Tests.Support;

namespace HilRig.Tests.Results;

/// <summary>
/// The dashboard's summaries on a rig's store (steps 10, 11 and 12), kept by triggers as results are written: after every
/// kind of write (screen with failures and retests, an LED-observed soak, both paths of sim fleet, a second rig, a
/// refused duplicate attempt, results either side of midnight, a device screened after its soak failed, a lot import
/// that moves devices) each summary table holds exactly what a GROUP BY over the results holds, the same after the
/// migration summarises existing rows, and the pages that read them answer as the raw rows would.
/// </summary>
[Category("Integration")]
public class PageSummariesTests
{
    // a night no simulated run reaches: the second rig's rows are that night's only ones
    private static readonly DateTimeOffset Midnight = new(2031, 5, 20, 0, 0, 0, TimeSpan.Zero);
    private const string UnknownLot = "(unknown)";

    /// <summary>Each summary as it is stored, and the same rows counted from the results; both in one order.</summary>
    private static readonly (string Table, string Stored, string Direct)[] Summaries =
    [
        ("slot_devices",
            "SELECT slot, device_id, not_passed FROM slot_devices",
            "SELECT slot, device_id, MAX(verdict <> 'pass') FROM results GROUP BY slot, device_id"),
        ("slot_counts",
            "SELECT slot, devices, failed_devices FROM slot_counts",
            "SELECT slot, COUNT(DISTINCT device_id), COUNT(DISTINCT CASE WHEN verdict <> 'pass' THEN device_id END) FROM results GROUP BY slot"),
        ("rig_days",
            "SELECT rig_id, day, results, rig_faults, last_started_at FROM rig_days",
            """
            SELECT ru.rig_id, substr(r.started_at, 1, 10), COUNT(*), SUM(r.verdict = 'rig-fault'), MAX(r.started_at)
            FROM results r JOIN runs ru ON ru.id = r.run_id GROUP BY ru.rig_id, substr(r.started_at, 1, 10)
            """),
        ("run_tests",
            "SELECT run_id, test, cycled, verdict, results FROM run_tests",
            "SELECT run_id, test, cycle IS NOT NULL, verdict, COUNT(*) FROM results GROUP BY run_id, test, cycle IS NOT NULL, verdict"),
        ("device_failures",
            "SELECT device_id, failure_mode, signature, failures FROM device_failures",
            "SELECT device_id, COALESCE(failure_mode, ''), COALESCE(signature, ''), COUNT(*) FROM results WHERE verdict = 'fail' GROUP BY 1, 2, 3"),
        ("unit_test_days",
            "SELECT day, rig_id, device_id, test, started_at, attempt, verdict FROM unit_test_days",
            """
            SELECT day, rig_id, device_id, test, started_at, attempt, verdict FROM (
                SELECT substr(r.started_at, 1, 10) AS day, ru.rig_id, r.device_id, r.test, r.started_at, r.attempt, r.verdict,
                       ROW_NUMBER() OVER (PARTITION BY substr(r.started_at, 1, 10), ru.rig_id, r.device_id, r.test ORDER BY r.started_at DESC, r.attempt DESC, r.rowid DESC) AS rn
                FROM results r JOIN runs ru ON ru.id = r.run_id WHERE r.cycle IS NULL) x
            WHERE rn = 1
            """),
        ("run_slot_counts",
            "SELECT run_id, slot, verdict, results FROM run_slot_counts",
            "SELECT run_id, slot, verdict, COUNT(*) FROM results GROUP BY run_id, slot, verdict"),
        ("run_slot_devices",
            "SELECT run_id, slot, device_id, first_ended_at FROM run_slot_devices",
            "SELECT run_id, slot, device_id, MIN(ended_at) FROM results GROUP BY run_id, slot, device_id"),
    ];

    /// <summary>Step 12's summaries; the bit-error totals are held against the evidence reader below as well.</summary>
    private static readonly (string Table, string Stored, string Direct)[] LotPageSummaries =
    [
        ("device_failure_days",
            "SELECT device_id, day, rig_id, failure_mode, signature, failures, stuck_at_0, stuck_at_1, bit_0, bit_1, bit_2, bit_3, bit_4, bit_5, bit_6, bit_7 FROM device_failure_days",
            $"""
            SELECT r.device_id, substr(r.started_at, 1, 10), ru.rig_id, COALESCE(r.failure_mode, ''), COALESCE(r.signature, ''), COUNT(*),
                   {string.Join(", ", new[] { "stuckAt0", "stuckAt1" }.Concat(Enumerable.Range(0, 8).Select(i => $"byBitPosition[{i}]"))
                       .Select(p => $"COALESCE(SUM(CASE WHEN json_valid(r.evidence_json) THEN json_extract(r.evidence_json, '$.readback.bitErrors.{p}') END), 0)"))}
            FROM results r JOIN runs ru ON ru.id = r.run_id WHERE r.verdict = 'fail'
            GROUP BY 1, 2, 3, 4, 5
            """),
        ("unit_test_ends",
            "SELECT device_id, test, first_started_at, first_attempt, first_verdict, last_started_at, last_attempt, last_verdict FROM unit_test_ends",
            """
            SELECT f.device_id, f.test, f.started_at, f.attempt, f.verdict, l.started_at, l.attempt, l.verdict
            FROM (SELECT device_id, test, started_at, attempt, verdict,
                         ROW_NUMBER() OVER (PARTITION BY device_id, test ORDER BY started_at, attempt, rowid) AS rn FROM results WHERE cycle IS NULL) f
            JOIN (SELECT device_id, test, started_at, attempt, verdict,
                         ROW_NUMBER() OVER (PARTITION BY device_id, test ORDER BY started_at DESC, attempt DESC, rowid DESC) AS rn FROM results WHERE cycle IS NULL) l
              ON l.device_id = f.device_id AND l.test = f.test AND l.rn = 1
            WHERE f.rn = 1
            """),
    ];

    /// <summary>
    /// Step 15's modes page counts: per lot (a device's unit's lot, else its device record's), failure mode and signature,
    /// the failed results and distinct devices, a missing name shown as the page shows it.
    /// </summary>
    private static readonly (string Table, string Stored, string Direct) LotFailureCounts =
        ("lot_failure_counts",
            "SELECT lot, part, name, failures, devices FROM lot_failure_counts",
            $"""
            SELECT lot, part, name, COUNT(*), COUNT(DISTINCT device_id) FROM (
                SELECT COALESCE(u.lot, d.lot, '{UnknownLot}') AS lot, p.part,
                       COALESCE(CASE p.part WHEN 'mode' THEN r.failure_mode ELSE r.signature END, '{Breakdown.Unclassified}') AS name, r.device_id
                FROM results r CROSS JOIN (SELECT 'mode' AS part UNION ALL SELECT 'signature') p
                LEFT JOIN units u ON u.device_id = r.device_id LEFT JOIN devices d ON d.device_id = r.device_id
                WHERE r.verdict = 'fail')
            GROUP BY lot, part, name
            """);

    /// <summary>Step 16's yields per lot: screened devices, those whose every first (last) attempt passed, by each unit's lot.</summary>
    private static readonly (string Table, string Stored, string Direct) LotYields =
        ("lot_yields",
            "SELECT lot, devices, first_passed, final_passed FROM lot_yields WHERE devices <> 0 OR first_passed <> 0 OR final_passed <> 0",
            """
            SELECT u.lot, COUNT(*), SUM(e.first_ok), SUM(e.final_ok)
            FROM units u JOIN (SELECT device_id, MIN(first_verdict = 'pass') AS first_ok, MIN(last_verdict = 'pass') AS final_ok FROM unit_test_ends GROUP BY device_id) e
              ON e.device_id = u.device_id
            GROUP BY u.lot
            """);

    /// <summary>Step 17's spans: each unit's first and last screening attempt, from its results.</summary>
    private static readonly (string Table, string Stored, string Direct) UnitSpans =
        ("units (first_at, last_at)",
            "SELECT device_id, first_at, last_at FROM units",
            "SELECT u.device_id, MIN(r.started_at), MAX(r.started_at) FROM units u JOIN results r ON r.device_id = u.device_id AND r.cycle IS NULL GROUP BY u.device_id");

    /// <summary>Step 17's units (with a verdict) and failed units per lot and span of screening days.</summary>
    private static readonly (string Table, string Stored, string Direct) LotUnitDays =
        ("lot_unit_days",
            "SELECT lot, first_day, last_day, units, failed FROM lot_unit_days WHERE units <> 0 OR failed <> 0",
            """
            SELECT lot, first_day, last_day, SUM(judged), SUM(failed) FROM (
                SELECT u.lot, u.judged, u.failed, substr(MIN(r.started_at), 1, 10) AS first_day, substr(MAX(r.started_at), 1, 10) AS last_day
                FROM units u JOIN results r ON r.device_id = u.device_id AND r.cycle IS NULL GROUP BY u.device_id)
            GROUP BY lot, first_day, last_day HAVING SUM(judged) <> 0 OR SUM(failed) <> 0
            """);

    /// <summary>Takes steps 15 to 17 out of a store (their tables, columns, indexes and triggers, their records), as a store at step 14 is.</summary>
    private static void BackToStep14(TestStore db) => db.Execute(
        [.. db.Rows("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN ('device_failures', 'units', 'devices', 'unit_test_ends')").Select(r => $"DROP TRIGGER {r[0]}"),
         "DROP TABLE lot_failure_counts", "DROP TABLE lot_yields", "ALTER TABLE units DROP COLUMN first_ok", "ALTER TABLE units DROP COLUMN final_ok",
         "DROP INDEX ix_units_span", "DROP INDEX ix_units_days", "DROP TABLE lot_unit_days", "ALTER TABLE units DROP COLUMN first_at", "ALTER TABLE units DROP COLUMN last_at",
         "DELETE FROM schema_version WHERE version >= 15"]);

    /// <summary>Steps 15's and 16's per-lot summaries and step 17's spans against a direct count.</summary>
    private static void AssertLotFailureCounts(TestStore db, string when)
    {
        foreach (var (table, stored, direct) in new[] { LotFailureCounts, LotYields, UnitSpans, LotUnitDays })
        {
            var expected = Text(db.Rows(direct));
            Assert.That(expected, Is.Not.Empty, $"{table}, {when}");
            Assert.That(Text(db.Rows(stored)), Is.EqualTo(expected), $"{table} against a direct count, {when}");
        }
    }

    [Test]
    public void Every_summary_equals_a_direct_count_of_the_results_whatever_wrote_them()
    {
        // slot 3 stuck bits, slot 5 bad sectors: failed readbacks; screened twice, so the second run retests every Core
        var config = TestRigs.WriteConfig(TestRigs.DefaultCores((3, "{ stuckBits: 12 }"), (5, "{ badSectors: 2 }")));
        var path = Path.Combine(Path.GetDirectoryName(config)!, "results", "hilrig.db");
        var db = TestStore.Sqlite(path);

        // a second rig's evening, written before step 11 (its backfill summarises these), and its morning after it
        // (the trigger does): retests, a rig fault, a failure without a mode, an attempt written twice (refused, counted once)
        var early = db.OpenAt(10);
        var run = early.StartRun(new RunInfo("rig-b", "hash", 7, "BL14", "screen", Midnight.AddMinutes(-30)));
        ResultRecord Result(string device, int slot, Verdict verdict, int minutes, string? mode = null, int? attempt = null) =>
            new(run, device, slot, "dfu-readback", verdict, Midnight.AddMinutes(minutes), Midnight.AddMinutes(minutes).AddSeconds(20),
                FailureMode: mode, Signature: mode is null ? null : "stuck-at-0 at 0x020010", Attempt: attempt);
        early.RecordResult(Result("55ff00000000000000000b01", 2, Verdict.Fail, -10, "stuck-bits"));
        early.RecordResult(Result("55ff00000000000000000b02", 2, Verdict.RigFault, -5, "usb-transport"));
        // b01's failure carries a readback bit-error map; b04 is soaked (and fails a cycle) before it is ever screened
        early.RecordResult(Result("55ff00000000000000000b01", 2, Verdict.Fail, -9, "stuck-bits", attempt: 2) with { EvidenceJson = BitErrors(3, 1, [1, 0, 0, 2, 0, 0, 1, 0]) });
        early.RecordResult(Result("55ff00000000000000000b04", 3, Verdict.Fail, -8, "stuck-in-dfu") with { Test = "ota", Cycle = 1, EvidenceJson = BitErrors(0, 2, [0, 1, 1]) });
        // b05 is only ever soaked: no unit, its lot (if any) from its device record alone
        early.RecordResult(Result("55ff00000000000000000b05", 4, Verdict.Fail, -7, "stuck-in-dfu") with { Test = "ota", Cycle = 1 });

        foreach (var _ in new[] { 1, 2 })
        {
            var screen = CliHarness.Run("screen", "--config", config, "--format", "json");
            Assert.That(screen.Exit, Is.EqualTo(ExitCodes.DutFailed), screen.Error);
        }
        var soak = CliHarness.Run("soak", "--cycles", "2", "--slots", "1-3", "--observe-leds", "--config", config);
        Assert.That(soak.Exit, Is.AnyOf(ExitCodes.Ok, ExitCodes.DutFailed), soak.Error);
        var real = CliHarness.Run("sim", "fleet", "--config", config, "--cores", "8", "--lots", "2", "--path", "real", "--seed", "3");
        Assert.That(real.Exit, Is.EqualTo(ExitCodes.Ok), real.Error);
        // bulk-loaded: the fast path writes no summary itself, the triggers do
        var fast = CliHarness.Run("sim", "fleet", "--config", config, "--cores", "400", "--lots", "3", "--path", "fast", "--seed", "4", "--soak-cycles", "3");
        Assert.That(fast.Exit, Is.EqualTo(ExitCodes.Ok), fast.Error);

        var store = ResultsStore.Open(path);
        store.RecordResult(Result("55ff00000000000000000b01", 4, Verdict.Pass, 10));
        store.RecordResult(Result("55ff00000000000000000b02", 2, Verdict.Fail, 5));
        store.RecordResult(Result("55ff00000000000000000b03", 6, Verdict.Fail, 20, "stuck-bits", attempt: 1));
        Assert.Throws<ResultsStoreException>(() => store.RecordResult(Result("55ff00000000000000000b03", 6, Verdict.Pass, 21, attempt: 1)));
        // b04 screened at last: its earlier soak failure now belongs to its lot's page
        store.RecordResult(Result("55ff00000000000000000b04", 7, Verdict.Pass, 30));
        store.FinishRun(run, RunStatus.Failed, Midnight.AddHours(1));

        Assert.That(db.Scalar("SELECT COUNT(DISTINCT rig_id) FROM runs"), Is.EqualTo(2));
        Assert.That(db.Scalar("SELECT COUNT(*) FROM results WHERE cycle IS NOT NULL"), Is.GreaterThan(0), "soak rows");
        Assert.That(db.Scalar("SELECT COUNT(*) FROM results WHERE attempt > 1"), Is.GreaterThan(0), "retests");
        foreach (var (table, stored, direct) in Summaries.Concat(LotPageSummaries).Append(LotFailureCounts).Append(LotYields).Append(UnitSpans).Append(LotUnitDays))
        {
            var expected = Text(db.Rows(direct));
            Assert.That(expected, Is.Not.Empty, table);
            Assert.That(Text(db.Rows(stored)), Is.EqualTo(expected), $"{table} against a direct count of the results");
        }
        Assert.That(db.Scalar("SELECT SUM(stuck_at_0) + SUM(stuck_at_1) FROM device_failure_days"), Is.GreaterThan(0), "failures with bit-error maps");

        // the pages that read them answer as the rows do
        var queries = ResultsQueries.OpenSqlite(path);
        var rows = queries.Rows();
        Assert.That(queries.Slots(), Is.EqualTo(Breakdown.SlotHealth(rows)));
        Assert.That(Describe(queries.Modes()), Is.EqualTo(Describe(Breakdown.FailureModesByLot(rows))));
        var day = Midnight.AddDays(-1).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        Assert.That(ResultFilter.TryParse(day, day, null, null, out var lastEvening, out var problem), problem);
        Assert.That(queries.LotCounts(lastEvening), Is.EqualTo(new[] { new GroupCount(UnknownLot, 1, 1) }),
            "rig-b's evening: b01 failed, b02's rig fault alone gives no verdict, the morning's retest is another day");
        Assert.That(ResultFilter.TryParse(day, Midnight.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), "rig-b", null, out var both, out problem), problem);
        Assert.That(queries.LotCounts(both), Is.EqualTo(new[] { new GroupCount(UnknownLot, 2, 4) }),
            "over both days the latest attempt decides: b01 passed, b02 failed, b03 failed, b04 passed (its soak cycle judges no unit)");
        var rigs = queries.Rigs(both).Rigs.Single();
        Assert.That((rigs.RigId, rigs.Results, rigs.RigFaults), Is.EqualTo(("rig-b", 9L, 1L)));

        // an inventory imported later moves rig-b's devices and one failed fleet device to other lots
        var moved = db.Rows(
            """
            SELECT d.device_id, (SELECT MIN(o.lot) FROM devices o WHERE o.lot <> d.lot) FROM devices d
            WHERE d.device_id IN (SELECT device_id FROM results WHERE verdict = 'fail' AND cycle IS NULL) ORDER BY d.device_id LIMIT 1
            """).Single();
        store.ImportDevices(
        [
            new HilRig.Core.Inventory.DeviceLot((string)moved[0]!, (string)moved[1]!, null, null),
            new HilRig.Core.Inventory.DeviceLot("55ff00000000000000000b01", "SST25-MOVED", null, null),
            new HilRig.Core.Inventory.DeviceLot("55ff00000000000000000b04", "SST25-MOVED", null, null),
            new HilRig.Core.Inventory.DeviceLot("55ff00000000000000000b05", "SST25-B05", null, null),
        ], Midnight.AddHours(2));
        AssertLotFailureCounts(db, "after a lot import (units relabelled, a soaked device's first record)");
        // b05 again, by its device record alone (it has no unit); then every unit rebuilt (deleted and counted again)
        store.UpsertDevice("55ff00000000000000000b05", "SST25-MOVED", Midnight.AddHours(2));
        AssertLotFailureCounts(db, "after a device without a unit moved");
        store.RebuildSummaries();
        AssertLotFailureCounts(db, "after the units were rebuilt");
        rows = queries.Rows();
        Assert.That(Describe(queries.Modes()), Is.EqualTo(Describe(Breakdown.FailureModesByLot(rows))), "the modes page after the lot move");
        Assert.That(queries.Modes().Single(l => l.Lot == "SST25-MOVED").FailureModes.Single(m => m.Name == "stuck-in-dfu"), Is.EqualTo(new CategoryCount("stuck-in-dfu", 2, 2)),
            "b04's and b05's soak failures moved with them");
        // one failure mode's page (a DUT's mode and a rig fault's), over every day and over whole days on one rig
        Assert.That(ResultFilter.TryParse(day, day, "rig-b", null, out var rigEvening, out problem), problem);
        foreach (var mode in db.Rows("SELECT DISTINCT failure_mode FROM results WHERE verdict IN ('fail', 'rig-fault') AND failure_mode IS NOT NULL").Select(m => (string)m[0]!))
        {
            AssertModePage(db, queries, mode, ResultFilter.None, "");
            AssertModePage(db, queries, mode, rigEvening, $" AND ru.rig_id = 'rig-b' AND substr(r.started_at, 1, 10) = '{day}'");
        }
        Assert.That(db.Scalar("SELECT COUNT(DISTINCT failure_mode) FROM results WHERE verdict = 'rig-fault'"), Is.GreaterThan(0), "a rig fault's mode");

        // one lot's page, over every day and over whole days on one rig, as the rows and their evidence count it
        var failed = db.Rows("SELECT r.device_id, r.failure_mode, r.signature, r.evidence_json, r.started_at, ru.rig_id FROM results r JOIN runs ru ON ru.id = r.run_id WHERE r.verdict = 'fail'");
        var lots = queries.LotCounts().Select(c => c.Name).ToList();
        Assert.That(lots, Does.Contain("SST25-MOVED").And.Contain(UnknownLot));
        foreach (var lot in lots)
            AssertLotPage(queries.Lot(lot)!, lot, rows, failed, _ => true);
        Assert.That(queries.Lot("SST25-MOVED")!.Signatures.StuckAt1, Is.EqualTo(3), "b01's map and b04's soak failure, moved with them");
        Assert.That(ResultFilter.TryParse(day, day, "rig-b", null, out var evening, out problem), problem);
        AssertLotPage(queries.Lot("SST25-MOVED", evening)!, "SST25-MOVED", rows, failed,
            f => (string)f[5]! == "rig-b" && ((string)f[4]!).StartsWith(day, StringComparison.Ordinal), filtered: true);
        // a day of the first rig's, every lot: its rate against that day's fleet, its failures that day
        var first = db.Rows("SELECT substr(MIN(r.started_at), 1, 10) FROM results r JOIN runs ru ON ru.id = r.run_id WHERE ru.rig_id <> 'rig-b'").Single()[0] as string;
        Assert.That(ResultFilter.TryParse(first, first, null, null, out var firstDay, out problem), problem);
        var dayLots = queries.Lots(firstDay).Lots;
        Assert.That(dayLots, Has.Count.GreaterThan(1));
        foreach (var rate in dayLots)
        {
            var page = queries.Lot(rate.Lot, firstDay)!;
            Assert.That(page.Rate, Is.EqualTo(rate), rate.Lot);
            AssertLotPage(page, rate.Lot, rows, failed, f => ((string)f[4]!).StartsWith(first!, StringComparison.Ordinal), filtered: true);
        }

        // any range (step 17: the units inside it as units holds them, those straddling a bound from their results): whole
        // days, a bound across rig-b's midnight retests, bounds between the two screens' retests, a time of day, open ends
        AssertRangeCounts(db, queries, rows, failed);

        // and the failure mode pages read the same before and after the migration (step 14 taking ix_results_mode's place)
        var modePages = Text(db.Rows("SELECT DISTINCT failure_mode FROM results WHERE failure_mode IS NOT NULL"))
            .Select(m => System.Text.Json.JsonSerializer.Serialize(queries.FailureMode(m, ResultFilter.None, latest: 5))).ToList();
        // steps 15 and 16 count the failures and yields already stored as their triggers did (the store taken back to step 14)
        var modesPage = Describe(queries.Modes());
        BackToStep14(db);
        ResultsStore.Open(path);
        AssertLotFailureCounts(db, "as steps 15 to 17 fill them");
        AssertRangeCounts(db, queries, rows, failed);
        foreach (var lot in queries.LotCounts().Select(c => c.Name))
            AssertLotPage(queries.Lot(lot)!, lot, rows, failed, _ => true);
        Assert.That(Describe(queries.Modes()), Is.EqualTo(modesPage), "the modes page after step 15");

        // the migration summarises existing rows as the triggers did (the store taken back to step 11, later steps undone)
        BackToStep14(db);
        db.Execute("DROP TRIGGER tr_results_failure_days", "DROP TRIGGER tr_results_test_ends", "DROP TABLE device_failure_days", "DROP TABLE unit_test_ends",
            "DROP INDEX ix_screen_attempts_serial", "DROP INDEX ix_results_mode_time",
            "CREATE INDEX ix_results_mode ON results(failure_mode, verdict) WHERE failure_mode IS NOT NULL", "DELETE FROM schema_version WHERE version >= 12");
        var before = LotPageSummaries.Select(t => (t.Table, Rows: Text(db.Rows(t.Direct)))).ToList();
        ResultsStore.Open(path);
        foreach (var (table, expected) in before)
            Assert.That(Text(db.Rows(LotPageSummaries.Single(t => t.Table == table).Stored)), Is.EqualTo(expected), $"{table} as step 12 fills it");
        AssertLotFailureCounts(db, "after steps 12 to 15");
        Assert.That(Text(db.Rows("SELECT DISTINCT failure_mode FROM results WHERE failure_mode IS NOT NULL"))
            .Select(m => System.Text.Json.JsonSerializer.Serialize(queries.FailureMode(m, ResultFilter.None, latest: 5))), Is.EqualTo(modePages));
    }

    [Test]
    public void A_command_upgrading_a_store_tells_each_step_on_standard_error_and_leaves_its_answer_as_it_was()
    {
        var config = TestRigs.WriteConfig(TestRigs.DefaultCores());
        var path = Path.Combine(Path.GetDirectoryName(config)!, "results", "hilrig.db");
        var db = TestStore.Sqlite(path);
        var at14 = db.OpenAt(14);
        var run = at14.StartRun(new RunInfo("rig-a", "hash", 1, "BL14", "screen", Midnight));
        at14.UpsertDevice("55ff00000000000000000c01", "SST25-1401A", Midnight);
        at14.UpsertDevice("55ff00000000000000000c02", "SST25-1402B", Midnight);
        foreach (var (device, minutes, mode) in new[] { ("55ff00000000000000000c01", 1, "stuck-bits"), ("55ff00000000000000000c01", 2, "stuck-bits"),
                     ("55ff00000000000000000c02", 3, null), ("55ff00000000000000000c03", 4, "erase-failure") })
            at14.RecordResult(new ResultRecord(run, device, 1, "dfu-readback", Verdict.Fail, Midnight.AddMinutes(minutes), Midnight.AddMinutes(minutes).AddSeconds(9),
                FailureMode: mode, Signature: mode is null ? null : $"{mode} at 0x0{minutes}0000"));

        var upgrading = CliHarness.Run("report", "modes", "--store", path, "--format", "json");
        var upgraded = CliHarness.Run("report", "modes", "--store", path, "--format", "json");

        Assert.That((upgrading.Exit, upgraded.Exit), Is.EqualTo((ExitCodes.Ok, ExitCodes.Ok)), upgrading.Error);
        var lines = CliHarness.Unwrapped(upgrading.Error).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(6), upgrading.Error);
        Assert.That(lines[0], Does.EndWith("schema step 15 of 17 (per-lot failure summary) ...").And.StartWith("store "));
        Assert.That(lines[1], Does.Match(@"^store .*hilrig\.db: schema step 15 of 17 \(per-lot failure summary\) done in \d+\.\d s$"));
        Assert.That(lines[2], Does.EndWith("schema step 16 of 17 (per-lot yields) ..."));
        Assert.That(lines[3], Does.Match(@"^store .*hilrig\.db: schema step 16 of 17 \(per-lot yields\) done in \d+\.\d s$"));
        Assert.That(lines[4], Does.EndWith("schema step 17 of 17 (unit screening spans) ..."));
        Assert.That(lines[5], Does.Match(@"^store .*hilrig\.db: schema step 17 of 17 \(unit screening spans\) done in \d+\.\d s$"));
        Assert.That(upgraded.Error, Is.Empty, "a store already at the latest step says nothing");
        Assert.That(upgrading.Output, Is.EqualTo(upgraded.Output), "standard output (JSON) is the answer alone");
        Assert.That(upgrading.Output, Does.Contain("\"lot\": \"SST25-1401A\"").And.Contain("erase-failure at 0x040000"));
        Assert.That(db.Scalar("SELECT MAX(version) FROM schema_version"), Is.EqualTo(Migrations.Latest));
        AssertLotFailureCounts(db, "after steps 15 to 17 ran on a command's open");
    }

    [Test]
    public void A_new_store_reports_its_steps_as_created_not_upgraded()
    {
        var seen = new List<SchemaStepProgress>();
        using (ResultsStore.ObserveSchemaSteps(seen.Add))
            ResultsStore.Open(Path.Combine(Path.GetDirectoryName(TestRigs.WriteConfig(TestRigs.DefaultCores()))!, "new.db"));
        Assert.That(seen.Select(s => $"{s.Step} {s.Finished} {s.From}"),
            Is.EqualTo(Enumerable.Range(0, Migrations.Latest + 1).SelectMany(step => new[] { $"{step} False 0", $"{step} True 0" })),
            "the integrity check (step 0), then each step, none of them an upgrade");
        // outside the observed call nothing is told
        seen.Clear();
        ResultsStore.Open(Path.Combine(Path.GetDirectoryName(TestRigs.WriteConfig(TestRigs.DefaultCores()))!, "other.db"));
        Assert.That(seen, Is.Empty);
    }

    /// <summary>
    /// A lot's page against its screened devices' rows: failure modes and signatures (<see cref="Breakdown.FailureModesByLot"/>),
    /// defect kinds and bit-error totals read from each failure's evidence; and, unfiltered, its yields (<see cref="Yield"/>).
    /// </summary>
    private static void AssertLotPage(LotDetail page, string lot, IReadOnlyList<HilRig.Reports.Results.ResultRow> rows, List<object?[]> failed,
        Func<object?[], bool> keep, bool filtered = false)
    {
        var screened = rows.Where(r => r.Cycle is null).GroupBy(r => r.DeviceId).ToDictionary(g => g.Key, g => g.First().Lot);
        var failures = failed.Where(f => screened.GetValueOrDefault((string)f[0]!) == lot && keep(f)).ToList();
        var expected = Breakdown.FailureModesByLot(failures.Select(f => new HilRig.Reports.Results.ResultRow(
            (string)f[0]!, lot, 0, "", 1, Verdict.Fail, (string?)f[1], (string?)f[2], null, null, default))).SingleOrDefault()
            ?? new LotFailureBreakdown(lot, [], []);
        Assert.That(Describe([page.Breakdown]), Is.EqualTo(Describe([expected])), lot);
        var kinds = failures.GroupBy(f => DefectKinds.Of((string?)f[1], (string?)f[2]))
            .Select(g => $"{g.Key} {g.Count()} {g.Select(f => f[0]).Distinct().Count()}").Order(StringComparer.Ordinal);
        Assert.That(page.Signatures.Kinds.Select(k => $"{k.Name} {k.Failures} {k.Devices}").Order(StringComparer.Ordinal), Is.EqualTo(kinds), lot);
        var maps = failures.Select(f => EvidenceJson.Read((string?)f[3])?.Readback?.BitErrors).OfType<HilRig.Core.Procedures.BitErrorMapSummary>().ToList();
        Assert.That((page.Signatures.StuckAt0, page.Signatures.StuckAt1), Is.EqualTo((maps.Sum(m => m.StuckAt0), maps.Sum(m => m.StuckAt1))), lot);
        Assert.That(page.Signatures.ByBitPosition,
            Is.EqualTo(Enumerable.Range(0, 8).Select(i => maps.Sum(m => i < m.ByBitPosition.Length ? m.ByBitPosition[i] : 0))), lot);
        if (filtered) return;
        var attempts = rows.Where(r => r.Cycle is null && screened[r.DeviceId] == lot)
            .Select(r => new HilRig.Reports.Results.AttemptRecord(r.DeviceId, r.Test, r.Attempt, r.Verdict)).ToList();
        Assert.That((page.FirstPassYield, page.FinalYield), Is.EqualTo((Yield.FirstPass(attempts), Yield.Final(attempts))), lot);
    }

    /// <summary>
    /// The lots page's counts over date ranges against a direct count of the screening attempts in each range (per device
    /// and test the latest start, then the highest attempt, decides), and one lot's page (its rate and failures) over a few
    /// of them: whole days, bounds between screening attempts (seconds and times of day, across midnight), open ends.
    /// </summary>
    private static void AssertRangeCounts(TestStore db, ResultsQueries queries, IReadOnlyList<HilRig.Reports.Results.ResultRow> rows, List<object?[]> failed)
    {
        var starts = db.Rows("SELECT DISTINCT started_at FROM results WHERE cycle IS NULL ORDER BY started_at").Select(r => (string)r[0]!).ToList();
        var days = starts.Select(t => t[..10]).Distinct(StringComparer.Ordinal).ToList();
        Assert.That(days, Has.Count.GreaterThan(1));
        // a second past each of a spread of attempts' starts: a bound between attempts, off the minute and the hour
        var bounds = Enumerable.Range(0, 9).Select(i => starts[i * (starts.Count - 1) / 8])
            .Select(t => DateTimeOffset.Parse(t, CultureInfo.InvariantCulture).AddSeconds(1).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture))
            .Distinct(StringComparer.Ordinal).ToList();
        var ranges = new List<(string? From, string? To)>();
        foreach (var day in days)
            ranges.Add((day, day));
        ranges.Add((days[0], days[^1]));
        ranges.Add(((string?)Midnight.AddDays(-1).ToString("yyyy-MM-dd'T'23:55", CultureInfo.InvariantCulture), (string?)Midnight.ToString("yyyy-MM-dd'T'00:07", CultureInfo.InvariantCulture)));
        for (var i = 0; i < bounds.Count; i++)
        {
            ranges.Add((bounds[i], null));
            ranges.Add((null, bounds[i]));
            for (var j = i + 1; j < bounds.Count; j++)
                ranges.Add((bounds[i], bounds[j]));
        }
        static string Stored(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);
        var pages = 0;
        foreach (var (from, to) in ranges)
        {
            Assert.That(ResultFilter.TryParse(from, to, null, null, out var filter, out var problem), problem);
            var where = (filter.From is { } f ? $" AND started_at >= '{Stored(f)}'" : "") + (filter.ToExclusive is { } t ? $" AND started_at < '{Stored(t)}'" : "");
            var direct = db.Rows(
                $"""
                SELECT COALESCE(d.lot, '{UnknownLot}'), SUM(x.judged), SUM(x.failed)
                FROM (SELECT device_id, MAX(verdict <> 'rig-fault') AS judged, MAX(verdict = 'fail') AS failed
                      FROM (SELECT device_id, verdict, ROW_NUMBER() OVER (PARTITION BY device_id, test ORDER BY started_at DESC, attempt DESC) AS rn
                            FROM results WHERE cycle IS NULL{where})
                      WHERE rn = 1 GROUP BY device_id) x
                LEFT JOIN devices d ON d.device_id = x.device_id
                GROUP BY 1 HAVING SUM(x.judged) > 0
                """).Select(r => new GroupCount((string)r[0]!, Convert.ToInt32(r[2], CultureInfo.InvariantCulture), Convert.ToInt32(r[1], CultureInfo.InvariantCulture)))
                .OrderBy(g => g.Name, StringComparer.Ordinal).ToList();
            Assert.That(queries.LotCounts(filter), Is.EqualTo(direct), $"lots from {from} to {to}");
            if (from is null || to is null || pages++ % 4 != 0) continue;
            var (lower, upper) = (Stored(filter.From!.Value), Stored(filter.ToExclusive!.Value));
            foreach (var rate in queries.Lots(filter).Lots)
            {
                var page = queries.Lot(rate.Lot, filter)!;
                Assert.That(page.Rate, Is.EqualTo(rate), $"{rate.Lot} from {from} to {to}");
                AssertLotPage(page, rate.Lot, rows, failed,
                    f => string.CompareOrdinal((string)f[4]!, lower) >= 0 && string.CompareOrdinal((string)f[4]!, upper) < 0, filtered: true);
            }
        }
    }

    /// <summary>
    /// One failure mode's page against its failed and rig-faulted rows the filter keeps (<paramref name="where"/>): counts,
    /// distinct devices per lot (each device's current lot), and its three newest attempts (newest first, then device id).
    /// </summary>
    private static void AssertModePage(TestStore db, ResultsQueries queries, string mode, ResultFilter filter, string where)
    {
        var rows = db.Rows(
            $"""
            SELECT r.device_id, COALESCE(d.lot, '{UnknownLot}'), r.started_at FROM results r JOIN runs ru ON ru.id = r.run_id LEFT JOIN devices d ON d.device_id = r.device_id
            WHERE r.verdict IN ('fail', 'rig-fault') AND r.failure_mode = '{mode}'{where}
            ORDER BY r.started_at DESC, r.device_id, r.verdict, r.rowid
            """);
        var page = queries.FailureMode(mode, filter, latest: 3);
        Assert.That((page.Failures, page.Devices), Is.EqualTo((rows.Count, rows.Select(r => r[0]).Distinct().Count())), mode);
        Assert.That(page.ByLot.Select(c => $"{c.Name} {c.Failures} {c.Devices}").Order(StringComparer.Ordinal),
            Is.EqualTo(rows.GroupBy(r => (string)r[1]!).Select(g => $"{g.Key} {g.Count()} {g.Select(r => r[0]).Distinct().Count()}").Order(StringComparer.Ordinal)), mode);
        Assert.That(page.Latest.Select(l => $"{l.DeviceId} {l.Lot} {l.StartedAt.UtcDateTime:O}"),
            Is.EqualTo(rows.Take(3).Select(r => $"{r[0]} {r[1]} {DateTimeOffset.Parse((string)r[2]!, CultureInfo.InvariantCulture).UtcDateTime:O}")), mode);
    }

    /// <summary>Evidence as the recorder writes it: a failed readback with a bit-error map.</summary>
    private static string BitErrors(long stuckAt0, long stuckAt1, long[] byBitPosition) => EvidenceJson.Write(new Evidence(Readback: new HilRig.Core.Procedures.DfuReadbackResult(
        Verdict.Fail, "stuck-bits", "stuck-at-0 at 0x020010", [],
        new HilRig.Core.Procedures.BitErrorMapSummary(stuckAt0 + stuckAt1, stuckAt0, stuckAt1, 0, 0x020010, byBitPosition, ["0x020000"], [], 64),
        TimeSpan.FromSeconds(4), null)))!;

    private static List<string> Text(IEnumerable<object?[]> rows) =>
        [.. rows.Select(r => string.Join("|", r.Select(v => Convert.ToString(v, CultureInfo.InvariantCulture)))).Order(StringComparer.Ordinal)];

    private static List<string> Describe(IEnumerable<LotFailureBreakdown> lots) =>
        [.. lots.SelectMany(l => l.FailureModes.Select(m => $"{l.Lot} mode {m.Name} {m.Failures} {m.Devices}")
            .Concat(l.Signatures.Select(s => $"{l.Lot} signature {s.Name} {s.Failures} {s.Devices}")))];

}
