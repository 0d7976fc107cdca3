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
/// The dashboard's summaries on a rig's store (steps 10 and 11), kept by triggers as results are written: after every
/// kind of write (screen with failures and retests, an LED-observed soak, both paths of sim fleet, a second rig, a
/// refused duplicate attempt, results either side of midnight) each summary table holds exactly what a GROUP BY over
/// the results holds, and the pages that read them answer as the raw rows would.
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
        store.FinishRun(run, RunStatus.Failed, Midnight.AddHours(1));

        Assert.That(db.Scalar("SELECT COUNT(DISTINCT rig_id) FROM runs"), Is.EqualTo(2));
        Assert.That(db.Scalar("SELECT COUNT(*) FROM results WHERE cycle IS NOT NULL"), Is.GreaterThan(0), "soak rows");
        Assert.That(db.Scalar("SELECT COUNT(*) FROM results WHERE attempt > 1"), Is.GreaterThan(0), "retests");
        foreach (var (table, stored, direct) in Summaries)
        {
            var expected = Text(db.Rows(direct));
            Assert.That(expected, Is.Not.Empty, table);
            Assert.That(Text(db.Rows(stored)), Is.EqualTo(expected), $"{table} against a direct count of the results");
        }

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
        Assert.That(queries.LotCounts(both), Is.EqualTo(new[] { new GroupCount(UnknownLot, 2, 3) }),
            "over both days the latest attempt decides: b01 passed, b02 failed, b03 failed");
        var rigs = queries.Rigs(both).Rigs.Single();
        Assert.That((rigs.RigId, rigs.Results, rigs.RigFaults), Is.EqualTo(("rig-b", 5L, 1L)));
    }

    private static List<string> Text(IEnumerable<object?[]> rows) =>
        [.. rows.Select(r => string.Join("|", r.Select(v => Convert.ToString(v, CultureInfo.InvariantCulture)))).Order(StringComparer.Ordinal)];

    private static List<string> Describe(IEnumerable<LotFailureBreakdown> lots) =>
        [.. lots.SelectMany(l => l.FailureModes.Select(m => $"{l.Lot} mode {m.Name} {m.Failures} {m.Devices}")
            .Concat(l.Signatures.Select(s => $"{l.Lot} signature {s.Name} {s.Failures} {s.Devices}")))];

}
