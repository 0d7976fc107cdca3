using HilRig.Core.Procedures;
using HilRig.Core.Results;
using HilRig.Reports.Html;
using HilRig.Reports.Queries;
using HilRig.Tests.Support;

namespace HilRig.Tests.Dashboard;

/// <summary>
/// The rigs page tells rig from rig by their pace and their fixtures: results per day over a rig's last days, and its
/// slots by stored health (what `hilrig slots` decided on the rig), on a rig's own store and a fleet's alike.
/// </summary>
[TestFixture(StoreProvider.Sqlite)]
[TestFixture(StoreProvider.Postgres, Category = "Integration")]
public class RigsPageTests(StoreProvider provider)
{
    private static readonly DateTimeOffset Day0 = new(2026, 3, 1, 8, 0, 0, TimeSpan.Zero);
    private StoreProviders _stores = null!;

    [OneTimeSetUp]
    public void CreateProvider() => _stores = new StoreProviders(provider, "rigspage");

    [OneTimeTearDown]
    public void RemoveStores() => _stores.Dispose();

    /// <summary>Rig a: 10 results on each of 10 days (days 0-9); rig b: 6 results on day 20 and 2 on day 22.</summary>
    private static void Record(ResultsStore store)
    {
        void Results(string rig, int day, int count)
        {
            var at = Day0.AddDays(day);
            var run = store.StartRun(new RunInfo(rig, "h", 1, "BL14", "screen", at));
            for (var i = 0; i < count; i++)
                store.RecordResult(new ResultRecord(run, $"{rig}-{day}-{i}", 1 + (i % 4), "dfu-readback", i == 0 ? Verdict.Fail : Verdict.Pass,
                    at.AddMinutes(i), at.AddMinutes(i).AddSeconds(20)));
        }
        for (var day = 0; day < 10; day++)
            Results("rig-a", day, 10);
        Results("rig-b", 20, 6);
        Results("rig-b", 22, 2);
    }

    [Test]
    public void Each_rig_shows_its_results_per_day_over_its_last_seven_days_and_its_slots_by_health()
    {
        var test = _stores.Fresh();
        var store = test.Open();
        Record(store);
        store.SetSlotHealth("rig-a", 1, SlotHealthState.Good, "golden pass", Day0);
        store.SetSlotHealth("rig-a", 2, SlotHealthState.Good, "golden pass", Day0);
        store.SetSlotHealth("rig-a", 3, SlotHealthState.Suspect, "1 device(s) with a slot rig fault", Day0);
        store.SetSlotHealth("rig-a", 4, SlotHealthState.Quarantined, "3 device(s) with a slot rig fault", Day0);
        store.SetSlotHealth("rig-b", 1, SlotHealthState.Maintenance, "relay replaced", Day0);

        var view = test.Queries().Rigs(ResultFilter.None);

        var a = view.Rigs.Single(r => r.RigId == "rig-a");
        var b = view.Rigs.Single(r => r.RigId == "rig-b");
        Assert.That(a.ResultsPerDay, Is.EqualTo(10.0), "days 3-9: 70 results in 7 days");
        Assert.That(b.ResultsPerDay, Is.EqualTo(8.0 / 3), "days 20-22 (its first day is later than 7 days back): 8 results in 3 calendar days");
        Assert.That(a.Results, Is.EqualTo(100));
        Assert.That(b.Results, Is.EqualTo(8));
        Assert.That(a.SlotHealth, Is.EqualTo(new RigSlotHealth(Good: 2, Suspect: 1, Quarantined: 1, Maintenance: 0, Unknown: 0)));
        Assert.That(b.SlotHealth, Is.EqualTo(new RigSlotHealth(0, 0, 0, 1, 0)));

        var csv = DashboardTables.Rigs(view).ToCsv();
        Assert.That(csv.Split('\n')[0], Does.Contain("resultsPerDay").And.Contain("slotsSuspect").And.Contain("slotsQuarantined"));
        var html = HtmlPages.Rigs(view, new PageFilter(ResultFilter.None, ["rig-a", "rig-b"], []));
        Assert.That(html, Does.Contain("Slots quarantined").And.Contain("Results/day (7 d)"));
    }

    [Test]
    public void A_date_filter_counts_the_days_inside_it_only()
    {
        var test = _stores.Fresh();
        Record(test.Open());

        var filter = ResultFilter.TryParse("2026-03-01", "2026-03-02", null, null, out var f, out var problem) ? f : throw new AssertionException(problem);
        var a = test.Queries().Rigs(filter).Rigs.Single(r => r.RigId == "rig-a");

        Assert.That(a.Results, Is.EqualTo(20));
        Assert.That(a.ResultsPerDay, Is.EqualTo(10.0), "two days of 10");
        Assert.That(a.SlotHealth, Is.EqualTo(RigSlotHealth.None), "no health stored: nothing to count");
    }
}
