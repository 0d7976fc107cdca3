using HilRig.Core.Procedures;
using HilRig.Core.Results;
using HilRig.Reports.Queries;
using HilRig.Reports.Results;
using HilRig.Reports.Statistics;
using HilRig.Sim.Fleet;
using HilRig.Tests.Support;
using Microsoft.Data.Sqlite;

namespace HilRig.Tests.Reports;

/// <summary>
/// The query layer answers from the store's summary tables and indexes; these tests hold its answers equal to the
/// statistics functions run over every row, for a generated fleet and for hand-made retest histories.
/// </summary>
[TestFixture(StoreProvider.Sqlite)]
[TestFixture(StoreProvider.Postgres, Category = "Integration")]
public class ResultsQueriesTests(StoreProvider provider)
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 14, 8, 0, 0, TimeSpan.Zero);
    private StoreProviders _stores = null!;

    [OneTimeSetUp]
    public void CreateProvider() => _stores = new StoreProviders(provider, "queries");

    [OneTimeTearDown]
    public void RemoveStores() => _stores.Dispose();

    private TestStore FleetStore(int cores, int soakCycles, int seed = 5)
    {
        var store = _stores.Fresh();
        var plan = FleetPlan.Create(new FleetOptions(cores, 6, seed, 1, soakCycles));
        new FleetFastPath(plan, 8).WriteTo(store.Open(), "test-rig");
        return store;
    }

    [Test]
    public void Lot_counts_from_the_summaries_equal_LotReport_over_every_screening_row()
    {
        var queries = (FleetStore(3000, soakCycles: 5)).Queries();
        var rows = queries.Rows();

        var expected = LotReport.CountByLot(rows.Where(r => r.Cycle is null));

        Assert.That(queries.LotCounts(), Is.EqualTo(expected));
        Assert.That(expected.Sum(l => l.Units), Is.GreaterThan(2900), "units with only rig faults are the only ones left out");
    }

    [Test]
    public void A_generated_fleet_flags_its_bad_lot_first()
    {
        var path = FleetStore(4000, soakCycles: 0);
        var plan = FleetPlan.Create(new FleetOptions(4000, 6, 5, 1));
        var bad = plan.Lots.Single(l => l.Bad).Name;

        var lots = path.Queries().Lots();

        Assert.That(lots.Lots[0].Lot, Is.EqualTo(bad));
        Assert.That(lots.Lots[0].PChart.Signal, Is.EqualTo(ControlSignal.AboveUpperLimit));
        Assert.That(lots.Lots.Skip(1).Select(l => l.PChart.Signal), Has.None.EqualTo(ControlSignal.AboveUpperLimit));
        Assert.That(lots.Lots[0].Wilson.Lower, Is.GreaterThan(0.1), "a bad lot fails about one chip in five");
    }

    [Test]
    public void Slot_health_soak_and_failure_modes_equal_the_statistics_over_every_row()
    {
        var queries = (FleetStore(2000, soakCycles: 30)).Queries();
        var rows = queries.Rows();

        Assert.That(queries.Slots(), Is.EqualTo(Breakdown.SlotHealth(rows)));
        Assert.That(queries.Soak().Builds, Is.EqualTo(SoakTrends.ByBootloader(rows)));
        var modes = queries.Modes();
        var expected = Breakdown.FailureModesByLot(rows).Where(l => l.FailureModes.Count > 0).ToList();
        Assert.That(modes.Select(m => m.Lot), Is.EqualTo(expected.Select(m => m.Lot)));
        for (var i = 0; i < modes.Count; i++)
        {
            Assert.That(modes[i].FailureModes, Is.EqualTo(expected[i].FailureModes), modes[i].Lot);
            Assert.That(modes[i].Signatures, Is.EqualTo(expected[i].Signatures), modes[i].Lot);
        }
    }

    [Test]
    public void A_soak_with_several_steps_per_cycle_counts_judged_cycles_and_failed_OTAs_and_factory_resets()
    {
        var soak = _stores.Fresh();
        var store = soak.Open();
        store.UpsertDevice("a1", "L1", T0);
        var run = store.StartRun(new RunInfo("rig", "hash", 1, "candidate", "soak", T0));
        void Row(string test, int cycle, Verdict verdict) =>
            store.RecordResult(new ResultRecord(run, "a1", 1, test, verdict, T0, T0, Cycle: cycle));
        // cycle 1 clean with a readback; cycle 2's factory reset fails, the Core is recovered; cycle 3's OTA fails;
        // cycle 4's OTA is a rig fault: the slot leaves, and that cycle tells nothing about the build
        Row("ota", 1, Verdict.Pass); Row("factory-reset", 1, Verdict.Pass); Row("dfu-readback", 1, Verdict.Pass);
        Row("ota", 2, Verdict.Pass); Row("factory-reset", 2, Verdict.Fail); Row("recovery", 2, Verdict.Pass);
        Row("ota", 3, Verdict.Fail); Row("recovery", 3, Verdict.Fail);
        Row("ota", 4, Verdict.RigFault);

        var queries = soak.Queries();
        var build = queries.Soak().Builds.Single();
        Assert.That((build.Bootloader, build.Cycles, build.Failures), Is.EqualTo(("candidate", 3L, 2)));
        Assert.That(queries.Soak().Builds, Is.EqualTo(SoakTrends.ByBootloader(queries.Rows())));
    }

    [Test]
    public void The_worn_slot_of_a_generated_fleet_is_the_suspect_one()
    {
        var plan = FleetPlan.Create(new FleetOptions(8000, 6, 5, 1));
        var worn = new FleetFastPath(plan, 8).WornSlot;
        var slots = (FleetStore(8000, soakCycles: 0)).Queries().Slots();
        Assert.That(slots.Where(s => s.Suspect).Select(s => s.Slot), Is.EqualTo(new[] { worn }));
    }

    [Test]
    public void Summaries_kept_by_single_writes_follow_retests_across_runs_rig_faults_and_lot_moves()
    {
        var path = _stores.Fresh();
        var store = path.Open();
        store.UpsertDevice("a1", "L1", T0);
        store.UpsertDevice("a2", "L1", T0);
        store.UpsertDevice("a3", "L1", T0);
        var first = store.StartRun(new RunInfo("rig", "h", 1, "BL14", "screen", T0));
        var at = T0;
        void Record(Guid run, string device, string test, Verdict verdict, int? cycle = null)
        {
            at = at.AddMinutes(1);
            store.RecordResult(new ResultRecord(run, device, 1, test, verdict, at, at.AddSeconds(20), Cycle: cycle));
        }
        Record(first, "a1", "dfu-readback", Verdict.Fail);
        Record(first, "a2", "dfu-readback", Verdict.RigFault);
        Record(first, "a3", "dfu-readback", Verdict.Pass);
        Record(first, "a3", "factory-reset", Verdict.Fail);
        Record(first, "b1", "dfu-readback", Verdict.Fail);      // never registered: "(unknown)"
        Record(first, "a3", "soak", Verdict.Fail, cycle: 4);    // soak judges the bootloader, not the chip
        var second = store.StartRun(new RunInfo("rig", "h", 1, "BL14", "screen", at));
        Record(second, "a1", "dfu-readback", Verdict.Pass);     // retested in a later run: the last word counts
        store.UpsertDevice("a3", "L2", at);                     // inventory corrected after the fact

        var queries = path.Queries();
        Assert.That(queries.LotCounts(), Is.EqualTo(new[]
        {
            new GroupCount("(unknown)", 1, 1),
            new GroupCount("L1", 0, 1),
            new GroupCount("L2", 1, 1),
        }));
        Assert.That(queries.LotCounts(), Is.EqualTo(LotReport.CountByLot(queries.Rows().Where(r => r.Cycle is null))));

        // Rebuilding from the rows (what an upgrade or a bulk load does) gives the same numbers.
        store.RebuildSummaries();
        Assert.That(path.Queries().LotCounts(), Is.EqualTo(queries.LotCounts()));
    }

    [Test]
    public void The_lot_table_equals_a_direct_query_of_the_results()
    {
        var path = FleetStore(1500, soakCycles: 3);
        var direct = DirectLotCounts(path);
        Assert.That(path.Queries().LotCounts().Select(g => (g.Name, g.Units, g.Failed)), Is.EqualTo(direct));
    }

    /// <summary>The counting rule written straight against the results table: no summaries, no C#.</summary>
    public static List<(string Lot, int Units, int Failed)> DirectLotCounts(string path) =>
        DirectLotCounts(new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False"));

    public static List<(string Lot, int Units, int Failed)> DirectLotCounts(TestStore store) => DirectLotCounts((System.Data.Common.DbConnection)store.Connect());

    private static List<(string Lot, int Units, int Failed)> DirectLotCounts(System.Data.Common.DbConnection connection)
    {
        using var db = connection;
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = """
            WITH latest AS (
                SELECT device_id, verdict,
                       ROW_NUMBER() OVER (PARTITION BY device_id, test ORDER BY started_at DESC, attempt DESC) AS rn
                FROM results WHERE cycle IS NULL),
            units AS (
                SELECT device_id, MAX(CASE WHEN verdict = 'fail' THEN 1 ELSE 0 END) AS failed,
                       MAX(CASE WHEN verdict <> 'rig-fault' THEN 1 ELSE 0 END) AS judged
                FROM latest WHERE rn = 1 GROUP BY device_id)
            SELECT COALESCE(d.lot, '(unknown)'), COUNT(*), SUM(u.failed)
            FROM units u LEFT JOIN devices d ON d.device_id = u.device_id
            WHERE u.judged = 1
            GROUP BY COALESCE(d.lot, '(unknown)') ORDER BY 1
            """;
        using var reader = cmd.ExecuteReader();
        var list = new List<(string, int, int)>();
        while (reader.Read())
            list.Add((reader.GetString(0), Convert.ToInt32(reader.GetValue(1), System.Globalization.CultureInfo.InvariantCulture),
                Convert.ToInt32(reader.GetValue(2), System.Globalization.CultureInfo.InvariantCulture)));
        return list;
    }

    [Test]
    public void A_lot_page_counts_its_defect_kinds_yields_and_lists_failed_devices_first()
    {
        var path = FleetStore(3000, soakCycles: 0);
        var queries = path.Queries();
        var bad = queries.Lots().Lots[0];

        var lot = queries.Lot(bad.Lot, devicesShown: 20)!;

        Assert.That(lot.Rate, Is.EqualTo(bad));
        Assert.That(lot.DevicesShown, Has.Count.EqualTo(20));
        Assert.That(lot.DevicesShown.Take(Math.Min(20, bad.Failed)).Select(d => d.Failed), Is.All.True);
        Assert.That(lot.Signatures.Kinds.Select(k => k.Name), Is.SupersetOf(new[] { DefectKinds.StuckBits, DefectKinds.EraseFailure }));
        Assert.That(lot.Signatures.StuckAt0 + lot.Signatures.StuckAt1, Is.EqualTo(lot.Signatures.ByBitPosition.Sum()), "every error bit has a position");
        Assert.That(lot.FinalYield.Rate, Is.LessThanOrEqualTo(1 - ((double)bad.Failed / bad.Units) + 1e-9));
        Assert.That(lot.FirstPassYield.Passed, Is.LessThanOrEqualTo(lot.FinalYield.Passed), "rig faults cost first-pass yield only");
        var attempts = queries.Rows().Where(r => r.Lot == bad.Lot && r.Cycle is null)
            .Select(r => new AttemptRecord(r.DeviceId, r.Test, r.Attempt, r.Verdict)).ToList();
        Assert.That(attempts.GroupBy(a => (a.DeviceId, a.Test)).Any(g => g.Count() > 1), "the lot has retests");
        Assert.That((lot.FirstPassYield, lot.FinalYield), Is.EqualTo((Yield.FirstPass(attempts), Yield.Final(attempts))), "the yields by the statistics' rule");
        Assert.That(queries.Lot("no-such-lot"), Is.Null);
    }
}
