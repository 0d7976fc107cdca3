using System.Data.Common;
using HilRig.Core.Procedures;
using HilRig.Core.Results;
using HilRig.Tests.Support;

namespace HilRig.Tests.Results;

[TestFixture(StoreProvider.Sqlite)]
[TestFixture(StoreProvider.Postgres, Category = "Integration")]
public class ResultsStoreTests(StoreProvider provider)
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 14, 8, 0, 0, TimeSpan.Zero);
    private StoreProviders _stores = null!;
    private TestStore _db = null!;

    [OneTimeSetUp]
    public void CreateProvider() => _stores = new StoreProviders(provider, "store");

    [OneTimeTearDown]
    public void RemoveStores() => _stores.Dispose();

    [SetUp]
    public void FreshStore() => _db = _stores.Fresh();

    private static RunInfo Run(DateTimeOffset at) => new("rig-1", "0123456789abcdef", 42, "BL14", "screen", at);

    private static ResultRecord Result(Guid run, string device, string test, Verdict verdict, int minutes, int? attempt = null, int? cycle = null) =>
        new(run, device, 1, test, verdict, T0.AddMinutes(minutes), T0.AddMinutes(minutes).AddSeconds(30), Cycle: cycle, Attempt: attempt);

    [Test]
    public void A_fresh_store_is_created_with_its_folder_at_the_latest_schema_and_reopening_changes_nothing()
    {
        var store = _db.Open();
        _db.Open();

        Assert.That(_db.Exists);
        Assert.That(store.SchemaVersion, Is.EqualTo(Migrations.Latest));
        Assert.That(_db.Scalar("SELECT COUNT(*) FROM schema_version"), Is.EqualTo(Migrations.Latest), "each step applied once");
    }

    [Test]
    public void A_version_1_store_is_upgraded_on_open_and_keeps_its_results()
    {
        var v1 = new List<string> { "CREATE TABLE schema_version (version INTEGER NOT NULL, applied_at TEXT NOT NULL)" };
        v1.AddRange(Migrations.Step(provider == StoreProvider.Postgres ? StoreDialect.Postgres : StoreDialect.Sqlite, 1));
        v1.Add("INSERT INTO schema_version VALUES (1, '2025-01-01T00:00:00.0000000Z')");
        v1.Add("INSERT INTO runs VALUES ('11111111-1111-1111-1111-111111111111', 'old-rig', 'abc', 1, 'BL13', 'screen', '2025-01-01T00:00:00.0000000Z', NULL, 'failed')");
        v1.Add("INSERT INTO devices VALUES ('55ff00000000000000000001', 'SST25-1301A', '2025-01-01T00:00:00.0000000Z')");
        v1.Add("""
            INSERT INTO results VALUES ('22222222-2222-2222-2222-222222222222', '11111111-1111-1111-1111-111111111111',
              '55ff00000000000000000001', 2, 'dfu-readback', NULL, 1, 'fail', 'stuck-bits', 5300,
              '2025-01-01T00:00:00.0000000Z', '2025-01-01T00:01:00.0000000Z', '{"bitErrors":3}')
            """);
        _db.Execute(v1.ToArray());

        var store = _db.Open();

        Assert.That(store.SchemaVersion, Is.EqualTo(Migrations.Latest));
        var old = store.GetResults().Single();
        Assert.That(old.FailureMode, Is.EqualTo("stuck-bits"));
        Assert.That(old.Signature, Is.Null, "column added by the upgrade");
        Assert.That(old.DeviceTime, Is.EqualTo(TimeSpan.FromMilliseconds(5300)));
        Assert.That(store.LotSummary(), Is.EqualTo(new[] { new LotSummary("SST25-1301A", 1, 1) }));
        Assert.That(_db.Queries().LotCounts(),
            Is.EqualTo(new[] { new HilRig.Reports.Statistics.GroupCount("SST25-1301A", 1, 1) }), "the upgrade summarises the rows it finds");
        var next = store.RecordResult(Result(old.RunId, old.DeviceId, "dfu-readback", Verdict.Pass, 5) with { Signature = "clean" });
        Assert.That(next.Attempt, Is.EqualTo(2), "upgrade keeps the attempt history");
    }

    private static IEnumerable<int> SchemaSteps() => Enumerable.Range(1, Migrations.Latest);

    [TestCaseSource(nameof(SchemaSteps))]
    public void Each_schema_step_applies_on_its_own_keeps_the_rows_before_it_and_upgrades_to_the_latest(int step)
    {
        _db.OpenAt(step - 1);
        // a run as step 1's columns hold it: today's StartRun writes columns later steps add
        if (step > 1)
            _db.Execute($"INSERT INTO runs (id, rig_id, config_hash, seed, bootloader, kind, started_at, ended_at, status) VALUES ('{Guid.CreateVersion7()}', 'rig-a', 'hash', 1, 'BL14', 'screen', '2014-06-01T00:00:00.0000000Z', NULL, 'running')");

        var at = _db.OpenAt(step);

        Assert.That(at.SchemaVersion, Is.EqualTo(step));
        Assert.That(_db.Scalar("SELECT COUNT(*) FROM schema_version"), Is.EqualTo(step), "each step recorded once");
        Assert.That(_db.Scalar("SELECT COUNT(*) FROM runs"), Is.EqualTo(step > 1 ? 1 : 0), "rows written before the step survive it");
        var latest = _db.Open();
        Assert.That(latest.SchemaVersion, Is.EqualTo(Migrations.Latest));
        var run = latest.StartRun(Run(T0.AddDays(1)));
        Assert.That(latest.RecordResult(Result(run, "d1", "dfu-readback", Verdict.Pass, 1)).Attempt, Is.EqualTo(1));
    }

    [Test]
    public void A_store_newer_than_the_code_is_refused_with_a_clear_error()
    {
        _db.Open();
        _db.Execute("INSERT INTO schema_version VALUES (99, '2030-01-01T00:00:00.0000000Z')");

        var e = Assert.Throws<ResultsStoreException>(() => _db.Open())!;

        Assert.That(e.Message, Is.EqualTo(
            $"results store {_db.Description} has schema version 99, newer than this hilrig understands ({Migrations.Latest}); update hilrig or use another store"));
    }

    [Test]
    public void Runs_record_what_ran_and_how_it_ended()
    {
        var store = _db.Open();
        var id = store.StartRun(Run(T0));
        Assert.That(store.GetRun(id)!.Status, Is.EqualTo(RunStatus.Running));

        store.FinishRun(id, RunStatus.RigFault, T0.AddHours(2));

        Assert.That(store.GetRun(id), Is.EqualTo(new StoredRun(id, "rig-1", "0123456789abcdef", 42, "BL14", "screen", T0, T0.AddHours(2), RunStatus.RigFault)));
        Assert.Throws<ResultsStoreException>(() => store.FinishRun(Guid.NewGuid(), RunStatus.Passed, T0));
    }

    [Test]
    public void A_result_round_trips_with_its_evidence()
    {
        var store = _db.Open();
        var run = store.StartRun(Run(T0));
        var written = store.RecordResult(new ResultRecord(run, "55FF6C065075555332071787", 3, "soak-ota", Verdict.Fail,
            T0, T0.AddSeconds(40), Cycle: 17, FailureMode: "flashing-yellow", Signature: "ota-brick",
            DeviceTime: TimeSpan.FromMilliseconds(38_250), EvidenceJson: """{"led":["breathing cyan","flashing yellow"]}"""));

        var read = store.GetResults(run, "55ff6c065075555332071787").Single();

        Assert.That(read, Is.EqualTo(written));
        Assert.That(read.DeviceId, Is.EqualTo("55ff6c065075555332071787"), "device ids are stored lowercase");
        Assert.That(read.Attempt, Is.EqualTo(1));
    }

    [Test]
    public void Attempts_are_numbered_per_device_test_and_run_and_never_overwritten()
    {
        var store = _db.Open();
        var run1 = store.StartRun(Run(T0));
        var run2 = store.StartRun(Run(T0.AddDays(1)));

        var a1 = store.RecordResult(Result(run1, "d1", "dfu-readback", Verdict.Fail, 1));
        var a2 = store.RecordResult(Result(run1, "d1", "dfu-readback", Verdict.Fail, 2));
        var a3 = store.RecordResult(Result(run1, "d1", "dfu-readback", Verdict.Pass, 3));
        var otherTest = store.RecordResult(Result(run1, "d1", "factory-reset", Verdict.Pass, 4));
        var otherDevice = store.RecordResult(Result(run1, "d2", "dfu-readback", Verdict.Pass, 5));
        var otherRun = store.RecordResult(Result(run2, "d1", "dfu-readback", Verdict.Pass, 6));

        Assert.That(new[] { a1.Attempt, a2.Attempt, a3.Attempt, otherTest.Attempt, otherDevice.Attempt, otherRun.Attempt },
            Is.EqualTo(new[] { 1, 2, 3, 1, 1, 1 }));

        var e = Assert.Throws<ResultsStoreException>(() => store.RecordResult(Result(run1, "d1", "dfu-readback", Verdict.Pass, 7, attempt: 2)))!;
        Assert.That(e.Message, Does.Contain("attempt 2 of test 'dfu-readback' on device d1").And.Contain("never overwritten"));
        Assert.That(store.GetResults(run1, "d1").Where(r => r.Test == "dfu-readback").Select(r => r.Verdict),
            Is.EqualTo(new[] { Verdict.Fail, Verdict.Fail, Verdict.Pass }), "the refused attempt changed nothing");
    }

    [Test]
    public void Soak_cycles_number_their_attempts_separately()
    {
        var store = _db.Open();
        var run = store.StartRun(Run(T0));

        var c1 = store.RecordResult(Result(run, "d1", "soak", Verdict.Pass, 1, cycle: 1));
        var c2 = store.RecordResult(Result(run, "d1", "soak", Verdict.RigFault, 2, cycle: 2));
        var c2Retry = store.RecordResult(Result(run, "d1", "soak", Verdict.Pass, 3, cycle: 2));

        Assert.That(new[] { c1.Attempt, c2.Attempt, c2Retry.Attempt }, Is.EqualTo(new[] { 1, 1, 2 }));
    }

    [Test]
    public void Each_result_is_its_own_transaction_so_a_failed_write_loses_nothing_earlier()
    {
        var store = _db.Open();
        var run = store.StartRun(Run(T0));
        store.RecordResult(Result(run, "d1", "dfu-readback", Verdict.Pass, 1));
        store.RecordResult(Result(run, "d2", "dfu-readback", Verdict.Fail, 2));

        // A result for a run that was never started violates the foreign key half-way through the write.
        Assert.That(() => store.RecordResult(Result(Guid.NewGuid(), "d3", "dfu-readback", Verdict.Pass, 3)), Throws.InstanceOf<DbException>());

        var reopened = _db.Open();
        Assert.That(reopened.GetResults().Select(r => r.DeviceId), Is.EqualTo(new[] { "d1", "d2" }));
    }

    [Test]
    public void Lot_summary_counts_a_unit_by_the_last_attempt_of_each_of_its_tests()
    {
        var store = _db.Open();
        var run1 = store.StartRun(Run(T0));
        var run2 = store.StartRun(Run(T0.AddDays(1)));
        foreach (var d in new[] { "a1", "a2", "a3", "a4" })
            store.UpsertDevice(d, "SST25-1348A", T0);
        foreach (var d in new[] { "b1", "b2", "b3", "b4" })
            store.UpsertDevice(d, "SST25-1402B", T0);

        store.RecordResult(Result(run1, "a1", "dfu-readback", Verdict.Pass, 1));
        store.RecordResult(Result(run1, "a2", "dfu-readback", Verdict.Fail, 2));     // failed, retested, passed: good
        store.RecordResult(Result(run1, "a2", "dfu-readback", Verdict.Pass, 3));
        store.RecordResult(Result(run1, "a3", "dfu-readback", Verdict.Pass, 4));     // passed, then failed: bad
        store.RecordResult(Result(run1, "a3", "dfu-readback", Verdict.Fail, 5));
        store.RecordResult(Result(run1, "a4", "dfu-readback", Verdict.Pass, 6));     // one test of two failed: bad
        store.RecordResult(Result(run1, "a4", "factory-reset", Verdict.Fail, 7));
        store.RecordResult(Result(run1, "b1", "dfu-readback", Verdict.Fail, 8));     // bad
        store.RecordResult(Result(run1, "b2", "dfu-readback", Verdict.RigFault, 9)); // rig's fault, not the unit's
        store.RecordResult(Result(run1, "b3", "dfu-readback", Verdict.Pass, 10));
        store.RecordResult(Result(run1, "b4", "dfu-readback", Verdict.Fail, 11));    // failed, passed next day: good
        store.RecordResult(Result(run2, "b4", "dfu-readback", Verdict.Pass, 24 * 60));
        store.RecordResult(Result(run1, "x1", "dfu-readback", Verdict.Fail, 12));    // never registered with a lot

        var summary = store.LotSummary();

        Assert.That(summary, Is.EqualTo(new[]
        {
            new LotSummary("(unknown)", 1, 1),
            new LotSummary("SST25-1348A", 4, 2),
            new LotSummary("SST25-1402B", 4, 1),
        }));
        Assert.That(summary.Select(s => s.FailureRate), Is.EqualTo(new[] { 1.0, 0.5, 0.25 }));
    }

    [Test]
    public void Upserting_a_device_moves_it_to_its_corrected_lot()
    {
        var store = _db.Open();
        var run = store.StartRun(Run(T0));
        store.UpsertDevice("d1", "SST25-WRONG", T0);
        store.RecordResult(Result(run, "d1", "dfu-readback", Verdict.Fail, 1));

        store.UpsertDevice("d1", "SST25-1348A", T0.AddDays(3), dateCode: "1348", supplier: "SST");

        Assert.That(store.LotSummary(), Is.EqualTo(new[] { new LotSummary("SST25-1348A", 1, 1) }));
        Assert.That(_db.Scalar("SELECT COUNT(*) FROM devices WHERE first_seen = '2026-03-14T08:00:00.0000000Z' AND supplier = 'SST'"), Is.EqualTo(1),
            "first seen stays the first time");
    }
}
