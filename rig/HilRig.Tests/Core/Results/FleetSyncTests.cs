using HilRig.Core.Procedures;
using HilRig.Core.Results;
using HilRig.Reports.Queries;
using HilRig.Reports.Results;
using HilRig.Reports.Statistics;
using HilRig.Sim.Fleet;
using HilRig.Tests.Reports;
using HilRig.Tests.Support;
using Npgsql;

namespace HilRig.Tests.Fleet;

/// <summary>
/// A rig's SQLite store forwarded into a real fleet PostgreSQL: every row arrives once, rollups equal direct counts,
/// a rig's role can do nothing but send its own rows, and every fault leaves the rig's data as it was and the next
/// sync completing the work.
/// </summary>
[Category("Integration")]
public class FleetSyncTests() : FleetFixture("fleet")
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 14, 8, 0, 0, TimeSpan.Zero);

    /// <summary>A rig's store with a generated production history of its own (devices with lots, screening and soak rows).</summary>
    private ResultsStore RigStore(string rigId, int cores, int seed)
    {
        var store = ResultsStore.Open(StorePath(rigId));
        new FleetFastPath(FleetPlan.Create(new FleetOptions(cores, 4, seed, 1, 3)), 8).WriteTo(store, rigId);
        return store;
    }

    // Sorted lists, not sets: a difference shows as the first id that is missing or doubled.
    private static List<string> Ids(TestStore store, string sql) => store.Rows(sql).Select(r => (string)r[0]!).Order(StringComparer.Ordinal).ToList();

    private List<string> CentralResultIds(string rigId) =>
        Ids(Central, $"SELECT r.id FROM results r JOIN runs ru ON ru.id = r.run_id WHERE ru.rig_id = '{rigId}'");

    private static List<string> LocalResultIds(ResultsStore local) => local.GetResults().Select(r => r.Id.ToString("D")).Order(StringComparer.Ordinal).ToList();

    [Test]
    public void Every_row_arrives_once_and_a_second_or_resent_sync_inserts_nothing()
    {
        var rig = AddRig("a");
        var local = RigStore(rig.RigId, 400, seed: 3);
        local.SaveCalibration(rig.RigId, new Core.Led.SlotCalibration(1, 1, 2, 3, 4, 0.5, 16, 24, 900), T0);
        var sync = new FleetSync(local, rig.ConnectionString, rig.RigId, line: "line-2") { BatchSize = 500 };

        var first = sync.Sync();

        var localIds = LocalResultIds(local);
        Assert.That(first.ResultsInserted, Is.EqualTo(localIds.Count));
        Assert.That(first.Batches, Is.GreaterThan(1), "several batches");
        Assert.That(CentralResultIds(rig.RigId), Is.EqualTo(localIds), "row by row, by id");
        Assert.That(Central.Scalar($"SELECT COUNT(*) FROM runs WHERE rig_id = '{rig.RigId}' AND line = 'line-2'"), Is.EqualTo(TestStore.Sqlite(StorePath(rig.RigId)).Scalar("SELECT COUNT(*) FROM runs")));
        Assert.That(Central.Scalar($"SELECT COUNT(*) FROM sensor_calibrations WHERE rig_id = '{rig.RigId}' AND lit_c = 900"), Is.EqualTo(1));
        var evidence = local.GetResults().First(r => r.EvidenceJson is not null);
        Assert.That(Central.Rows($"SELECT evidence_json FROM results WHERE id = '{evidence.Id:D}'").Single()[0], Is.EqualTo(evidence.EvidenceJson));

        var second = sync.Sync();
        Assert.That((second.ResultsSent, second.ResultsInserted), Is.EqualTo((0L, 0L)), "the high-water mark kept");

        // The rig lost its mark (a crash between the central commit and the local update): everything is sent again,
        // nothing is inserted or counted twice.
        new TestStoreFile(StorePath(rig.RigId)).Execute("DELETE FROM sync_state");
        var resent = sync.Sync();
        Assert.That((resent.ResultsSent, resent.ResultsInserted), Is.EqualTo(((long)localIds.Count, 0L)));
        Assert.That(Central.Scalar($"SELECT results_synced FROM fleet_rigs WHERE rig_id = '{rig.RigId}'"), Is.EqualTo(localIds.Count));
        AssertRollupsEqualDirectCounts();
    }

    [Test]
    public void Rigs_syncing_the_same_lots_meet_in_one_lot_table_equal_to_the_counting_rule_over_every_row()
    {
        var a = AddRig("a");
        var b = AddRig("b");
        var storeA = RigStore(a.RigId, 600, seed: 11);
        var storeB = RigStore(b.RigId, 500, seed: 12);

        Parallel.Invoke(
            () => new FleetSync(storeA, a.ConnectionString, a.RigId) { BatchSize = 400 }.Sync(),
            () => new FleetSync(storeB, b.ConnectionString, b.RigId) { BatchSize = 400 }.Sync());

        Assert.That(CentralResultIds(a.RigId), Is.EqualTo(LocalResultIds(storeA)));
        Assert.That(CentralResultIds(b.RigId), Is.EqualTo(LocalResultIds(storeB)));
        AssertRollupsEqualDirectCounts();
        var central = Central.Queries();
        Assert.That(central.LotCounts().Select(g => (g.Name, g.Units, g.Failed)), Is.EqualTo(ResultsQueriesTests.DirectLotCounts(Central)));

        // The lot page's yields, read from the rollups, by the statistics' rule over every row.
        var rows = central.Rows();
        foreach (var lot in central.LotCounts().Select(g => g.Name))
        {
            var attempts = rows.Where(r => r.Lot == lot && r.Cycle is null).Select(r => new AttemptRecord(r.DeviceId, r.Test, r.Attempt, r.Verdict)).ToList();
            var detail = central.Lot(lot)!;
            Assert.That((detail.FirstPassYield, detail.FinalYield), Is.EqualTo((Yield.FirstPass(attempts), Yield.Final(attempts))), lot);
            // its failures, read from lot_failures: every failing row of the lot's screened devices
            var screened = rows.Where(r => r.Cycle is null && r.Lot == lot).Select(r => r.DeviceId).ToHashSet(StringComparer.Ordinal);
            var failing = rows.Where(r => r.Lot == lot && r.Verdict == Verdict.Fail && screened.Contains(r.DeviceId)).ToList();
            var expected = Breakdown.FailureModesByLot(failing).SingleOrDefault();
            Assert.That(detail.Breakdown.FailureModes, Is.EqualTo(expected?.FailureModes ?? []), lot);
            Assert.That(detail.Breakdown.Signatures, Is.EqualTo(expected?.Signatures ?? []), lot);
            Assert.That(detail.DevicesInLot, Is.EqualTo(screened.Count), lot);
            // defect kinds and bit-error totals, counted by the server (fleet step 8), by the page's rule over the evidence
            var evidence = Central.Rows(
                $"SELECT r.device_id, r.failure_mode, r.signature, r.evidence_json FROM results r JOIN units u ON u.device_id = r.device_id WHERE u.lot = '{lot}' AND r.verdict = 'fail'");
            Assert.That(evidence.Count, Is.EqualTo(failing.Count), lot);
            var kinds = evidence.GroupBy(e => DefectKinds.Of((string?)e[1], (string?)e[2]))
                .Select(g => new CategoryCount(g.Key, g.Count(), g.Select(e => (string)e[0]!).Distinct().Count()))
                .OrderByDescending(c => c.Failures).ThenBy(c => c.Name, StringComparer.Ordinal).ToList();
            var maps = evidence.Select(e => EvidenceJson.Read((string?)e[3])?.Readback?.BitErrors).OfType<BitErrorMapSummary>().ToList();
            Assert.That(detail.Signatures.Kinds, Is.EqualTo(kinds), lot);
            Assert.That((detail.Signatures.StuckAt0, detail.Signatures.StuckAt1), Is.EqualTo((maps.Sum(m => m.StuckAt0), maps.Sum(m => m.StuckAt1))), lot);
            Assert.That(detail.Signatures.ByBitPosition,
                Is.EqualTo(Enumerable.Range(0, 8).Select(i => maps.Sum(m => i < m.ByBitPosition.Length ? m.ByBitPosition[i] : 0))), lot);
        }
        Assert.That(Central.Scalar("SELECT COUNT(*) FROM lot_failures WHERE bit_errors IS NOT NULL"), Is.GreaterThan(0), "some failures carry bit-error maps");
        // The slots page, read from rollup_slots (fleet step 10), by the statistics' rule over every row.
        Assert.That(central.Slots(), Is.EqualTo(Breakdown.SlotHealth(rows)));

        // The rigs page: each rig's slots add up to its rows.
        foreach (var (rig, store) in new[] { (a, storeA), (b, storeB) })
        {
            var view = central.Rig(rig.RigId)!;
            Assert.That(view.Rig.Results, Is.EqualTo(LocalResultIds(store).Count), rig.RigId);
            Assert.That(view.Slots.Sum(s => s.Results), Is.EqualTo(view.Rig.Results));
            Assert.That(view.Days.Sum(d => d.Results), Is.EqualTo(view.Rig.Results), "all its days are within the newest 30");
            Assert.That(view.Rig.LastSyncAt, Is.Not.Null);
        }
        Assert.That(central.Rigs().Select(r => r.RigId), Is.SupersetOf(new[] { a.RigId, b.RigId }));
    }

    [Test]
    public void A_rig_role_may_call_the_ingest_only_and_read_its_own_rig_row()
    {
        var a = AddRig("a");
        var b = AddRig("b");
        new FleetSync(RigStore(a.RigId, 50, seed: 4), a.ConnectionString, a.RigId).Sync();
        new FleetSync(RigStore(b.RigId, 50, seed: 5), b.ConnectionString, b.RigId).Sync();
        var asA = TestStore.Postgres(a.ConnectionString);

        foreach (var sql in new[]
        {
            "DELETE FROM results",
            "UPDATE results SET verdict = 'pass'",
            $"UPDATE runs SET status = 'passed' WHERE rig_id = '{a.RigId}'",
            "DELETE FROM runs",
            "UPDATE lot_counts SET failed = 0",
            "UPDATE rollup_rig_slot SET results = 0",
            "DELETE FROM devices",
            $"INSERT INTO runs (id, rig_id, config_hash, kind, started_at, status) VALUES ('x', '{a.RigId}', 'h', 'screen', 't', 'passed')",
            "UPDATE fleet_rigs SET results_synced = 0",
            "SELECT fleet_refresh_units()",
        })
        {
            var e = Assert.Throws<PostgresException>(() => asA.Execute(sql), sql)!;
            Assert.That(e.SqlState, Is.EqualTo("42501"), sql);
        }
        Assert.That(asA.Scalar("SELECT MAX(version) FROM schema_version"), Is.EqualTo(Migrations.Latest), "reads the schema version");
        Assert.That(Ids(asA, "SELECT rig_id FROM fleet_rigs"), Is.EqualTo(new[] { a.RigId }), "sees its own rig row only");
        Assert.That(Central.Scalar("SELECT COUNT(*) FROM results"), Is.GreaterThan(0));
    }

    [Test]
    public void A_rig_role_sending_another_rigs_rows_is_refused_and_nothing_of_that_sync_is_kept()
    {
        var a = AddRig("a");
        var b = AddRig("b");
        var storeB = RigStore(b.RigId, 60, seed: 6);

        // Rig A's password in rig B's config: the rows say rig B, the role is rig A's.
        var e = Assert.Throws<FleetSyncException>(() => new FleetSync(storeB, a.ConnectionString, b.RigId).Sync())!;

        Assert.That(e.Failure, Is.EqualTo(SyncFailure.Permission));
        Assert.That(e.Message, Does.Contain($"rig {a.RigId} may not write rows of rig {b.RigId}"));
        Assert.That(Central.Scalar($"SELECT COUNT(*) FROM runs WHERE rig_id = '{b.RigId}'"), Is.Zero);
        Assert.That(new FleetSync(storeB, b.ConnectionString, b.RigId).Status().ResultsSynced, Is.Zero, "the mark did not move");
        Assert.That(new FleetSync(storeB, b.ConnectionString, b.RigId).Sync().ResultsInserted, Is.EqualTo(LocalResultIds(storeB).Count));
    }

    [Test]
    public void A_server_gone_mid_batch_loses_that_batch_only_and_the_next_sync_completes_the_work()
    {
        var rig = AddRig("a");
        var local = RigStore(rig.RigId, 300, seed: 7);
        var before = local.GetResults();
        var batches = 0;
        var cut = new FleetSync(local, rig.ConnectionString, rig.RigId)
        {
            BatchSize = 300,
            // The third transaction (runs and devices, one batch of results, then this one) loses its server before commit.
            BeforeCommit = connection =>
            {
                if (++batches == 3)
                    Terminate(connection.ProcessID);
            },
        };

        var e = Assert.Throws<FleetSyncException>(() => cut.Sync())!;

        Assert.That(e.Failure, Is.EqualTo(SyncFailure.Lost));
        Assert.That(e.Message, Does.StartWith($"lost {cut.Target} in the middle of a batch"));
        Assert.That(CentralResultIds(rig.RigId), Has.Count.EqualTo(300), "the first batch only");
        Assert.That(local.GetResults(), Is.EqualTo(before), "the rig's rows untouched");
        var status = new FleetSync(local, rig.ConnectionString, rig.RigId).Status();
        Assert.That((status.ResultsSynced, status.ResultsBehind), Is.EqualTo((300L, (long)before.Count - 300)));

        new FleetSync(local, rig.ConnectionString, rig.RigId).Sync();

        Assert.That(CentralResultIds(rig.RigId), Is.EqualTo(LocalResultIds(local)));
        AssertRollupsEqualDirectCounts();
    }

    [Test]
    public void Unreachable_server_wrong_password_and_a_newer_central_schema_each_stop_with_their_own_failure()
    {
        var rig = AddRig("a");
        var local = RigStore(rig.RigId, 20, seed: 8);
        var builder = new NpgsqlConnectionStringBuilder(rig.ConnectionString);

        var closed = new NpgsqlConnectionStringBuilder(rig.ConnectionString) { Port = ClosedPort(), Timeout = 3 };
        var unreachable = Assert.Throws<FleetSyncException>(() => new FleetSync(local, closed.ConnectionString, rig.RigId).Sync())!;
        Assert.That(unreachable.Failure, Is.EqualTo(SyncFailure.Unreachable));
        Assert.That(unreachable.Message, Does.StartWith("cannot reach the fleet database at 127.0.0.1:"));

        var wrong = new NpgsqlConnectionStringBuilder(rig.ConnectionString) { Password = "not-the-password" };
        var login = Assert.Throws<FleetSyncException>(() => new FleetSync(local, wrong.ConnectionString, rig.RigId).Sync())!;
        Assert.That(login.Failure, Is.EqualTo(SyncFailure.Authentication));
        Assert.That(login.Message, Does.Contain($"refused the login of {builder.Username}"));

        var newer = TestStore.Postgres(TestPostgres.NewDatabase("newer"));
        FleetSchema.Init(newer.Location);
        var newerRig = FleetSchema.AddRig(newer.Location, RigId("n"));
        newer.Execute("INSERT INTO fleet_schema_version VALUES (99, '2030-01-01T00:00:00.0000000Z')");
        var schema = Assert.Throws<FleetSyncException>(() => new FleetSync(local, newerRig.ConnectionString, rig.RigId).Sync())!;
        Assert.That(schema.Failure, Is.EqualTo(SyncFailure.Schema));
        Assert.That(schema.Message, Does.Contain("newer than this hilrig").And.Contain("update hilrig"));

        Assert.That(new FleetSync(local, rig.ConnectionString, rig.RigId).Status().ResultsSynced, Is.Zero, "no failure moved the mark");
        new FleetSync(local, rig.ConnectionString, rig.RigId).Sync();
        Assert.That(CentralResultIds(rig.RigId), Is.EqualTo(LocalResultIds(local)));
    }

    [Test]
    public void A_sync_records_the_rigs_software_version_clock_offset_and_line()
    {
        var rig = AddRig("a");
        var report = new FleetSync(RigStore(rig.RigId, 10, seed: 9), rig.ConnectionString, rig.RigId, line: "line-7").Sync();

        var row = Central.Rows($"SELECT software_version, clock_offset_ms, line, last_sync_at IS NOT NULL FROM fleet_rigs WHERE rig_id = '{rig.RigId}'").Single();

        Assert.That(row[0], Is.EqualTo(FleetSync.SoftwareVersion));
        Assert.That((double)row[1]!, Is.EqualTo(report.ClockOffsetMs).And.InRange(-5000, 5000), "same machine: the clocks agree");
        Assert.That(row[2], Is.EqualTo("line-7"));
        Assert.That(row[3], Is.True);
    }

    [Test]
    public void A_corrected_lot_moves_the_devices_results_in_every_rollup()
    {
        var rig = AddRig("a");
        var local = ResultsStore.Open(StorePath("moves"));
        local.UpsertDevice("d1", "L-WRONG", T0);
        local.UpsertDevice("d2", "L-WRONG", T0);
        var run = local.StartRun(new RunInfo(rig.RigId, "h", 1, "BL14", "screen", T0));
        local.RecordResult(new ResultRecord(run, "d1", 1, "dfu-readback", Verdict.Fail, T0, T0.AddSeconds(5)));
        local.RecordResult(new ResultRecord(run, "d2", 2, "dfu-readback", Verdict.Pass, T0, T0.AddSeconds(5)));
        var sync = new FleetSync(local, rig.ConnectionString, rig.RigId);
        sync.Sync();

        local.UpsertDevice("d1", "L-RIGHT", T0.AddDays(1));
        sync.Sync();

        AssertRollupsEqualDirectCounts();
        Assert.That(Central.Scalar("SELECT failed FROM lot_counts WHERE lot = 'L-RIGHT'"), Is.EqualTo(1));
        Assert.That(Central.Scalar("SELECT failed FROM lot_counts WHERE lot = 'L-WRONG'"), Is.Zero);
    }

    [Test]
    public void A_device_soaked_before_it_is_screened_shows_its_soak_failure_on_its_lots_page_once_screened()
    {
        var rig = AddRig("a");
        // devices are fleet-wide: ids of this test's own
        var (d1, d2, lot) = (Unique("s1"), Unique("s2"), Unique("L-SOAK"));
        var local = ResultsStore.Open(StorePath("soaked-first"));
        local.UpsertDevice(d1, lot, T0);
        local.UpsertDevice(d2, lot, T0);
        var screen = local.StartRun(new RunInfo(rig.RigId, "h", 1, "BL14", "screen", T0));
        local.RecordResult(new ResultRecord(screen, d2, 2, "dfu-readback", Verdict.Fail, T0, T0.AddSeconds(5), FailureMode: "bad-external-flash", Signature: "erase failure in 1 sector(s)"));
        var soak = local.StartRun(new RunInfo(rig.RigId, "h", 1, "BL14", "soak", T0));
        local.RecordResult(new ResultRecord(soak, d1, 1, "ota", Verdict.Fail, T0, T0.AddSeconds(5), Cycle: 1, FailureMode: "ota-timeout"));
        var sync = new FleetSync(local, rig.ConnectionString, rig.RigId);
        sync.Sync();
        var central = Central.Queries();
        Assert.That(central.Lot(lot)!.Breakdown.FailureModes.Select(m => (m.Name, m.Failures)), Is.EqualTo(new[] { ("bad-external-flash", 1) }),
            "d1 has no unit yet: its soak failure is not the lot's");
        Assert.That(central.Modes().Single(m => m.Lot == lot).FailureModes.Select(m => (m.Name, m.Failures, m.Devices)),
            Is.EqualTo(new[] { ("bad-external-flash", 1, 1), ("ota-timeout", 1, 1) }), "the modes page counts every DUT failure, d1's soak failure too");
        AssertModesEqualDirectCount(Central);

        local.RecordResult(new ResultRecord(screen, d1, 1, "dfu-readback", Verdict.Pass, T0.AddHours(1), T0.AddHours(1).AddSeconds(5)));
        sync.Sync();

        AssertRollupsEqualDirectCounts();
        var page = central.Lot(lot)!;
        Assert.That(page.Breakdown.FailureModes.Select(m => (m.Name, m.Failures, m.Devices)), Is.EqualTo(new[] { ("bad-external-flash", 1, 1), ("ota-timeout", 1, 1) }));
        Assert.That(page.Signatures.Kinds.Select(k => (k.Name, k.Failures)), Is.EqualTo(new[] { (DefectKinds.EraseFailure, 1), (DefectKinds.Other, 1) }));
        AssertModesEqualDirectCount(Central);
    }

    /// <summary>The modes page on a fleet (its failure rollups) equals every failed result grouped by lot, mode and signature.</summary>
    private static void AssertModesEqualDirectCount(TestStore central)
    {
        var failures = central.Rows(
            """
            SELECT r.device_id, COALESCE(u.lot, d.lot, '(unknown)'), r.failure_mode, r.signature
            FROM results r LEFT JOIN units u ON u.device_id = r.device_id LEFT JOIN devices d ON d.device_id = r.device_id WHERE r.verdict = 'fail'
            """).Select(r => new ResultRow((string)r[0]!, (string)r[1]!, 0, "", 1, Verdict.Fail, (string?)r[2], (string?)r[3], null, null, default));
        static string Json(object? o) => System.Text.Json.JsonSerializer.Serialize(o);
        Assert.That(Json(central.Queries().Modes()), Is.EqualTo(Json(Breakdown.FailureModesByLot(failures))), "modes page");
    }

    [Test]
    public void Two_rigs_registering_one_device_at_once_count_its_results_under_its_lot_once()
    {
        // Rigs screening the same new Core race to register it: one waits for the other, and only the one that
        // registered it moves what was counted before the device was known.
        var a = AddRig("a");
        var b = AddRig("b");
        // Other tests share this database: own names, and the unknown lot's count compared with itself before.
        var device = Unique("d1");
        var lot = Unique("L1");
        const string Unknown = "SELECT COALESCE(SUM(results), 0) FROM rollup_lot_day WHERE lot = '(unknown)'";
        var unknownBefore = Central.Scalar(Unknown);
        var localA = ResultsStore.Open(StorePath("a"));
        var runA = localA.StartRun(new RunInfo(a.RigId, "h", 1, "BL14", "screen", T0));
        localA.RecordResult(new ResultRecord(runA, device, 1, "dfu-readback", Verdict.Fail, T0, T0.AddSeconds(5)));
        new FleetSync(localA, a.ConnectionString, a.RigId).Sync();
        Assert.That(Central.Scalar(Unknown), Is.EqualTo(unknownBefore + 1), "counted before its lot is known");
        localA.UpsertDevice(device, lot, T0);

        var localB = ResultsStore.Open(StorePath("b"));
        localB.UpsertDevice(device, lot, T0);
        var runB = localB.StartRun(new RunInfo(b.RigId, "h", 1, "BL14", "screen", T0));
        localB.RecordResult(new ResultRecord(runB, device, 2, "dfu-readback", Verdict.Pass, T0.AddHours(1), T0.AddHours(1).AddSeconds(5)));

        Task? second = null;
        var first = new FleetSync(localA, a.ConnectionString, a.RigId)
        {
            BeforeCommit = _ =>
            {
                if (second is not null)
                    return;
                second = Task.Run(() => new FleetSync(localB, b.ConnectionString, b.RigId).Sync());
                // Commit only once the second rig's sync waits on this one's transaction.
                var waiting = false;
                for (var i = 0; i < 200 && !waiting && !second.IsCompleted; i++)
                {
                    Thread.Sleep(50);
                    waiting = Central.Scalar($"SELECT COUNT(*) FROM pg_stat_activity WHERE usename = '{b.Role}' AND wait_event_type = 'Lock'") > 0;
                }
                Assert.That(waiting, Is.True, "the second rig's sync waits for the first");
            },
        };
        first.Sync();
        Assert.That(second, Is.Not.Null);
        Assert.That(second!.Wait(TimeSpan.FromSeconds(60)), Is.True, "the second sync finished");

        AssertRollupsEqualDirectCounts();
        Assert.That(Central.Scalar(Unknown), Is.EqualTo(unknownBefore));
        Assert.That(Central.Scalar($"SELECT SUM(results) FROM rollup_lot_day WHERE lot = '{lot}'"), Is.EqualTo(2));
    }

    [Test]
    public void A_fleet_left_at_step_10_upgrades_to_11_keeping_each_devices_first_attempt_and_its_yields_and_syncs_on()
    {
        var fleet = TestStore.Postgres(TestPostgres.NewDatabase("step10"));
        FleetSchema.Init(fleet.Location, upTo: 10);
        // What a step-10 fleet holds for a rig's screening: device a failed its first attempt and passed the retest,
        // b passed, c failed; the unit summaries and unit_first as step 4's recount (and the step-10 ingest) keep them.
        var lot = Unique("LOT");
        fleet.Execute(
            "INSERT INTO runs (id, rig_id, config_hash, seed, bootloader, kind, started_at, ended_at, status) VALUES ('00000000-0000-7000-8000-000000000001', 'old-rig', 'h', 1, 'BL14', 'screen', '2026-03-14T08:00:00.0000000Z', NULL, 'passed')",
            $"INSERT INTO devices (device_id, lot, first_seen) VALUES ('a', '{lot}', '2026-03-14T08:00:00.0000000Z'), ('b', '{lot}', '2026-03-14T08:00:00.0000000Z'), ('c', '{lot}', '2026-03-14T08:00:00.0000000Z')",
            """
            INSERT INTO results (id, run_id, device_id, slot, test, cycle, attempt, verdict, started_at, ended_at) VALUES
                ('00000001-0000-7000-8000-000000000001', '00000000-0000-7000-8000-000000000001', 'a', 1, 'dfu-readback', NULL, 1, 'fail', '2026-03-14T08:01:00.0000000Z', '2026-03-14T08:02:00.0000000Z'),
                ('00000001-0000-7000-8000-000000000002', '00000000-0000-7000-8000-000000000001', 'a', 1, 'dfu-readback', NULL, 2, 'pass', '2026-03-14T08:03:00.0000000Z', '2026-03-14T08:04:00.0000000Z'),
                ('00000001-0000-7000-8000-000000000003', '00000000-0000-7000-8000-000000000001', 'b', 2, 'dfu-readback', NULL, 1, 'pass', '2026-03-14T08:01:00.0000000Z', '2026-03-14T08:02:00.0000000Z'),
                ('00000001-0000-7000-8000-000000000004', '00000000-0000-7000-8000-000000000001', 'c', 3, 'dfu-readback', NULL, 1, 'fail', '2026-03-14T08:01:00.0000000Z', '2026-03-14T08:02:00.0000000Z')
            """);
        fleet.Execute([.. Summaries.Rebuild, .. FleetSchema.RecountYieldsIntoUnitFirst]);
        const string Yields = "SELECT lot, devices, first_passed, final_passed FROM lot_counts WHERE devices <> 0 ORDER BY 1";
        Assert.That(fleet.Rows(Yields).Select(Text), Is.EqualTo(new[] { $"{lot}|3|1|2" }), "a's retest passed: first-pass 1 of 3, final 2 of 3");

        FleetSchema.Init(fleet.Location);

        Assert.That(fleet.Scalar("SELECT MAX(version) FROM fleet_schema_version"), Is.EqualTo(FleetSchema.Latest));
        Assert.That(fleet.Scalar("SELECT COUNT(*) FROM pg_class WHERE relname = 'unit_first'"), Is.Zero, "folded into unit_tests");
        Assert.That(fleet.Rows("SELECT device_id, first_attempt, first_verdict, attempt, verdict FROM unit_tests ORDER BY 1").Select(Text),
            Is.EqualTo(new[] { "a|1|fail|2|pass", "b|1|pass|1|pass", "c|1|fail|1|fail" }), "first and last attempt per device and test");
        Assert.That(fleet.Rows(Yields).Select(Text), Is.EqualTo(new[] { $"{lot}|3|1|2" }), "yields as before the upgrade");

        // The upgraded fleet ingests on: a rig's sync, and the yields of every lot by the statistics' rule over every row.
        var rig = FleetSchema.AddRig(fleet.Location, RigId("after"));
        var local = RigStore(rig.RigId, 120, seed: 11);
        new FleetSync(local, rig.ConnectionString, rig.RigId) { BatchSize = 100 }.Sync();
        Assert.That(fleet.Rows(Yields).Select(Text), Is.EqualTo(fleet.Rows(DirectYields).Select(Text)));
        Assert.That(fleet.Rows(Yields).Select(Text), Does.Contain($"{lot}|3|1|2"));
    }

    [Test]
    public void A_fleet_left_at_step_11_upgrades_to_12_with_one_device_index_and_a_later_sync_matches_a_direct_count()
    {
        var fleet = TestStore.Postgres(TestPostgres.NewDatabase("step11"));
        FleetSchema.Init(fleet.Location, upTo: 11);
        // What a step-11 fleet holds of an old rig: device a failed its screening (its retest comes with the sync below), b
        // passed, c passed and soaked two cycles, one failed; every summary and rollup counted as a bulk load counts them.
        var lot = Unique("LOT");
        var a = Unique("a");
        fleet.Execute(
            "INSERT INTO runs (id, rig_id, config_hash, seed, bootloader, kind, started_at, ended_at, status) VALUES ('00000000-0000-7000-8000-000000000011', 'old-rig', 'h', 1, 'BL14', 'screen', '2026-03-14T08:00:00.0000000Z', NULL, 'passed')",
            $"INSERT INTO devices (device_id, lot, first_seen) VALUES ('{a}', '{lot}', '2026-03-14T08:00:00.0000000Z'), ('b', '{lot}', '2026-03-14T08:00:00.0000000Z'), ('c', '{lot}', '2026-03-14T08:00:00.0000000Z')",
            $"""
            INSERT INTO results (id, run_id, device_id, slot, test, cycle, attempt, verdict, failure_mode, signature, started_at, ended_at) VALUES
                ('00000001-0000-7000-8000-000000000011', '00000000-0000-7000-8000-000000000011', '{a}', 1, 'dfu-readback', NULL, 1, 'fail', 'bad-external-flash', 'erase failure', '2026-03-14T08:01:00.0000000Z', '2026-03-14T08:02:00.0000000Z'),
                ('00000001-0000-7000-8000-000000000012', '00000000-0000-7000-8000-000000000011', 'b', 2, 'dfu-readback', NULL, 1, 'pass', NULL, NULL, '2026-03-14T08:01:00.0000000Z', '2026-03-14T08:02:00.0000000Z'),
                ('00000001-0000-7000-8000-000000000013', '00000000-0000-7000-8000-000000000011', 'c', 3, 'dfu-readback', NULL, 1, 'pass', NULL, NULL, '2026-03-14T08:01:00.0000000Z', '2026-03-14T08:02:00.0000000Z'),
                ('00000001-0000-7000-8000-000000000014', '00000000-0000-7000-8000-000000000011', 'c', 3, 'soak', 1, 1, 'pass', NULL, NULL, '2026-03-14T08:03:00.0000000Z', '2026-03-14T08:04:00.0000000Z'),
                ('00000001-0000-7000-8000-000000000015', '00000000-0000-7000-8000-000000000011', 'c', 3, 'soak', 2, 1, 'fail', 'ota-timeout', NULL, '2026-03-14T08:05:00.0000000Z', '2026-03-14T08:06:00.0000000Z')
            """);
        fleet.Execute([.. Summaries.Rebuild, .. FleetSchema.CountResultRollups, .. FleetSchema.RecountYields, .. FleetSchema.RecountLotFailures,
            .. FleetSchema.CountLotFailureRollups, .. FleetSchema.CountSlotDevices]);
        AssertRollupsEqualDirectCounts(fleet);

        FleetSchema.Init(fleet.Location);

        Assert.That(fleet.Scalar("SELECT MAX(version) FROM fleet_schema_version"), Is.EqualTo(FleetSchema.Latest));
        Assert.That(fleet.Rows("SELECT indexname FROM pg_indexes WHERE tablename = 'results' AND indexname LIKE 'ix_results_device%' ORDER BY 1").Select(Text),
            Is.EqualTo(new[] { "ix_results_device_screening" }), "one index by device where two were");
        Assert.That(fleet.Rows($"SELECT device_id, first_verdict, verdict FROM unit_tests WHERE device_id = '{a}'").Select(Text), Is.EqualTo(new[] { $"{a}|fail|fail" }));

        // The upgraded fleet ingests on: a rig's generated history (screening, retests, soak) and a passing retest of a,
        // which moves a's last attempt and its unit (the rows a step-11 fleet knew are updated, the rest inserted).
        var rig = FleetSchema.AddRig(fleet.Location, RigId("after12"));
        var local = RigStore(rig.RigId, 120, seed: 13);
        var run = local.StartRun(new RunInfo(rig.RigId, "h", 1, "BL14", "screen", T0.AddHours(1)));
        local.RecordResult(new ResultRecord(run, a, 4, "dfu-readback", Verdict.Pass, T0.AddHours(1), T0.AddHours(1).AddSeconds(5)));
        new FleetSync(local, rig.ConnectionString, rig.RigId) { BatchSize = 100 }.Sync();

        Assert.That(fleet.Rows($"SELECT device_id, first_verdict, verdict FROM unit_tests WHERE device_id = '{a}'").Select(Text), Is.EqualTo(new[] { $"{a}|fail|pass" }));
        Assert.That(fleet.Rows($"SELECT device_id, failed, first_passed, final_passed FROM units WHERE device_id = '{a}'").Select(Text), Is.EqualTo(new[] { $"{a}|0|0|1" }));
        AssertRollupsEqualDirectCounts(fleet);
        Assert.That(fleet.Rows($"SELECT lot, devices, first_passed, final_passed FROM lot_counts WHERE lot = '{lot}'").Select(Text), Is.EqualTo(new[] { $"{lot}|3|2|3" }));
    }

    [Test]
    public void A_fleet_left_at_step_12_upgrades_to_13_with_each_units_hours_and_a_later_sync_matches_a_direct_count()
    {
        var fleet = TestStore.Postgres(TestPostgres.NewDatabase("step12"));
        FleetSchema.Init(fleet.Location, upTo: 12);
        // What a step-12 fleet holds of an old rig: a screened over two hours (its retest a day later comes with the sync
        // below), b within one hour, c screened and soaked with a failed cycle; every summary counted as a bulk load does.
        var lot = Unique("LOT");
        var a = Unique("a");
        fleet.Execute(
            "INSERT INTO runs (id, rig_id, config_hash, seed, bootloader, kind, started_at, ended_at, status) VALUES ('00000000-0000-7000-8000-000000000021', 'old-rig', 'h', 1, 'BL14', 'screen', '2026-03-14T08:00:00.0000000Z', NULL, 'passed')",
            $"INSERT INTO devices (device_id, lot, first_seen) VALUES ('{a}', '{lot}', '2026-03-14T08:00:00.0000000Z'), ('b', '{lot}', '2026-03-14T08:00:00.0000000Z'), ('c', '{lot}', '2026-03-14T08:00:00.0000000Z')",
            $"""
            INSERT INTO results (id, run_id, device_id, slot, test, cycle, attempt, verdict, failure_mode, signature, started_at, ended_at) VALUES
                ('00000001-0000-7000-8000-000000000021', '00000000-0000-7000-8000-000000000021', '{a}', 1, 'dfu-readback', NULL, 1, 'fail', 'bad-external-flash', 'erase failure', '2026-03-14T08:58:00.0000000Z', '2026-03-14T08:59:00.0000000Z'),
                ('00000001-0000-7000-8000-000000000022', '00000000-0000-7000-8000-000000000021', '{a}', 1, 'ota', NULL, 1, 'pass', NULL, NULL, '2026-03-14T09:01:00.0000000Z', '2026-03-14T09:02:00.0000000Z'),
                ('00000001-0000-7000-8000-000000000023', '00000000-0000-7000-8000-000000000021', 'b', 2, 'dfu-readback', NULL, 1, 'pass', NULL, NULL, '2026-03-14T08:01:00.0000000Z', '2026-03-14T08:02:00.0000000Z'),
                ('00000001-0000-7000-8000-000000000024', '00000000-0000-7000-8000-000000000021', 'c', 3, 'dfu-readback', NULL, 1, 'pass', NULL, NULL, '2026-03-14T08:01:00.0000000Z', '2026-03-14T08:02:00.0000000Z'),
                ('00000001-0000-7000-8000-000000000025', '00000000-0000-7000-8000-000000000021', 'c', 3, 'soak', 1, 1, 'fail', 'ota-timeout', NULL, '2026-03-14T10:05:00.0000000Z', '2026-03-14T10:06:00.0000000Z')
            """);
        fleet.Execute([.. Summaries.Rebuild, .. FleetSchema.CountResultRollups, .. FleetSchema.RecountYields, .. FleetSchema.RecountLotFailures,
            .. FleetSchema.CountLotFailureRollups, .. FleetSchema.CountSlotDevices]);
        AssertRollupsEqualDirectCounts(fleet);

        FleetSchema.Init(fleet.Location);

        Assert.That(fleet.Scalar("SELECT MAX(version) FROM fleet_schema_version"), Is.EqualTo(FleetSchema.Latest));
        Assert.That(fleet.Rows($"SELECT device_id, first_hour, last_hour FROM units WHERE device_id IN ('{a}', 'b') ORDER BY 1").Select(Text),
            Is.EqualTo(new[] { $"{a}|2026-03-14T08|2026-03-14T09", "b|2026-03-14T08|2026-03-14T08" }));
        AssertRollupsEqualDirectCounts(fleet);

        // The upgraded fleet ingests on: a rig's generated history and a's passing retest a day later, which moves its span
        // and its unit out of one rollup row into another.
        var rig = FleetSchema.AddRig(fleet.Location, RigId("after13"));
        var local = RigStore(rig.RigId, 120, seed: 17);
        var run = local.StartRun(new RunInfo(rig.RigId, "h", 1, "BL14", "screen", T0.AddDays(1)));
        local.RecordResult(new ResultRecord(run, a, 4, "dfu-readback", Verdict.Pass, T0.AddDays(1), T0.AddDays(1).AddSeconds(5), Attempt: 2));
        new FleetSync(local, rig.ConnectionString, rig.RigId) { BatchSize = 100 }.Sync();

        Assert.That(fleet.Rows($"SELECT device_id, failed, first_hour, last_hour FROM units WHERE device_id = '{a}'").Select(Text),
            Is.EqualTo(new[] { $"{a}|0|2026-03-14T08|2026-03-15T08" }));
        AssertRollupsEqualDirectCounts(fleet);
        // over the old rig's morning, a's retest is outside: its failed first attempt decides
        var morning = new ResultFilter(T0, T0.AddHours(3), null, null);
        Assert.That(fleet.Queries().LotCounts(morning).Single(g => g.Name == lot), Is.EqualTo(new GroupCount(lot, 1, 3)));
    }

    [Test]
    public void Lots_and_a_lots_page_over_dates_on_the_fleet_equal_the_rigs_own_store_and_a_direct_count()
    {
        // a fleet of this rig alone, so its own store holds every central row
        var fleet = TestStore.Postgres(TestPostgres.NewDatabase("ranges"));
        FleetSchema.Init(fleet.Location);
        var rig = FleetSchema.AddRig(fleet.Location, RigId("ranges"));
        var local = RigStore(rig.RigId, 300, seed: 21);
        // Units around hour bounds, beside the generated history: screened across 09:00 (failed, then passed), within one
        // hour, retested a day later, a rig fault alone, a failure in a part hour, soaked with a failed cycle in the range.
        var lot = Unique("HOURS");
        var prefix = Unique("u").ToLowerInvariant() + "-";
        local.ImportDevices([.. new[] { "h1", "h2", "h3", "h4", "h5", "h6" }.Select(d => new HilRig.Core.Inventory.DeviceLot(prefix + d, lot, null, null))], T0);
        var run = local.StartRun(new RunInfo(rig.RigId, "h", 1, "BL14", "screen", T0));
        void Record(string device, string test, Verdict verdict, double hours, int attempt = 1, int? cycle = null, string? mode = null) =>
            local.RecordResult(new ResultRecord(run, prefix + device, 5, test, verdict, T0.AddHours(hours), T0.AddHours(hours).AddSeconds(20),
                FailureMode: mode ?? (verdict == Verdict.Fail ? "stuck-bits" : null), Attempt: attempt, Cycle: cycle));
        Record("h1", "dfu-readback", Verdict.Fail, 0.95);
        Record("h1", "dfu-readback", Verdict.Pass, 1.05, attempt: 2);
        Record("h2", "dfu-readback", Verdict.Pass, 1.5);
        Record("h2", "ota", Verdict.Fail, 1.52);
        Record("h3", "dfu-readback", Verdict.Fail, 1.7);
        Record("h3", "dfu-readback", Verdict.Pass, 25.7, attempt: 2);
        Record("h4", "dfu-readback", Verdict.RigFault, 2.3, mode: "usb-transport");
        Record("h5", "dfu-readback", Verdict.Fail, 2.75);
        Record("h6", "dfu-readback", Verdict.Pass, 0.2);
        Record("h6", "ota", Verdict.Fail, 1.6, cycle: 1, mode: "ota-timeout");
        local.FinishRun(run, RunStatus.Failed, T0.AddDays(2));
        new FleetSync(local, rig.ConnectionString, rig.RigId) { BatchSize = 250 }.Sync();
        AssertRollupsEqualDirectCounts(fleet);

        var central = fleet.Queries();
        var own = ResultsQueries.OpenSqlite(StorePath(rig.RigId));
        var day = T0.Date;
        var filters = new[]
        {
            new ResultFilter(T0.AddHours(1), T0.AddHours(2), null, null),           // one whole hour
            new ResultFilter(T0, T0.AddHours(3), null, null),                       // a shift of whole hours
            new ResultFilter(T0.AddHours(0.5), T0.AddHours(2.8), null, null),       // part hours at both ends
            new ResultFilter(T0.AddHours(1.25), T0.AddHours(1.75), null, null),     // no whole hour inside
            new ResultFilter(T0.AddHours(1.51), T0.AddHours(2.5), null, null),      // from inside h2's attempts (1.5, 1.52)
            new ResultFilter(T0.AddHours(0.5), T0.AddHours(1.51), null, null),      // to inside h2's attempts
            new ResultFilter(T0.AddHours(0.9), T0.AddHours(1.2), null, null),       // no whole hour, parts of two hours
            new ResultFilter(T0.AddHours(1.51), T0.AddHours(2.8), rig.RigId, null), // a rig, from inside h2's attempts
            new ResultFilter(T0.AddHours(1), null, null, null),                     // from only
            new ResultFilter(null, T0.AddHours(2), null, null),                     // to only
            new ResultFilter(new DateTimeOffset(day, TimeSpan.Zero), new DateTimeOffset(day.AddDays(1), TimeSpan.Zero), null, null), // one day
            new ResultFilter(new DateTimeOffset(day, TimeSpan.Zero), new DateTimeOffset(day.AddDays(7), TimeSpan.Zero), null, null), // a week
            new ResultFilter(T0, T0.AddHours(3), rig.RigId, null),                  // a rig over a shift
            new ResultFilter(T0.AddHours(0.95), T0.AddHours(2.75), null, null),     // from h1's failure to h5's (left out: the end is exclusive)
        };
        static string Json(object? o) => System.Text.Json.JsonSerializer.Serialize(o);
        foreach (var filter in filters)
        {
            var what = $"{filter.From:O} .. {filter.ToExclusive:O} rig {filter.Rig}";
            var counts = central.LotCounts(filter);
            Assert.That(counts.Select(g => (g.Name, g.Units, g.Failed)), Is.EqualTo(DirectLotCounts(fleet, filter)), what);
            Assert.That(Json(central.Lots(filter)), Is.EqualTo(Json(own.Lots(filter))), what);
            foreach (var name in counts.Select(g => g.Name))
                Assert.That(Json(central.Lot(name, filter, devicesShown: 20)), Is.EqualTo(Json(own.Lot(name, filter, devicesShown: 20))), $"{what}: lot {name}");
            // a mode's page: its failures per lot from what the fleet keeps of them, its rig faults and newest attempts from the results
            foreach (var mode in new[] { "stuck-bits", "usb-transport", "ota-timeout", "no-such-mode" })
                Assert.That(Json(central.FailureMode(mode, filter, latest: 4)), Is.EqualTo(Json(own.FailureMode(mode, filter, latest: 4))), $"{what}: mode {mode}");
        }
        foreach (var mode in new[] { "stuck-bits", "usb-transport", "ota-timeout" })
            Assert.That(Json(central.FailureMode(mode, ResultFilter.None)), Is.EqualTo(Json(own.FailureMode(mode, ResultFilter.None))), $"mode {mode}, no filter");
        Assert.That(central.FailureMode("stuck-bits", filters[1]).ByLot.Single(c => c.Name == lot), Is.EqualTo(new CategoryCount(lot, 4, 4)),
            "h1, h3 and h5 failed the readback and h2 its ota with stuck-bits in the shift (h6 failed a soak cycle with ota-timeout)");
        var shift = central.Lot(lot, filters[1])!;
        Assert.That((shift.Rate.Units, shift.Rate.Failed, shift.DevicesInLot), Is.EqualTo((5, 3, 6)),
            "judged: h1 (passed its retest), h2 (failed ota), h3 (failed; its passing retest is a day later), h5 (failed), h6 (passed; a soak failure is no verdict); h4 had a rig fault only");
        Assert.That(shift.Breakdown.FailureModes.Sum(m => m.Failures), Is.EqualTo(5), "h1, h2, h3, h5 and h6's soak cycle failed in the shift");
        // a range holding every failure of the lot counts them as the unfiltered page does; one holding part, only that part
        var whole = central.Lot(lot)!;
        Assert.That(Json(shift.Breakdown), Is.EqualTo(Json(whole.Breakdown)), "the shift holds all of the lot's failures");
        Assert.That(Json(shift.Signatures), Is.EqualTo(Json(whole.Signatures)), "the shift holds all of the lot's failures");
        var part = central.Lot(lot, filters[^1])!;
        Assert.That(part.Breakdown.FailureModes.Sum(m => m.Failures), Is.EqualTo(4), "h1 (at the range's start), h2, h3 and h6's soak cycle; h5's at its exclusive end is left out");
    }

    [Test]
    public void A_fleet_left_at_step_13_upgrades_to_14_with_each_units_rig_and_line_and_a_later_sync_matches_a_direct_count()
    {
        var fleet = TestStore.Postgres(TestPostgres.NewDatabase("step13"));
        FleetSchema.Init(fleet.Location, upTo: 13);
        // What a step-13 fleet holds: a screened on two rigs of two lines, b on one rig, c on one rig whose runs moved line,
        // d screened and soaked on another rig; every summary counted as a bulk load does.
        var lot = Unique("LOT");
        var a = Unique("a");
        var c = Unique("c");
        fleet.Execute(
            """
            INSERT INTO runs (id, rig_id, config_hash, seed, bootloader, kind, started_at, ended_at, status, line) VALUES
                ('00000000-0000-7000-8000-000000000031', 'old-rig', 'h', 1, 'BL14', 'screen', '2026-03-14T08:00:00.0000000Z', NULL, 'passed', 'line-1'),
                ('00000000-0000-7000-8000-000000000032', 'old-rig', 'h', 1, 'BL14', 'screen', '2026-03-14T09:00:00.0000000Z', NULL, 'passed', 'line-2'),
                ('00000000-0000-7000-8000-000000000033', 'other-rig', 'h', 1, 'BL14', 'screen', '2026-03-14T08:00:00.0000000Z', NULL, 'passed', NULL)
            """,
            $"INSERT INTO devices (device_id, lot, first_seen) VALUES ('{a}', '{lot}', '2026-03-14T08:00:00.0000000Z'), ('b', '{lot}', '2026-03-14T08:00:00.0000000Z'), ('{c}', '{lot}', '2026-03-14T08:00:00.0000000Z'), ('d', '{lot}', '2026-03-14T08:00:00.0000000Z')",
            $"""
            INSERT INTO results (id, run_id, device_id, slot, test, cycle, attempt, verdict, failure_mode, signature, started_at, ended_at) VALUES
                ('00000001-0000-7000-8000-000000000031', '00000000-0000-7000-8000-000000000031', '{a}', 1, 'dfu-readback', NULL, 1, 'fail', 'bad-external-flash', 'erase failure', '2026-03-14T08:10:00.0000000Z', '2026-03-14T08:11:00.0000000Z'),
                ('00000001-0000-7000-8000-000000000032', '00000000-0000-7000-8000-000000000033', '{a}', 2, 'dfu-readback', NULL, 2, 'pass', NULL, NULL, '2026-03-14T08:30:00.0000000Z', '2026-03-14T08:31:00.0000000Z'),
                ('00000001-0000-7000-8000-000000000033', '00000000-0000-7000-8000-000000000031', 'b', 2, 'dfu-readback', NULL, 1, 'pass', NULL, NULL, '2026-03-14T08:01:00.0000000Z', '2026-03-14T08:02:00.0000000Z'),
                ('00000001-0000-7000-8000-000000000034', '00000000-0000-7000-8000-000000000031', '{c}', 3, 'dfu-readback', NULL, 1, 'fail', 'stuck-bits', NULL, '2026-03-14T08:40:00.0000000Z', '2026-03-14T08:41:00.0000000Z'),
                ('00000001-0000-7000-8000-000000000035', '00000000-0000-7000-8000-000000000032', '{c}', 3, 'dfu-readback', NULL, 2, 'pass', NULL, NULL, '2026-03-14T09:05:00.0000000Z', '2026-03-14T09:06:00.0000000Z'),
                ('00000001-0000-7000-8000-000000000036', '00000000-0000-7000-8000-000000000033', 'd', 4, 'dfu-readback', NULL, 1, 'pass', NULL, NULL, '2026-03-14T08:01:00.0000000Z', '2026-03-14T08:02:00.0000000Z'),
                ('00000001-0000-7000-8000-000000000037', '00000000-0000-7000-8000-000000000033', 'd', 4, 'soak', 1, 1, 'fail', 'ota-timeout', NULL, '2026-03-14T10:05:00.0000000Z', '2026-03-14T10:06:00.0000000Z')
            """);
        fleet.Execute([.. Summaries.Rebuild, .. FleetSchema.CountResultRollups, .. FleetSchema.RecountYields, .. FleetSchema.RecountLotFailures,
            .. FleetSchema.CountLotFailureRollups, .. FleetSchema.CountSlotDevices, .. FleetSchema.CountLotHours]);
        AssertRollupsEqualDirectCounts(fleet);

        FleetSchema.Init(fleet.Location);

        Assert.That(fleet.Scalar("SELECT MAX(version) FROM fleet_schema_version"), Is.EqualTo(FleetSchema.Latest));
        Assert.That(fleet.Rows($"SELECT device_id, rig_id, line FROM units WHERE device_id IN ('{a}', 'b', '{c}', 'd') ORDER BY rig_id COLLATE \"C\", line COLLATE \"C\", device_id COLLATE \"C\"").Select(Text),
            Is.EqualTo(new[] { $"{a}| | ", $"{c}|old-rig| ", "b|old-rig|line-1", "d|other-rig|" }), "several rigs, several lines, one of each, no line");
        AssertRollupsEqualDirectCounts(fleet);

        // The upgraded fleet ingests on: a new rig's history, and b retested there, which moves b to several rigs.
        var rig = FleetSchema.AddRig(fleet.Location, RigId("after14"));
        var local = RigStore(rig.RigId, 120, seed: 19);
        var run = local.StartRun(new RunInfo(rig.RigId, "h", 1, "BL14", "screen", T0.AddHours(2)));
        local.RecordResult(new ResultRecord(run, "b", 4, "ota", Verdict.Fail, T0.AddHours(2), T0.AddHours(2).AddSeconds(5), FailureMode: "ota-timeout"));
        new FleetSync(local, rig.ConnectionString, rig.RigId, line: "line-1") { BatchSize = 100 }.Sync();

        Assert.That(fleet.Rows("SELECT device_id, failed, rig_id, line FROM units WHERE device_id = 'b'").Select(Text), Is.EqualTo(new[] { "b|1| |line-1" }));
        AssertRollupsEqualDirectCounts(fleet);

        // The rig moves to line-2 mid-run: one batch holds results of a line-1 run (b again, and e) and a line-2 run (e, f),
        // so the batch's devices get their lines one by one.
        local.RecordResult(new ResultRecord(run, "b", 4, "ota", Verdict.Pass, T0.AddHours(2.1), T0.AddHours(2.1).AddSeconds(5), Attempt: 2));
        local.RecordResult(new ResultRecord(run, "e", 5, "dfu-readback", Verdict.Pass, T0.AddHours(2.1), T0.AddHours(2.1).AddSeconds(5)));
        var moved = local.StartRun(new RunInfo(rig.RigId, "h", 1, "BL14", "screen", T0.AddHours(2.2)));
        local.RecordResult(new ResultRecord(moved, "e", 5, "ota", Verdict.Fail, T0.AddHours(2.2), T0.AddHours(2.2).AddSeconds(5), FailureMode: "ota-timeout"));
        local.RecordResult(new ResultRecord(moved, "f", 6, "dfu-readback", Verdict.Pass, T0.AddHours(2.2), T0.AddHours(2.2).AddSeconds(5)));
        new FleetSync(local, rig.ConnectionString, rig.RigId, line: "line-2") { BatchSize = 100 }.Sync();
        Assert.That(fleet.Rows("SELECT device_id, rig_id, line FROM units WHERE device_id IN ('b', 'e', 'f') ORDER BY 1").Select(Text),
            Is.EqualTo(new[] { "b| |line-1", $"e|{rig.RigId}| ", $"f|{rig.RigId}|line-2" }));
        AssertRollupsEqualDirectCounts(fleet);
        foreach (var filter in new[] { new ResultFilter(null, null, "old-rig", null), new ResultFilter(null, null, rig.RigId, null), new ResultFilter(null, null, null, "line-1"),
                                       new ResultFilter(T0, T0.AddHours(1.5), "old-rig", null), new ResultFilter(T0.AddHours(0.25), T0.AddHours(3), null, "line-1"), new ResultFilter(null, null, null, "line-2") })
            Assert.That(fleet.Queries().LotCounts(filter).Select(g => (g.Name, g.Units, g.Failed)), Is.EqualTo(DirectLotCounts(fleet, filter)), $"{filter.Describe()}");
        // rigs whose runs moved line: the rigs page counts each line's results from the results, not from its rigs'
        foreach (var filter in new[] { new ResultFilter(T0, T0.AddHours(3), null, null), new ResultFilter(T0.AddHours(0.25), T0.AddHours(2.15), null, null) })
            AssertRigsPageEqualsDirectCount(fleet, filter);
    }

    [Test]
    public void A_fleet_left_at_step_14_upgrades_to_15_with_each_units_first_and_last_attempt_and_a_later_sync_matches_a_direct_count()
    {
        var fleet = TestStore.Postgres(TestPostgres.NewDatabase("step14"));
        FleetSchema.Init(fleet.Location, upTo: 14);
        // What a step-14 fleet holds: a failed then passed within one hour (08:10, 08:30), b within one hour (08:01),
        // c across 09:00 (08:40 failed, 09:05 passed), d screened at 08:01 and soaked with a failed cycle at 10:05.
        var lot = Unique("LOT");
        var a = Unique("a");
        fleet.Execute(
            "INSERT INTO runs (id, rig_id, config_hash, seed, bootloader, kind, started_at, ended_at, status, line) VALUES ('00000000-0000-7000-8000-000000000041', 'old-rig', 'h', 1, 'BL14', 'screen', '2026-03-14T08:00:00.0000000Z', NULL, 'passed', 'line-1')",
            $"INSERT INTO devices (device_id, lot, first_seen) VALUES ('{a}', '{lot}', '2026-03-14T08:00:00.0000000Z'), ('b', '{lot}', '2026-03-14T08:00:00.0000000Z'), ('c', '{lot}', '2026-03-14T08:00:00.0000000Z'), ('d', '{lot}', '2026-03-14T08:00:00.0000000Z')",
            $"""
            INSERT INTO results (id, run_id, device_id, slot, test, cycle, attempt, verdict, failure_mode, signature, started_at, ended_at) VALUES
                ('00000001-0000-7000-8000-000000000041', '00000000-0000-7000-8000-000000000041', '{a}', 1, 'dfu-readback', NULL, 1, 'fail', 'bad-external-flash', 'erase failure', '2026-03-14T08:10:00.0000000Z', '2026-03-14T08:11:00.0000000Z'),
                ('00000001-0000-7000-8000-000000000042', '00000000-0000-7000-8000-000000000041', '{a}', 1, 'dfu-readback', NULL, 2, 'pass', NULL, NULL, '2026-03-14T08:30:00.0000000Z', '2026-03-14T08:31:00.0000000Z'),
                ('00000001-0000-7000-8000-000000000043', '00000000-0000-7000-8000-000000000041', 'b', 2, 'dfu-readback', NULL, 1, 'pass', NULL, NULL, '2026-03-14T08:01:00.0000000Z', '2026-03-14T08:02:00.0000000Z'),
                ('00000001-0000-7000-8000-000000000044', '00000000-0000-7000-8000-000000000041', 'c', 3, 'dfu-readback', NULL, 1, 'fail', 'stuck-bits', NULL, '2026-03-14T08:40:00.0000000Z', '2026-03-14T08:41:00.0000000Z'),
                ('00000001-0000-7000-8000-000000000045', '00000000-0000-7000-8000-000000000041', 'c', 3, 'dfu-readback', NULL, 2, 'pass', NULL, NULL, '2026-03-14T09:05:00.0000000Z', '2026-03-14T09:06:00.0000000Z'),
                ('00000001-0000-7000-8000-000000000046', '00000000-0000-7000-8000-000000000041', 'd', 4, 'dfu-readback', NULL, 1, 'pass', NULL, NULL, '2026-03-14T08:01:00.0000000Z', '2026-03-14T08:02:00.0000000Z'),
                ('00000001-0000-7000-8000-000000000047', '00000000-0000-7000-8000-000000000041', 'd', 4, 'soak', 1, 1, 'fail', 'ota-timeout', NULL, '2026-03-14T10:05:00.0000000Z', '2026-03-14T10:06:00.0000000Z')
            """);
        fleet.Execute([.. Summaries.Rebuild, .. FleetSchema.CountResultRollups, .. FleetSchema.RecountYields, .. FleetSchema.RecountLotFailures,
            .. FleetSchema.CountLotFailureRollups, .. FleetSchema.CountSlotDevices, .. FleetSchema.CountLotHours, .. FleetSchema.CountUnitRigs]);
        AssertRollupsEqualDirectCounts(fleet);

        FleetSchema.Init(fleet.Location);

        Assert.That(fleet.Scalar("SELECT MAX(version) FROM fleet_schema_version"), Is.EqualTo(FleetSchema.Latest));
        Assert.That(fleet.Rows($"SELECT device_id, first_at, last_at FROM units WHERE device_id IN ('{a}', 'c', 'd') ORDER BY 1").Select(Text),
            Is.EqualTo(new[] { $"{a}|2026-03-14T08:10:00.0000000Z|2026-03-14T08:30:00.0000000Z", "c|2026-03-14T08:40:00.0000000Z|2026-03-14T09:05:00.0000000Z",
                               "d|2026-03-14T08:01:00.0000000Z|2026-03-14T08:01:00.0000000Z" }), "screening attempts only: d's soak cycle is none");
        AssertRollupsEqualDirectCounts(fleet);

        // The upgraded fleet ingests on: a rig's generated history, and b retested at 10:15, which moves its last attempt
        // and its span out of one hour.
        var rig = FleetSchema.AddRig(fleet.Location, RigId("after14"));
        var local = RigStore(rig.RigId, 120, seed: 23);
        var run = local.StartRun(new RunInfo(rig.RigId, "h", 1, "BL14", "screen", T0.AddHours(2.25)));
        local.RecordResult(new ResultRecord(run, "b", 4, "ota", Verdict.Fail, T0.AddHours(2.25), T0.AddHours(2.25).AddSeconds(5), FailureMode: "ota-timeout"));
        new FleetSync(local, rig.ConnectionString, rig.RigId, line: "line-1") { BatchSize = 100 }.Sync();

        Assert.That(fleet.Rows("SELECT device_id, failed, first_at, last_at FROM units WHERE device_id = 'b'").Select(Text),
            Is.EqualTo(new[] { "b|1|2026-03-14T08:01:00.0000000Z|2026-03-14T10:15:00.0000000Z" }));
        AssertRollupsEqualDirectCounts(fleet);
        // bounds off the hour: inside a's attempts (08:20), inside c's (08:50), inside b's (09:30), beside all of them
        foreach (var filter in new[] { new ResultFilter(T0.AddMinutes(20), T0.AddHours(3.5), null, null), new ResultFilter(T0.AddMinutes(5), T0.AddMinutes(50), null, null),
                                       new ResultFilter(T0.AddMinutes(20), T0.AddMinutes(90), null, null), new ResultFilter(T0.AddMinutes(35), null, null, null),
                                       new ResultFilter(null, T0.AddMinutes(20), null, null), new ResultFilter(T0.AddMinutes(2), T0.AddHours(2.5), "old-rig", null),
                                       new ResultFilter(T0.AddMinutes(20), T0.AddHours(2.5), null, "line-1"), new ResultFilter(T0.AddHours(-0.5), T0.AddHours(1.75), null, null) })
        {
            Assert.That(fleet.Queries().LotCounts(filter).Select(g => (g.Name, g.Units, g.Failed)), Is.EqualTo(DirectLotCounts(fleet, filter)), $"{filter.Describe()}");
            var page = fleet.Queries().Lot(lot, filter, devicesShown: 20);
            var direct = DirectLotCounts(fleet, filter).SingleOrDefault(g => g.Item1 == lot);
            Assert.That((page?.Rate.Units ?? 0, page?.Rate.Failed ?? 0), Is.EqualTo((direct.Item2, direct.Item3)), $"{filter.Describe()}: lot page");
        }
        // from 08:20: a's passing retest decides (its failure is before the range), b's ota failure at 10:15 and c's pass
        Assert.That(fleet.Queries().LotCounts(new ResultFilter(T0.AddMinutes(20), T0.AddHours(3), null, null)).Single(g => g.Name == lot), Is.EqualTo(new GroupCount(lot, 1, 3)));
    }

    [Test]
    public void A_fleet_left_at_step_15_upgrades_to_16_with_each_rigs_results_per_minute_and_its_rigs_page_matches_a_direct_count()
    {
        var fleet = TestStore.Postgres(TestPostgres.NewDatabase("step15"));
        FleetSchema.Init(fleet.Location, upTo: 15);
        // What a step-15 fleet holds (its ingest kept no hours): old-rig on line-1, a failed at 08:10 and passed at 08:30, b
        // rig-faulted at 09:05, c passed at 10:40.
        var lot = Unique("LOT");
        fleet.Execute(
            "INSERT INTO fleet_rigs (rig_id, role_name, line, last_sync_at, last_result_at) VALUES ('old-rig', 'old_rig_role', 'line-1', now(), '2026-03-14T10:40:00.0000000Z')",
            "INSERT INTO runs (id, rig_id, config_hash, seed, bootloader, kind, started_at, ended_at, status, line) VALUES ('00000000-0000-7000-8000-000000000051', 'old-rig', 'h', 1, 'BL14', 'screen', '2026-03-14T08:00:00.0000000Z', NULL, 'passed', 'line-1')",
            $"INSERT INTO devices (device_id, lot, first_seen) VALUES ('a', '{lot}', '2026-03-14T08:00:00.0000000Z'), ('b', '{lot}', '2026-03-14T08:00:00.0000000Z'), ('c', '{lot}', '2026-03-14T08:00:00.0000000Z')",
            """
            INSERT INTO results (id, run_id, device_id, slot, test, cycle, attempt, verdict, failure_mode, signature, started_at, ended_at) VALUES
                ('00000001-0000-7000-8000-000000000051', '00000000-0000-7000-8000-000000000051', 'a', 1, 'dfu-readback', NULL, 1, 'fail', 'bad-external-flash', NULL, '2026-03-14T08:10:00.0000000Z', '2026-03-14T08:11:00.0000000Z'),
                ('00000001-0000-7000-8000-000000000052', '00000000-0000-7000-8000-000000000051', 'a', 1, 'dfu-readback', NULL, 2, 'pass', NULL, NULL, '2026-03-14T08:30:00.0000000Z', '2026-03-14T08:31:00.0000000Z'),
                ('00000001-0000-7000-8000-000000000053', '00000000-0000-7000-8000-000000000051', 'b', 2, 'dfu-readback', NULL, 1, 'rig-fault', 'usb-transport', NULL, '2026-03-14T09:05:00.0000000Z', '2026-03-14T09:06:00.0000000Z'),
                ('00000001-0000-7000-8000-000000000054', '00000000-0000-7000-8000-000000000051', 'c', 3, 'dfu-readback', NULL, 1, 'pass', NULL, NULL, '2026-03-14T10:40:00.0000000Z', '2026-03-14T10:41:00.0000000Z')
            """);
        fleet.Execute([.. Summaries.Rebuild, .. FleetSchema.CountResultRollups, .. FleetSchema.RecountYields, .. FleetSchema.RecountLotFailures,
            .. FleetSchema.CountLotFailureRollups, .. FleetSchema.CountSlotDevices, .. FleetSchema.CountLotHours, .. FleetSchema.CountUnitRigs, .. FleetSchema.CountUnitTimes]);

        FleetSchema.Init(fleet.Location);

        Assert.That(fleet.Scalar("SELECT MAX(version) FROM fleet_schema_version"), Is.EqualTo(FleetSchema.Latest));
        Assert.That(fleet.Rows("SELECT minute, rig_id, results, rig_faults, last_result_at FROM rollup_rig_minutes ORDER BY 1").Select(Text),
            Is.EqualTo(new[] { "2026-03-14T08:10|old-rig|1|0|2026-03-14T08:10:00.0000000Z", "2026-03-14T08:30|old-rig|1|0|2026-03-14T08:30:00.0000000Z",
                               "2026-03-14T09:05|old-rig|1|1|2026-03-14T09:05:00.0000000Z", "2026-03-14T10:40|old-rig|1|0|2026-03-14T10:40:00.0000000Z" }));
        AssertRollupsEqualDirectCounts(fleet);
        const string retested = "b";
        // the upgraded fleet ingests on: a rig's generated history on line-2, and b rig-faulted again there at 11:30
        var after = FleetSchema.AddRig(fleet.Location, RigId("after16"));
        var local = RigStore(after.RigId, 120, seed: 31);
        var run = local.StartRun(new RunInfo(after.RigId, "h", 1, "BL14", "screen", T0.AddHours(3.5)));
        local.RecordResult(new ResultRecord(run, retested, 2, "dfu-readback", Verdict.RigFault, T0.AddHours(3.5), T0.AddHours(3.5).AddSeconds(5), FailureMode: "usb-transport"));
        new FleetSync(local, after.ConnectionString, after.RigId, line: "line-2") { BatchSize = 100 }.Sync();
        AssertRollupsEqualDirectCounts(fleet);
        var day = new DateTimeOffset(T0.Date, TimeSpan.Zero);
        foreach (var filter in new[] { ResultFilter.None, new ResultFilter(T0.AddMinutes(20), T0.AddHours(3.75), null, null), new ResultFilter(T0.AddMinutes(5), T0.AddMinutes(50), null, null),
                                       new ResultFilter(null, T0.AddHours(1.5), null, "line-1"), new ResultFilter(T0.AddHours(0.5), null, after.RigId, null),
                                       new ResultFilter(day, day.AddDays(1), null, null), new ResultFilter(null, null, null, "line-2") })
            AssertRigsPageEqualsDirectCount(fleet, filter);
    }

    [Test]
    public void A_rigs_and_a_lines_lots_and_lot_pages_on_a_fleet_of_two_rigs_equal_each_rigs_own_store_and_a_direct_count()
    {
        var fleet = TestStore.Postgres(TestPostgres.NewDatabase("rigranges"));
        FleetSchema.Init(fleet.Location);
        var first = FleetSchema.AddRig(fleet.Location, RigId("range-a"));
        var second = FleetSchema.AddRig(fleet.Location, RigId("range-b"));
        var lot = Unique("RIGS");
        var prefix = Unique("v").ToLowerInvariant() + "-";
        // Rig a on line-1: a generated history and units around hour bounds; rig b on line-2: v1 retested there (a device
        // screened on two rigs and lines: failed on a, passed on b), v2 failed on a and again on b, v3 on b alone.
        var a = RigStore(first.RigId, 200, seed: 23);
        var b = ResultsStore.Open(StorePath(second.RigId));
        foreach (var store in new[] { a, b })
            store.ImportDevices([.. new[] { "v1", "v2", "v3", "v4" }.Select(d => new HilRig.Core.Inventory.DeviceLot(prefix + d, lot, null, null))], T0);
        static void Record(ResultsStore store, Guid run, string device, string test, Verdict verdict, double hours, int attempt = 1) =>
            store.RecordResult(new ResultRecord(run, device, 5, test, verdict, T0.AddHours(hours), T0.AddHours(hours).AddSeconds(20),
                FailureMode: verdict == Verdict.Fail ? "stuck-bits" : null, Attempt: attempt));
        var runA = a.StartRun(new RunInfo(first.RigId, "h", 1, "BL14", "screen", T0));
        Record(a, runA, prefix + "v1", "dfu-readback", Verdict.Fail, 0.95);
        Record(a, runA, prefix + "v2", "dfu-readback", Verdict.Fail, 1.2);
        Record(a, runA, prefix + "v4", "dfu-readback", Verdict.Pass, 1.5);
        Record(a, runA, prefix + "v4", "ota", Verdict.Fail, 2.6);
        a.FinishRun(runA, RunStatus.Failed, T0.AddDays(2));
        var runB = b.StartRun(new RunInfo(second.RigId, "h", 1, "BL14", "screen", T0));
        Record(b, runB, prefix + "v1", "dfu-readback", Verdict.Pass, 1.1, attempt: 2);
        Record(b, runB, prefix + "v2", "dfu-readback", Verdict.Fail, 2.4, attempt: 2);
        Record(b, runB, prefix + "v3", "dfu-readback", Verdict.Pass, 0.3);
        b.FinishRun(runB, RunStatus.Failed, T0.AddDays(2));
        new FleetSync(a, first.ConnectionString, first.RigId, line: "line-1") { BatchSize = 250 }.Sync();
        new FleetSync(b, second.ConnectionString, second.RigId, line: "line-2") { BatchSize = 250 }.Sync();
        AssertRollupsEqualDirectCounts(fleet);
        Assert.That(fleet.Scalar($"SELECT COUNT(*) FROM units WHERE rig_id = ' ' AND line = ' ' AND device_id IN ('{prefix}v1', '{prefix}v2')"), Is.EqualTo(2),
            "v1 and v2 screened on two rigs of two lines");

        var central = fleet.Queries();
        var day = new DateTimeOffset(T0.Date, TimeSpan.Zero);
        // each filter with the rig whose own store holds exactly the rows it keeps (a line of one rig is that rig)
        var filters = new (ResultFilter Fleet, string Rig)[]
        {
            (new ResultFilter(null, null, first.RigId, null), first.RigId),                        // a rig
            (new ResultFilter(null, null, second.RigId, null), second.RigId),
            (new ResultFilter(null, null, null, "line-1"), first.RigId),                           // a line
            (new ResultFilter(null, null, null, "line-2"), second.RigId),
            (new ResultFilter(T0, T0.AddHours(3), first.RigId, null), first.RigId),                // a rig over a shift
            (new ResultFilter(T0, T0.AddHours(3), second.RigId, null), second.RigId),
            (new ResultFilter(T0.AddHours(0.5), T0.AddHours(2.5), null, "line-2"), second.RigId),  // a line over part hours
            (new ResultFilter(T0.AddHours(1.05), T0.AddHours(1.3), first.RigId, null), first.RigId), // no whole hour
            (new ResultFilter(day, day.AddDays(1), null, "line-1"), first.RigId),                  // a line over a day
        };
        static string Json(object? o) => System.Text.Json.JsonSerializer.Serialize(o);
        foreach (var (filter, rigId) in filters)
        {
            var what = filter.Describe();
            var own = ResultsQueries.OpenSqlite(StorePath(rigId));
            var ownFilter = filter with { Rig = rigId, Line = null };
            var counts = central.LotCounts(filter);
            Assert.That(counts.Select(g => (g.Name, g.Units, g.Failed)), Is.EqualTo(DirectLotCounts(fleet, filter)), what);
            Assert.That(Json(central.Lots(filter)), Is.EqualTo(Json(own.Lots(ownFilter))), what);
            foreach (var name in counts.Select(g => g.Name))
                Assert.That(Json(central.Lot(name, filter, devicesShown: 20)), Is.EqualTo(Json(own.Lot(name, ownFilter, devicesShown: 20))), $"{what}: lot {name}");
        }
        // the rigs page: units per rig and per line (a unit once on each rig or line it was screened on), results and rig
        // faults, and each rig's newest result, over the same filters, none, whole days and a shift off the hour
        foreach (var filter in filters.Select(f => f.Fleet).Concat([ResultFilter.None, new ResultFilter(day, day.AddDays(1), null, null),
                     new ResultFilter(T0.AddHours(0.5), T0.AddHours(2.5), null, null), new ResultFilter(day, day.AddDays(1), second.RigId, null)]))
            AssertRigsPageEqualsDirectCount(fleet, filter);
        var onB = central.Lot(lot, filters[1].Fleet)!;
        Assert.That((onB.Rate.Units, onB.Rate.Failed), Is.EqualTo((3, 1)), "on b: v1 passed, v2 failed, v3 passed");
        var onA = central.Lot(lot, filters[0].Fleet)!;
        Assert.That((onA.Rate.Units, onA.Rate.Failed), Is.EqualTo((3, 3)), "on a: v1 and v2 failed (their b attempts are not a's), v4 failed ota");
    }

    /// <summary>
    /// The rigs page over <paramref name="filter"/> against the counting rule over the central results: per rig and per line
    /// the units (each rig's or line's own latest attempts decide) and failed units, results and rig faults, and per rig its
    /// newest result.
    /// </summary>
    private static void AssertRigsPageEqualsDirectCount(TestStore central, ResultFilter filter)
    {
        var what = filter.IsEmpty ? "no filter" : filter.Describe();
        var where = (filter.From is { } f ? $" AND r.started_at >= '{ResultFilterText(f)}'" : "") + (filter.ToExclusive is { } t ? $" AND r.started_at < '{ResultFilterText(t)}'" : "")
                    + (filter.Rig is null ? "" : $" AND ru.rig_id = '{filter.Rig}'") + (filter.Line is null ? "" : $" AND ru.line = '{filter.Line}'");
        List<string> Units(string column) => central.Rows(
            $"""
            SELECT grp, SUM(judged), SUM(failed) FROM (
                SELECT device_id, grp, MAX(CASE WHEN verdict <> 'rig-fault' THEN 1 ELSE 0 END) AS judged, MAX(CASE WHEN verdict = 'fail' THEN 1 ELSE 0 END) AS failed
                FROM (SELECT r.device_id, ru.{column} AS grp, r.verdict,
                             ROW_NUMBER() OVER (PARTITION BY ru.{column}, r.device_id, r.test ORDER BY r.started_at DESC, r.attempt DESC) AS rn
                      FROM results r JOIN runs ru ON ru.id = r.run_id WHERE r.cycle IS NULL AND ru.{column} IS NOT NULL{where}) l
                WHERE rn = 1 GROUP BY device_id, grp) x
            GROUP BY grp HAVING SUM(judged) > 0 ORDER BY 1
            """).Select(Text).ToList();
        List<string> Totals(string column, string newest) => central.Rows(
            $"""
            SELECT ru.{column}, COUNT(*), SUM(CASE WHEN r.verdict = 'rig-fault' THEN 1 ELSE 0 END){newest}
            FROM results r JOIN runs ru ON ru.id = r.run_id WHERE ru.{column} IS NOT NULL{where} GROUP BY 1 ORDER BY 1
            """).Select(Text).ToList();
        var page = central.Queries().Rigs(filter);
        Assert.That(page.Rigs.Where(r => r.Rate is not null).Select(r => $"{r.RigId}|{r.Rate!.Units}|{r.Rate.Failed}"), Is.EqualTo(Units("rig_id")), $"{what}: units per rig");
        Assert.That(page.Lines.Where(l => l.Rate is not null).Select(l => $"{l.Line}|{l.Rate!.Units}|{l.Rate.Failed}"), Is.EqualTo(Units("line")), $"{what}: units per line");
        Assert.That(page.Rigs.Where(r => r.Results > 0).Select(r => $"{r.RigId}|{r.Results}|{r.RigFaults}|{StoreText.Time(r.LastResultAt!.Value)}"),
            Is.EqualTo(Totals("rig_id", ", MAX(r.started_at)")), $"{what}: results per rig");
        Assert.That(page.Lines.Where(l => l.Results > 0).Select(l => $"{l.Line}|{l.Results}|{l.RigFaults}"), Is.EqualTo(Totals("line", "")), $"{what}: results per line");
    }

    /// <summary>Units and failed units per lot over a date filter, by the counting rule over the central results.</summary>
    private static List<(string, int, int)> DirectLotCounts(TestStore central, ResultFilter filter)
    {
        var range = (filter.From is { } f ? $" AND started_at >= '{ResultFilterText(f)}'" : "") + (filter.ToExclusive is { } t ? $" AND started_at < '{ResultFilterText(t)}'" : "");
        var rig = (filter.Rig is null ? "" : $" AND run_id IN (SELECT id FROM runs WHERE rig_id = '{filter.Rig}')")
                  + (filter.Line is null ? "" : $" AND run_id IN (SELECT id FROM runs WHERE line = '{filter.Line}')");
        return central.Rows(
            $"""
            SELECT u.lot, SUM(x.judged), SUM(x.failed) FROM (
                SELECT device_id, MAX(CASE WHEN verdict <> 'rig-fault' THEN 1 ELSE 0 END) AS judged, MAX(CASE WHEN verdict = 'fail' THEN 1 ELSE 0 END) AS failed
                FROM (SELECT device_id, verdict, ROW_NUMBER() OVER (PARTITION BY device_id, test ORDER BY started_at DESC, attempt DESC) AS rn
                      FROM results WHERE cycle IS NULL{range}{rig}) l
                WHERE rn = 1 GROUP BY device_id) x JOIN units u ON u.device_id = x.device_id
            GROUP BY u.lot HAVING SUM(x.judged) > 0 ORDER BY 1
            """).Select(r => (Convert.ToString(r[0], System.Globalization.CultureInfo.InvariantCulture)!, Convert.ToInt32(r[1]), Convert.ToInt32(r[2]))).ToList();
    }

    private static string ResultFilterText(DateTimeOffset t) => StoreText.Time(t);

    /// <summary>Per lot: devices, first-pass and final yield, by the statistics' rule over every screening attempt.</summary>
    private const string DirectYields =
        """
        SELECT u.lot, COUNT(*), SUM(d.first_ok), SUM(d.final_ok) FROM (
            SELECT device_id, MIN(CASE WHEN rn = 1 THEN ok END) AS first_ok, MIN(CASE WHEN rn = n THEN ok END) AS final_ok
            FROM (SELECT device_id, CASE WHEN verdict = 'pass' THEN 1 ELSE 0 END AS ok,
                         ROW_NUMBER() OVER (PARTITION BY device_id, test ORDER BY started_at, attempt) AS rn,
                         COUNT(*) OVER (PARTITION BY device_id, test) AS n
                  FROM results WHERE cycle IS NULL) a
            GROUP BY device_id) d JOIN units u ON u.device_id = d.device_id
        GROUP BY u.lot ORDER BY 1
        """;

    /// <summary>Every rollup row equals a count straight over the central results.</summary>
    private void AssertRollupsEqualDirectCounts() => AssertRollupsEqualDirectCounts(Central);

    internal static void AssertRollupsEqualDirectCounts(TestStore central)
    {
        Assert.That(
            central.Rows("SELECT rig_id, slot, results, failed, rig_faults FROM rollup_rig_slot WHERE results <> 0 ORDER BY 1, 2").Select(Text),
            Is.EqualTo(central.Rows(
                """
                SELECT ru.rig_id, r.slot, COUNT(*), SUM(CASE WHEN r.verdict = 'fail' THEN 1 ELSE 0 END), SUM(CASE WHEN r.verdict = 'rig-fault' THEN 1 ELSE 0 END)
                FROM results r JOIN runs ru ON ru.id = r.run_id GROUP BY 1, 2 ORDER BY 1, 2
                """).Select(Text)), "per rig and slot");
        Assert.That(
            central.Rows("SELECT rig_id, day, results, failed, rig_faults FROM rollup_rig_day WHERE results <> 0 ORDER BY 1, 2").Select(Text),
            Is.EqualTo(central.Rows(
                """
                SELECT ru.rig_id, substr(r.started_at, 1, 10), COUNT(*), SUM(CASE WHEN r.verdict = 'fail' THEN 1 ELSE 0 END),
                       SUM(CASE WHEN r.verdict = 'rig-fault' THEN 1 ELSE 0 END)
                FROM results r JOIN runs ru ON ru.id = r.run_id GROUP BY 1, 2 ORDER BY 1, 2
                """).Select(Text)), "per rig and day");
        if (central.Scalar("SELECT COUNT(*) FROM pg_tables WHERE tablename = 'rollup_rig_minutes'") > 0)
            Assert.That(
                central.Rows("SELECT minute, rig_id, results, rig_faults, last_result_at FROM rollup_rig_minutes WHERE results <> 0 ORDER BY 1, 2").Select(Text),
                Is.EqualTo(central.Rows(
                    """
                    SELECT left(r.started_at, 16), ru.rig_id, COUNT(*), SUM(CASE WHEN r.verdict = 'rig-fault' THEN 1 ELSE 0 END), MAX(r.started_at)
                    FROM results r JOIN runs ru ON ru.id = r.run_id GROUP BY 1, 2 ORDER BY 1, 2
                    """).Select(Text)), "per minute and rig");
        Assert.That(
            central.Rows("SELECT lot, day, results, failed, rig_faults FROM rollup_lot_day WHERE results <> 0 ORDER BY 1, 2").Select(Text),
            Is.EqualTo(central.Rows(
                """
                SELECT COALESCE(d.lot, '(unknown)'), substr(r.started_at, 1, 10), COUNT(*), SUM(CASE WHEN r.verdict = 'fail' THEN 1 ELSE 0 END),
                       SUM(CASE WHEN r.verdict = 'rig-fault' THEN 1 ELSE 0 END)
                FROM results r LEFT JOIN devices d ON d.device_id = r.device_id GROUP BY 1, 2 ORDER BY 1, 2
                """).Select(Text)), "per lot and day");
        Assert.That(
            central.Rows("SELECT lot, result_id, device_id, failure_mode, signature, screened FROM lot_failures ORDER BY 1, 2").Select(Text),
            Is.EqualTo(central.Rows(
                """
                SELECT COALESCE(d.lot, '(unknown)'), r.id, r.device_id, r.failure_mode, r.signature,
                       EXISTS (SELECT 1 FROM results s WHERE s.device_id = r.device_id AND s.cycle IS NULL)
                FROM results r LEFT JOIN devices d ON d.device_id = r.device_id
                WHERE r.verdict = 'fail' ORDER BY 1, 2
                """).Select(Text)), "failing results per lot, their modes, signatures and whether the device is screened (fleet steps 6 and 8)");
        Assert.That(
            central.Rows("SELECT lot, units, failed FROM lot_counts WHERE units > 0 ORDER BY 1").Select(r => (Convert.ToString(r[0]), Convert.ToInt32(r[1]), Convert.ToInt32(r[2]))),
            Is.EqualTo(ResultsQueriesTests.DirectLotCounts(central)), "per lot, by the unit counting rule");
        Assert.That(
            central.Rows("SELECT lot, devices, first_passed, final_passed FROM lot_counts WHERE devices <> 0 ORDER BY 1").Select(Text),
            Is.EqualTo(central.Rows(DirectYields).Select(Text)), "per lot: devices, first-pass and final yield, by the statistics' rule");
        AssertPageRollupsEqualDirectCounts(central);
        if (central.Scalar("SELECT COUNT(to_regclass('rollup_lot_hours'))") > 0)
            AssertLotHoursEqualDirectCounts(central);
    }

    /// <summary>
    /// Fleet step 13 against a count over the central results: each unit's first and last screening hour, the units,
    /// failed units, devices and yields per lot and span of hours, and each failure's start and run in lot_failures.
    /// </summary>
    private static void AssertLotHoursEqualDirectCounts(TestStore central)
    {
        const string Spans =
            """
            SELECT device_id, MIN(left(started_at, 13)) AS first_hour, MAX(left(started_at, 13)) AS last_hour FROM results WHERE cycle IS NULL GROUP BY device_id
            """;
        Assert.That(central.Rows("SELECT device_id, first_hour, last_hour FROM units ORDER BY 1").Select(Text),
            Is.EqualTo(central.Rows($"SELECT * FROM ({Spans}) s ORDER BY 1").Select(Text)), "each unit's span of screening hours");
        if (central.Scalar("SELECT CASE WHEN to_regclass('ix_units_at') IS NULL THEN 0 ELSE 1 END") == 1)
            Assert.That(central.Rows("SELECT device_id, first_at, last_at FROM units ORDER BY 1").Select(Text),
                Is.EqualTo(central.Rows("SELECT device_id, MIN(started_at), MAX(started_at) FROM results WHERE cycle IS NULL GROUP BY device_id ORDER BY 1").Select(Text)),
                "each unit's first and last screening attempt (fleet step 15)");
        Assert.That(
            central.Rows("SELECT lot, first_hour, last_hour, units, failed, devices, first_passed, final_passed FROM rollup_lot_hours WHERE devices <> 0 ORDER BY 1, 2, 3").Select(Text),
            Is.EqualTo(central.Rows(
                $"""
                SELECT u.lot, s.first_hour, s.last_hour, SUM(u.judged), SUM(u.failed), COUNT(*), SUM(u.first_passed), SUM(u.final_passed)
                FROM units u JOIN ({Spans}) s ON s.device_id = u.device_id GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
                """).Select(Text)), "units per lot and span of screening hours (the units' own counts are held against the results above)");
        Assert.That(central.Rows("SELECT f.result_id FROM lot_failures f JOIN results r ON r.id = f.result_id WHERE f.started_at IS DISTINCT FROM r.started_at OR f.run_id IS DISTINCT FROM r.run_id"),
            Is.Empty, "each failure's start and run as its result's");

        if (central.Scalar("SELECT COUNT(to_regclass('rollup_lot_rig_hours'))") == 0)
            return;
        // fleet step 14: each unit's screening rig and line (' ' where several), and the units per rig, line, lot and span
        const string Rigs =
            """
            SELECT r.device_id, CASE WHEN MIN(ru.rig_id) = MAX(ru.rig_id) THEN MIN(ru.rig_id) ELSE ' ' END AS rig_id,
                   CASE WHEN MIN(COALESCE(ru.line, '')) = MAX(COALESCE(ru.line, '')) THEN MIN(COALESCE(ru.line, '')) ELSE ' ' END AS line
            FROM results r JOIN runs ru ON ru.id = r.run_id WHERE r.cycle IS NULL GROUP BY r.device_id
            """;
        Assert.That(central.Rows("SELECT device_id, rig_id, line FROM units ORDER BY 1").Select(Text),
            Is.EqualTo(central.Rows($"SELECT * FROM ({Rigs}) g ORDER BY 1").Select(Text)), "each unit's screening rig and line");
        Assert.That(
            central.Rows("SELECT rig_id, line, lot, first_hour, last_hour, units, failed, devices, first_passed, final_passed FROM rollup_lot_rig_hours WHERE devices <> 0 ORDER BY 1, 2, 3, 4, 5").Select(Text),
            Is.EqualTo(central.Rows(
                $"""
                SELECT g.rig_id, g.line, u.lot, s.first_hour, s.last_hour, SUM(u.judged), SUM(u.failed), COUNT(*), SUM(u.first_passed), SUM(u.final_passed)
                FROM units u JOIN ({Spans}) s ON s.device_id = u.device_id JOIN ({Rigs}) g ON g.device_id = u.device_id
                GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
                """).Select(Text)), "units per rig, line, lot and span of screening hours");
    }

    /// <summary>The rollups one lot's page and the slots page read (fleet step 10) against a count straight over the central results.</summary>
    private static void AssertPageRollupsEqualDirectCounts(TestStore central)
    {
        const string Fails =
            """
            SELECT COALESCE(d.lot, '(unknown)') AS lot, r.device_id, r.failure_mode, r.signature, r.evidence_json
            FROM results r LEFT JOIN devices d ON d.device_id = r.device_id
            WHERE r.verdict = 'fail' AND EXISTS (SELECT 1 FROM results s WHERE s.device_id = r.device_id AND s.cycle IS NULL)
            """;
        Assert.That(
            central.Rows("SELECT lot, part, name, failures, devices FROM rollup_lot_failures WHERE failures <> 0 OR devices <> 0 ORDER BY 1, 2, 3").Select(Text),
            Is.EqualTo(central.Rows(
                $"""
                SELECT f.lot, p.part, p.name, COUNT(*), COUNT(DISTINCT f.device_id) FROM ({Fails}) f
                CROSS JOIN LATERAL (VALUES ('mode', COALESCE(f.failure_mode, '{Breakdown.Unclassified}')), ('signature', COALESCE(f.signature, '{Breakdown.Unclassified}')),
                                           ('kind', {DefectKinds.Sql("f.failure_mode", "f.signature")})) p(part, name)
                GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
                """).Select(Text)), "screened failures and their devices per lot, mode, signature and defect kind");
        Assert.That(
            central.Rows("SELECT lot, position, total FROM rollup_lot_bit_errors WHERE total <> 0 ORDER BY 1, 2").Select(Text),
            Is.EqualTo(central.Rows(
                $"""
                SELECT f.lot, i, SUM((fleet_bit_errors(f.evidence_json))[i]) FROM ({Fails}) f CROSS JOIN generate_series(1, 10) i
                GROUP BY 1, 2 HAVING SUM((fleet_bit_errors(f.evidence_json))[i]) <> 0 ORDER BY 1, 2
                """).Select(Text)), "bit-error totals per lot");
        Assert.That(
            central.Rows("SELECT slot, devices, failed_devices FROM rollup_slots WHERE devices <> 0 ORDER BY 1").Select(Text),
            Is.EqualTo(central.Rows(
                "SELECT slot, COUNT(DISTINCT device_id), COUNT(DISTINCT CASE WHEN verdict <> 'pass' THEN device_id END) FROM results GROUP BY slot ORDER BY 1")
                .Select(Text)), "distinct and failed devices per slot");
        Assert.That(
            central.Scalar(
                """
                SELECT COUNT(*) FROM ((SELECT slot, device_id, failed FROM slot_devices
                                       EXCEPT ALL SELECT slot, device_id, bool_or(verdict <> 'pass') FROM results GROUP BY 1, 2)
                                      UNION ALL (SELECT slot, device_id, bool_or(verdict <> 'pass') FROM results GROUP BY 1, 2
                                       EXCEPT ALL SELECT slot, device_id, failed FROM slot_devices)) x
                """), Is.Zero, "each (slot, device) pair once, failed when any of its results there was not a pass");
    }

    private static string Text(object?[] row) => string.Join("|", row.Select(v => Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture)));

    private void Terminate(int pid)
    {
        using var admin = new NpgsqlConnection(Admin);
        admin.Open();
        using var cmd = admin.CreateCommand();
        cmd.CommandText = $"SELECT pg_terminate_backend({pid})";
        cmd.ExecuteScalar();
    }

    private static int ClosedPort()
    {
        using var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        probe.Start();
        return ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
    }

    /// <summary>Raw SQL on a rig's SQLite file.</summary>
    private sealed class TestStoreFile(string path)
    {
        public void Execute(string sql) => TestStore.Sqlite(path).Execute(sql);
    }
}
