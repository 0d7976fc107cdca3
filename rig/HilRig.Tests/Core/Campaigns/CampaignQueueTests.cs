using HilRig.Cli.Agent;
using HilRig.Core.Campaigns;
using HilRig.Core.Results;
using HilRig.Tests.Cli;
using HilRig.Tests.Support;
using Npgsql;

namespace HilRig.Tests.Campaigns;

/// <summary>
/// The campaign queue of fleet step 3 through the rigs' own PostgreSQL roles, in process: who gets which work item,
/// leases that expire, credits that need the rows first, and what a rig's role may not do.
/// </summary>
[Category("Integration")]
public class CampaignQueueTests
{
    private static readonly TimeSpan Beat = TimeSpan.FromSeconds(1);

    private string _admin = "";
    private string _suffix = "";
    private readonly Dictionary<string, CampaignQueue> _rigs = [];

    /// <summary>A rig's id in this test (roles are the server's, shared by every test database).</summary>
    private string Id(string rig) => $"{rig}-{_suffix}";

    [SetUp]
    public void CreateFleet()
    {
        _admin = TestPostgres.NewDatabase("queue");
        FleetSchema.Init(_admin);
        _rigs.Clear();
        _suffix = Guid.NewGuid().ToString("N")[..8];
        foreach (var rig in new[] { "rig-a", "rig-b" })
            _rigs[rig] = new CampaignQueue(FleetSchema.AddRig(_admin, Id(rig)).ConnectionString);
    }

    private void Plan(string name, int cyclesPerSlotTarget = 2)
    {
        var request = new CampaignRequest(name) { Bootloader = "candidate", Baseline = "BL14", Cycles = (2 * 8 * cyclesPerSlotTarget * CampaignPlanner.TargetLooks).ToString(System.Globalization.CultureInfo.InvariantCulture) };
        Assert.That(CampaignValidation.TryParse(request, out var campaign, out var errors), Is.True, string.Join("; ", errors));
        Assert.That(CampaignPlanner.TryPlan(campaign!, [new RigCapacity(Id("rig-a"), 8), new RigCapacity(Id("rig-b"), 8)], out var plan, out var error), Is.True, error);
        CampaignStore.Create(_admin, plan!, null);
    }

    private void Alive(string rig) => _rigs[rig].Heartbeat(8, 1000, "test", "idle", Beat);

    [Test]
    public void A_rig_gets_no_work_without_a_live_heartbeat_then_its_own_items_first_and_a_dead_rigs_items_after_its_heartbeat_stops()
    {
        Plan("q1");
        Assert.That(_rigs["rig-a"].Claim(TimeSpan.FromSeconds(30)), Is.Null, "no heartbeat, no work");

        Alive("rig-a");
        Alive("rig-b");
        var a1 = _rigs["rig-a"].Claim(TimeSpan.FromSeconds(30))!;
        var b1 = _rigs["rig-b"].Claim(TimeSpan.FromSeconds(30))!;
        var a2 = _rigs["rig-a"].Claim(TimeSpan.FromSeconds(30))!;
        // the planner's order: rig-a's candidate and baseline items of look 1, then rig-b's of look 2
        Assert.That((a1.Number, a1.Look, a1.Arm, a1.Bootloader), Is.EqualTo((1, 1, CampaignArm.Candidate, "candidate")));
        Assert.That((b1.Number, b1.Look), Is.EqualTo((3, 2)), "rig-b skips rig-a's items while rig-a is alive");
        Assert.That((a2.Number, a2.Arm, a2.Bootloader), Is.EqualTo((2, CampaignArm.Baseline, "BL14")));

        // rig-a goes quiet: after its heartbeat timeout its planned items go to rig-b, but rig-a's own claims stop
        Thread.Sleep(Beat + TimeSpan.FromMilliseconds(300));
        Alive("rig-b");
        var b2 = _rigs["rig-b"].Claim(TimeSpan.FromSeconds(30))!;
        Assert.That(b2.Number, Is.EqualTo(4), "rig-b's own baseline item of look 2 comes first in queue order");
        var b3 = _rigs["rig-b"].Claim(TimeSpan.FromSeconds(30))!;
        Assert.That((b3.Number, b3.PreviousHolder), Is.EqualTo((5, (string?)null)), "rig-a's next planned item, since rig-a's heartbeat stopped");
        Assert.That(_rigs["rig-a"].Claim(TimeSpan.FromSeconds(30)), Is.Null, "a rig whose heartbeat stopped gets nothing");
    }

    [Test]
    public void An_expired_lease_returns_the_item_with_its_credited_cycles_and_the_old_holder_learns_it_lost_it()
    {
        Plan("q2", cyclesPerSlotTarget: 3);
        Alive("rig-a");
        Alive("rig-b");
        var held = _rigs["rig-a"].Claim(TimeSpan.FromSeconds(1))!;
        Assert.That(held.CyclesPerSlot, Is.EqualTo(3));

        // crediting needs the run's rows in the fleet store first
        var run = Guid.CreateVersion7();
        var refused = Assert.Throws<FleetSyncException>(() => _rigs["rig-a"].Renew(held.LeaseId, run, 1, TimeSpan.FromSeconds(1)))!;
        Assert.That(refused.Message, Does.Contain("sync its rows"));
        InsertRun(run, Id("rig-a"));
        Assert.That(_rigs["rig-a"].Renew(held.LeaseId, run, 1, TimeSpan.FromSeconds(1)), Is.EqualTo(RenewOutcome.Ok));

        // rig-a stops renewing; its lease expires and rig-b takes the item over at cycle 2
        Thread.Sleep(TimeSpan.FromMilliseconds(1300));
        Alive("rig-b");
        var taken = _rigs["rig-b"].Claim(TimeSpan.FromSeconds(30))!;
        Assert.That((taken.Number, taken.CyclesDone, taken.PreviousHolder), Is.EqualTo((held.Number, 1, Id("rig-a"))));
        Assert.That(_rigs["rig-a"].Renew(held.LeaseId, run, 2, TimeSpan.FromSeconds(30)), Is.EqualTo(RenewOutcome.Lost));
        Assert.That(_rigs["rig-a"].Release(held.LeaseId), Is.EqualTo("lost"));

        var runB = Guid.CreateVersion7();
        InsertRun(runB, Id("rig-b"));
        Assert.That(_rigs["rig-b"].Renew(taken.LeaseId, runB, 3, TimeSpan.FromSeconds(30)), Is.EqualTo(RenewOutcome.Ok));
        Assert.That(_rigs["rig-b"].Release(taken.LeaseId), Is.EqualTo("done"));
        var central = TestStore.Postgres(_admin);
        var ranges = central.Rows($"SELECT rig_id, first_cycle, last_cycle FROM campaign_item_runs WHERE campaign = 'q2' AND number = {held.Number} ORDER BY first_cycle")
            .Select(r => ((string)r[0]!, (int)r[1]!, (int)r[2]!)).ToList();
        Assert.That(ranges, Is.EqualTo(new[] { (Id("rig-a"), 1, 1), (Id("rig-b"), 2, 3) }), "each item cycle credited to one run");
    }

    [Test]
    public void A_released_unfinished_item_goes_back_to_the_queue_and_a_cancelled_campaign_tells_holders_to_stop()
    {
        Plan("q3");
        Alive("rig-a");
        var held = _rigs["rig-a"].Claim(TimeSpan.FromSeconds(30))!;
        Assert.That(_rigs["rig-a"].Release(held.LeaseId), Is.EqualTo("queued"));
        var again = _rigs["rig-a"].Claim(TimeSpan.FromSeconds(30))!;
        Assert.That(again.Number, Is.EqualTo(held.Number));

        var cancel = CliHarness.Run("campaign", "cancel", "q3", "--to", _admin);
        Assert.That(cancel.Exit, Is.Zero, cancel.Error);
        Assert.That(_rigs["rig-a"].Renew(again.LeaseId, null, null, TimeSpan.FromSeconds(30)), Is.EqualTo(RenewOutcome.Stop));
        Assert.That(_rigs["rig-a"].Release(again.LeaseId), Is.EqualTo("skipped"));
        Assert.That(_rigs["rig-a"].Claim(TimeSpan.FromSeconds(30)), Is.Null, "nothing of a cancelled campaign is handed out");
        var list = CliHarness.Run("campaign", "list", "--to", _admin);
        Assert.That(list.Output, Does.Contain("q3").And.Contain("cancelled"));
    }

    [Test]
    public void A_rigs_role_may_read_campaigns_but_not_create_them_or_change_items_by_hand()
    {
        var rigConnection = FleetSchema.AddRig(_admin, Id("rig-c")).ConnectionString;
        new CampaignQueue(rigConnection).Heartbeat(8, 1, "test", "idle", Beat);
        var create = CliHarness.Run("campaign", "create", "q4", "--bootloader", "candidate", "--rigs", Id("rig-c"), "--to", rigConnection);
        Assert.That(create.Exit, Is.EqualTo(7), create.Error);
        Assert.That(create.Error.Trim().Split('\n'), Has.Length.EqualTo(1));
        Assert.That(create.Error, Does.Contain("fleet owner"));

        Plan("q5");
        using var db = new NpgsqlConnection(rigConnection);
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = "UPDATE campaign_items SET state = 'done'";
        var denied = Assert.Throws<PostgresException>(() => cmd.ExecuteNonQuery())!;
        Assert.That(denied.SqlState, Is.EqualTo("42501"));
        var status = CliHarness.Run("campaign", "status", "q5", "--to", rigConnection);
        Assert.That(status.Exit, Is.Zero, status.Error);
        Assert.That(status.Output, Does.Contain("0 done").And.Contain("undecided").IgnoreCase);
    }

    [Test]
    public void Bad_campaign_options_are_one_line_each_and_exit_2_with_nothing_created()
    {
        var bad = CliHarness.Run("campaign", "create", "q6", "--cycles", "0", "--alpha", "2", "--to", _admin);
        Assert.That(bad.Exit, Is.EqualTo(2));
        Assert.That(bad.Error.Trim().Split('\n'), Is.EqualTo(new[]
        {
            "hilrig: --cycles 0: valid: a whole number 1..100000000",
            "hilrig: --alpha 2: valid: a number above 0 and at most 0.5, e.g. 0.05",
        }));
        var noRig = CliHarness.Run("campaign", "create", "q7", "--rigs", "rig-z", "--to", _admin);
        Assert.That(noRig.Exit, Is.EqualTo(2));
        Assert.That(noRig.Error, Does.Contain("--rigs rig-z: no such rig"));
        var missing = CliHarness.Run("campaign", "status", "nope", "--to", _admin);
        Assert.That((missing.Exit, missing.Error.Trim()), Is.EqualTo((2, "hilrig: campaign nope: no such campaign (hilrig campaign list)")));
        Assert.That(TestStore.Postgres(_admin).Scalar("SELECT COUNT(*) FROM campaigns"), Is.Zero);
    }

    [Test]
    public void A_stored_soak_run_by_prefix_or_an_earlier_campaign_is_a_baseline_whose_counts_are_kept_and_decided_against()
    {
        var central = TestStore.Postgres(_admin);
        var lot = $"LOT-{_suffix}";
        central.Execute($"INSERT INTO devices (device_id, lot, first_seen) VALUES ('dev-{_suffix}', '{lot}', '2026-12-03T00:00:00.000Z')");
        var baselineRun = Guid.CreateVersion7();
        InsertRun(baselineRun, Id("rig-a"));
        InsertCycles(baselineRun, 1, 300, "pass");
        Alive("rig-a");

        // a prefix of the run id, as `hilrig runs` takes one: its 300 cycles without a failure become the baseline
        var prefix = baselineRun.ToString("N")[..20];
        var create = CliHarness.Run("campaign", "create", "vs-run", "--baseline", prefix, "--cycles", "16", "--rigs", Id("rig-a"), "--lots", lot, "--to", _admin);
        Assert.That(create.Exit, Is.Zero, create.Error);
        Assert.That(create.Output, Does.Contain($"against run {baselineRun:D}"));
        Assert.That(central.Rows("SELECT lot, mode, cycles, failures FROM campaign_baselines WHERE campaign = 'vs-run'").Select(r => ((string)r[0]!, r[1], (long)r[2]!, (long)r[3]!)),
            Is.EqualTo(new[] { (lot, (object?)null, 300L, 0L) }));
        Assert.That(central.Scalar("SELECT COUNT(*) FROM campaign_items WHERE campaign = 'vs-run' AND arm = 'baseline'"), Is.Zero, "a stored baseline is not run again");

        // the candidate's first item: every cycle fails (one Core credited here); against 300 clean cycles that is no-go at look 1
        Alive("rig-a");
        var item = _rigs["rig-a"].Claim(TimeSpan.FromSeconds(30))!;
        var candidateRun = Guid.CreateVersion7();
        InsertRun(candidateRun, Id("rig-a"));
        InsertCycles(candidateRun, 1, item.CyclesPerSlot, "fail");
        Assert.That(_rigs["rig-a"].Renew(item.LeaseId, candidateRun, item.CyclesPerSlot, TimeSpan.FromSeconds(30)), Is.EqualTo(RenewOutcome.Ok));
        Assert.That(_rigs["rig-a"].Release(item.LeaseId), Is.EqualTo("done"));
        var status = CliHarness.Run("campaign", "status", "vs-run", "--format", "json", "--to", _admin);
        Assert.That(status.Exit, Is.Zero, status.Error);
        using (var json = System.Text.Json.JsonDocument.Parse(status.Output))
        {
            var decision = json.RootElement.GetProperty("decision");
            Assert.That(decision.GetProperty("label").GetString(), Is.EqualTo("no-go"), decision.ToString());
            Assert.That(decision.GetProperty("summary").GetString(), Does.Contain(lot).And.Contain("slow-erase"));
            var overall = json.RootElement.GetProperty("overall");
            Assert.That((overall.GetProperty("baselineCycles").GetInt64(), overall.GetProperty("candidateFailures").GetInt32()), Is.EqualTo((300L, item.CyclesPerSlot)));
        }

        // that campaign's candidate arm is in turn the baseline of another
        var again = CliHarness.Run("campaign", "create", "vs-campaign", "--baseline", "vs-run", "--cycles", "16", "--rigs", Id("rig-a"), "--to", _admin);
        Assert.That(again.Exit, Is.Zero, again.Error);
        Assert.That(again.Output, Does.Contain("against campaign vs-run"));
        Assert.That(central.Rows("SELECT mode, cycles, failures FROM campaign_baselines WHERE campaign = 'vs-campaign'").Select(r => (r[0], (long)r[1]!, (long)r[2]!)),
            Is.EqualTo(new[] { ((object?)"slow-erase", (long)item.CyclesPerSlot, (long)item.CyclesPerSlot) }));

        // nothing of that name: one line, exit 2, nothing created
        var none = CliHarness.Run("campaign", "create", "vs-none", "--baseline", "no-such-thing", "--rigs", Id("rig-a"), "--to", _admin);
        Assert.That((none.Exit, none.Error.Trim().Split('\n').Length), Is.EqualTo((2, 1)), none.Error);
        Assert.That(none.Error, Does.Contain("--baseline no-such-thing: no campaign of that name and no soak run with that id"));
        Assert.That(central.Scalar("SELECT COUNT(*) FROM campaigns WHERE name = 'vs-none'"), Is.Zero);
    }

    [Test]
    public void A_screen_campaign_records_its_decision_when_its_last_batch_is_screened_and_list_and_status_show_it()
    {
        var central = TestStore.Postgres(_admin);
        var (good, bad) = ($"GOOD-{_suffix}", $"BAD-{_suffix}");
        Alive("rig-a");
        var create = CliHarness.Run("campaign", "create", "scr", "--kind", "screen", "--cores", "16", "--lots", $"{good},{bad}", "--rigs", Id("rig-a"), "--to", _admin);
        Assert.That(create.Exit, Is.Zero, create.Error);
        Assert.That(central.Scalar("SELECT COUNT(*) FROM campaign_items WHERE campaign = 'scr'"), Is.EqualTo(2), "16 Cores on a rig of 8 slots: two batches");

        // batch 1: eight Cores of the good lot, all pass; nothing to decide on one batch of two
        ScreenBatch("scr", good, failed: 0);
        Assert.That(CampaignAgent.Conclude(_rigs["rig-a"], "scr"), Is.Null, "undecided until every batch is screened");
        Assert.That(central.Scalar("SELECT COUNT(*) FROM campaigns WHERE name = 'scr' AND state = 'running' AND decision IS NULL"), Is.EqualTo(1));

        // batch 2, the last: eight Cores of the other lot, all fail. Its release finishes the campaign; the rig that ran it
        // then records the decision, as a soak's agent records its own
        ScreenBatch("scr", bad, failed: 8);
        Assert.That(central.Scalar("SELECT COUNT(*) FROM campaigns WHERE name = 'scr' AND state = 'finished'"), Is.EqualTo(1));
        var decided = CampaignAgent.Conclude(_rigs["rig-a"], "scr");
        Assert.That(decided, Is.Not.Null, "the rig that screened the last batch records the decision");
        Assert.That((decided!.Label, decided.NoGoLots), Is.EqualTo(("no-go", (IReadOnlyList<string>)[bad])));
        Assert.That(central.Rows("SELECT state, decision, decided_look, decided_by FROM campaigns WHERE name = 'scr'").Single(),
            Is.EqualTo(new object?[] { "decided", "no-go", 2, Id("rig-a") }));
        Assert.That(CampaignAgent.Conclude(_rigs["rig-a"], "scr"), Is.Null, "recorded once");

        var list = CliHarness.Run("campaign", "list", "--format", "json", "--to", _admin);
        Assert.That(list.Exit, Is.Zero, list.Error);
        using (var json = System.Text.Json.JsonDocument.Parse(list.Output))
        {
            var row = json.RootElement.GetProperty("campaigns").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "scr");
            Assert.That((row.GetProperty("state").GetString(), row.GetProperty("decision").GetString()), Is.EqualTo(("decided", "no-go")));
        }
        var table = CliHarness.Run("campaign", "list", "--to", _admin);
        Assert.That(table.Output, Does.Match(@"scr\s+screen\s+decided\s+2/2\s+no-go"));
        var status = CliHarness.Run("campaign", "status", "scr", "--format", "json", "--to", _admin);
        Assert.That(status.Exit, Is.Zero, status.Error);
        using (var json = System.Text.Json.JsonDocument.Parse(status.Output))
        {
            var root = json.RootElement;
            Assert.That((root.GetProperty("state").GetString(), root.GetProperty("recordedDecision").GetString(), root.GetProperty("recordedLook").GetInt32()),
                Is.EqualTo(("decided", "no-go", 2)));
            Assert.That(root.GetProperty("decision").GetProperty("label").GetString(), Is.EqualTo("no-go"), "what status computes is what was recorded");
        }
    }

    /// <summary>Claims the next screen batch as rig-a, stores its eight Cores of <paramref name="lot"/> (the first <paramref name="failed"/> failing), credits and releases it.</summary>
    private void ScreenBatch(string campaign, string lot, int failed)
    {
        var central = TestStore.Postgres(_admin);
        Alive("rig-a");
        var item = _rigs["rig-a"].Claim(TimeSpan.FromSeconds(30))!;
        Assert.That((item.Campaign, item.Kind, item.Cores), Is.EqualTo((campaign, CampaignKind.Screen, 8)));
        var run = Guid.CreateVersion7();
        InsertRun(run, Id("rig-a"));
        for (var slot = 1; slot <= 8; slot++)
        {
            var device = $"{lot}-{slot}".ToLowerInvariant();
            central.Execute($"INSERT INTO devices (device_id, lot, first_seen) VALUES ('{device}', '{lot}', '2026-12-03T00:00:00.000Z')");
            central.Execute(
                $"""
                INSERT INTO results (id, run_id, device_id, slot, test, cycle, attempt, verdict, failure_mode, started_at, ended_at)
                VALUES (gen_random_uuid()::text, '{run:D}', '{device}', {slot}, 'screen', NULL, 1, '{(slot <= failed ? "fail" : "pass")}',
                        {(slot <= failed ? "'slow-erase'" : "NULL")}, '2026-12-03T00:00:00.000Z', '2026-12-03T00:00:01.000Z')
                """);
        }
        Assert.That(_rigs["rig-a"].Renew(item.LeaseId, run, item.CyclesPerSlot, TimeSpan.FromSeconds(30)), Is.EqualTo(RenewOutcome.Ok));
        Assert.That(_rigs["rig-a"].Release(item.LeaseId), Is.EqualTo("done"));
    }

    private void InsertCycles(Guid run, int from, int to, string verdict) =>
        TestStore.Postgres(_admin).Execute(
            $"""
            INSERT INTO results (id, run_id, device_id, slot, test, cycle, attempt, verdict, failure_mode, started_at, ended_at)
            SELECT gen_random_uuid()::text, '{run:D}', 'dev-{_suffix}', 1, 'ota', g, 1, '{verdict}', {(verdict == "fail" ? "'slow-erase'" : "NULL")},
                   '2026-12-03T00:00:00.000Z', '2026-12-03T00:00:01.000Z'
            FROM generate_series({from}, {to}) g
            """);

    private void InsertRun(Guid run, string rig) =>
        TestStore.Postgres(_admin).Execute(
            $"INSERT INTO runs (id, rig_id, config_hash, seed, bootloader, kind, started_at, status) VALUES ('{run:D}', '{rig}', 'x', 1, 'candidate', 'soak', '2026-12-03T00:00:00.000Z', 'running')");
}
