using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using HilRig.Core.Results;
using HilRig.Tests.Cli;
using HilRig.Tests.Support;

namespace HilRig.Tests.Campaigns;

/// <summary>
/// Four simulated rigs, each its own `hilrig agent` process with its own SQLite store, rig id, seed and PostgreSQL role,
/// work for campaigns created in one fleet database. Every rig holds the same lots: slots 1-4 SST25-1348A (healthy),
/// slots 5-8 SST25-1402B with { slow: 3 } chips whose erases outlast the candidate bootloader's SPI busy timeout.
/// </summary>
[Category("Integration")]
[NonParallelizable]
public class CampaignAgentsTests
{
    private const string SlowLot = "SST25-1402B";
    private const string HealthyLot = "SST25-1348A";
    private static readonly string[] SlowLotCores = TestRigs.DefaultCores((5, "{ slow: 3 }"), (6, "{ slow: 3 }"), (7, "{ slow: 3 }"), (8, "{ slow: 3 }"));

    private string _folder = "";
    private string _admin = "";
    private TestStore _central = null!;
    private readonly List<Rig> _rigs = [];

    private sealed class Rig(string id, string config)
    {
        public string Id { get; } = id;
        public string Config { get; } = config;
        public Process? Agent { get; set; }
        public ConcurrentQueue<string> Log { get; } = new();
    }

    [OneTimeSetUp]
    public void StartFleetAndAgents()
    {
        _folder = Directory.CreateTempSubdirectory("hilrig-campaign-").FullName;
        _admin = TestPostgres.NewDatabase("campaign");
        FleetSchema.Init(_admin);
        _central = TestStore.Postgres(_admin);
        var suffix = Guid.NewGuid().ToString("N")[..6];
        for (var i = 1; i <= 4; i++)
        {
            var rigId = $"rig-{i}-{suffix}";
            var registered = FleetSchema.AddRig(_admin, rigId);
            var config = TestRigs.WriteConfig(SlowLotCores, seed: 100 + i);
            File.WriteAllText(config, File.ReadAllText(config).Replace("rigId: sim-rig-01", $"rigId: {rigId}", StringComparison.Ordinal)
                + $"fleet:\n  connectionString: \"{registered.ConnectionString}\"\n");
            _rigs.Add(new Rig(rigId, config));
        }
        foreach (var rig in _rigs)
            Start(rig);
        WaitFor(() => _central.Scalar("SELECT COUNT(*) FROM fleet_agents WHERE fleet_agent_alive(rig_id)") == 4, TimeSpan.FromSeconds(60), "four live agents");
    }

    [OneTimeTearDown]
    public void StopAgents()
    {
        foreach (var rig in _rigs.Where(r => r.Agent is { HasExited: false }))
        {
            rig.Agent!.Kill();
            rig.Agent.WaitForExit();
        }
        foreach (var rig in _rigs)
            rig.Agent?.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    [Test]
    public void Candidate_against_BL14_ends_no_go_naming_the_slow_lot_and_the_same_when_an_agent_is_SIGKILLed_mid_item()
    {
        // 960 candidate cycles on 32 slots: 3 cycles per slot per item, 40 looks; the slow lot's evidence crosses its
        // boundary long before the plan's end
        var first = RunCampaign("bl-candidate-a", "candidate", "BL14", cycles: 960);
        var decision = first.GetProperty("decision");
        Assert.That(decision.GetProperty("label").GetString(), Is.EqualTo("no-go"), decision.ToString());
        Assert.That(decision.GetProperty("noGoLots").EnumerateArray().Select(e => e.GetString()), Is.EqualTo(new[] { SlowLot }));
        var summary = decision.GetProperty("summary").GetString()!;
        Assert.That(summary, Does.Contain(SlowLot));
        var modes = decision.GetProperty("drivingModes").EnumerateArray().Select(m => m.GetProperty("mode").GetString()).ToList();
        Assert.That(modes, Is.Not.Empty);
        Assert.That(summary, Does.Contain(modes[0]));
        var slow = Lot(first, SlowLot);
        var healthy = Lot(first, HealthyLot);
        Assert.That(slow.GetProperty("candidateFailures").GetInt32(), Is.EqualTo(slow.GetProperty("candidateCycles").GetInt64()), "every cycle of a slow chip fails under the candidate");
        Assert.That((slow.GetProperty("baselineFailures").GetInt32(), healthy.GetProperty("candidateFailures").GetInt32(), healthy.GetProperty("baselineFailures").GetInt32()), Is.EqualTo((0, 0, 0)));
        Assert.That(first.GetProperty("state").GetString(), Is.EqualTo("decided"));
        AssertEachLookCreditedExactly("bl-candidate-a", first);

        // the same campaign again; rig 1's agent is SIGKILLed once it has credited a cycle of its first item
        var victim = _rigs[0];
        var second = RunCampaign("bl-candidate-b", "candidate", "BL14", cycles: 960, during: () =>
        {
            WaitFor(() => _central.Scalar($"SELECT COUNT(*) FROM campaign_items WHERE campaign = 'bl-candidate-b' AND leased_by = '{victim.Id}' AND state = 'leased' AND cycles_done >= 1") > 0,
                TimeSpan.FromMinutes(3), "rig 1 credited a cycle of an item it still holds");
            victim.Agent!.Kill();
            victim.Agent.WaitForExit();
        });
        var takenOver = _central.Rows(
            $"SELECT number, COUNT(DISTINCT rig_id) FROM campaign_item_runs WHERE campaign = 'bl-candidate-b' GROUP BY number HAVING COUNT(DISTINCT rig_id) > 1");
        Assert.That(takenOver, Is.Not.Empty, "another rig finished the item rig 1 held");
        var lostItem = Convert.ToInt32(takenOver[0][0], CultureInfo.InvariantCulture);
        Assert.That(_central.Scalar($"SELECT COUNT(*) FROM campaign_items WHERE campaign = 'bl-candidate-b' AND number = {lostItem} AND state = 'done' AND leased_by <> '{victim.Id}'"), Is.EqualTo(1));
        AssertEachLookCreditedExactly("bl-candidate-b", second);

        // the same decision on the same evidence: scheduling and the lost rig change nothing
        Assert.That(Evidence(second), Is.EqualTo(Evidence(first)));

        // rig 1 comes back: its agent sends what the killed one stored but never credited; nothing is counted twice
        Start(victim);
        WaitFor(() => victim.Log.Any(l => l.Contains("agent for rig", StringComparison.Ordinal)), TimeSpan.FromSeconds(60), "rig 1's agent back");
        Assert.That(Evidence(Status("bl-candidate-b")), Is.EqualTo(Evidence(first)));
    }

    [Test]
    public void BL14_against_BL14_never_ends_no_go_and_agents_stop_cleanly_on_SIGTERM()
    {
        var status = RunCampaign("bl14-control", "BL14", "BL14", cycles: 64);
        var decision = status.GetProperty("decision");
        Assert.That(decision.GetProperty("label").GetString(), Is.AnyOf("go", "undecided"), decision.ToString());
        // a decision reached on the last look is recorded like an earlier one; undecided, the plan simply ran to its end
        var label = decision.GetProperty("label").GetString();
        Assert.That((status.GetProperty("state").GetString(), status.GetProperty("recordedDecision").GetString()),
            Is.EqualTo(label == "undecided" ? ("finished", (string?)null) : ("decided", label)));
        Assert.That(status.GetProperty("candidateCycles").GetInt64(), Is.EqualTo(64));
        Assert.That(status.GetProperty("baselineCycles").GetInt64(), Is.EqualTo(64));
        Assert.That(decision.GetProperty("looksComplete").GetInt32(), Is.EqualTo(decision.GetProperty("looksPlanned").GetInt32()));

        var table = CliHarness.Run("campaign", "status", "bl14-control", "--to", _admin);
        Assert.That(table.Exit, Is.Zero, table.Error);
        Assert.That(table.Output, Does.Contain("UNDECIDED").Or.Contain("GO:"));
        foreach (var rig in _rigs)
            Assert.That(table.Output, Does.Contain(rig.Id));

        foreach (var rig in _rigs.Where(r => r.Agent is { HasExited: false }))
            Assert.That(PosixSignals.Terminate(rig.Agent!.Id), Is.Zero);
        foreach (var rig in _rigs.Where(r => r.Agent is not null))
        {
            Assert.That(rig.Agent!.WaitForExit(TimeSpan.FromSeconds(60)), rig.Id);
            Assert.That(rig.Agent.ExitCode, Is.Zero, string.Join("\n", rig.Log));
        }
        Assert.That(_central.Scalar("SELECT COUNT(*) FROM fleet_agents WHERE state = 'stopped'"), Is.EqualTo(4));
        foreach (var rig in _rigs)
            Start(rig);
        WaitFor(() => _central.Scalar("SELECT COUNT(*) FROM fleet_agents WHERE fleet_agent_alive(rig_id)") == 4, TimeSpan.FromSeconds(60), "four live agents again");
    }

    [Test]
    public void A_screen_campaign_waits_while_its_rigs_slots_are_in_maintenance_then_is_screened_by_the_agent_with_yield_per_lot()
    {
        // rig 4 stops; while it is down every slot of it goes to maintenance, and a screen campaign is planned on it
        var rig = _rigs[3];
        Assert.That(PosixSignals.Terminate(rig.Agent!.Id), Is.Zero);
        Assert.That(rig.Agent.WaitForExit(TimeSpan.FromSeconds(60)), Is.True);
        var create = CliHarness.Run("campaign", "create", "screen-r4", "--kind", "screen", "--cores", "8", "--lots", $"{HealthyLot},{SlowLot}", "--rigs", rig.Id, "--to", _admin);
        Assert.That(create.Exit, Is.Zero, create.Error);
        foreach (var slot in Enumerable.Range(1, 8))
        {
            var (exit, _, error) = CliHarness.Run("slots", "set", slot.ToString(CultureInfo.InvariantCulture), "maintenance", "--config", rig.Config, "--reason", "relay board swap");
            Assert.That(exit, Is.Zero, error);
        }

        // back up, it reports no usable slot and claims nothing, though the item is its own and queued
        Start(rig);
        WaitFor(() => rig.Log.Any(l => l.Contains("every slot is quarantined or in maintenance", StringComparison.Ordinal)), TimeSpan.FromSeconds(60), "rig 4 saying it claims nothing");
        WaitFor(() => _central.Scalar($"SELECT COUNT(*) FROM fleet_agents WHERE rig_id = '{rig.Id}' AND slots = 0 AND fleet_agent_alive(rig_id)") == 1, TimeSpan.FromSeconds(30), "rig 4 alive with 0 usable slots");
        Thread.Sleep(TimeSpan.FromSeconds(2));
        Assert.That(_central.Scalar("SELECT COUNT(*) FROM campaign_items WHERE campaign = 'screen-r4' AND state = 'queued' AND attempts = 0"), Is.EqualTo(1), "no claim from a rig with every slot in maintenance");
        var planned = CliHarness.Run("campaign", "create", "screen-r4-more", "--kind", "screen", "--cores", "8", "--rigs", rig.Id, "--to", _admin);
        Assert.That((planned.Exit, planned.Error.Trim().Split('\n').Length), Is.EqualTo((2, 1)), planned.Error);
        Assert.That(planned.Error, Does.Contain($"rig {rig.Id}: no usable slot"));

        // the slots return (all at once: the agent is stopped meanwhile, else it would take the batch on the first slot back);
        // the agent claims the batch and screens it with screen's engine, rows synced and counted
        Assert.That(PosixSignals.Terminate(rig.Agent!.Id), Is.Zero);
        Assert.That(rig.Agent.WaitForExit(TimeSpan.FromSeconds(60)), Is.True);
        foreach (var slot in Enumerable.Range(1, 8))
        {
            var (exit, _, error) = CliHarness.Run("slots", "set", slot.ToString(CultureInfo.InvariantCulture), "good", "--config", rig.Config);
            Assert.That(exit, Is.Zero, error);
        }
        Start(rig);
        // screened, the decision is recorded by the agent that screened the last batch
        WaitFor(() => _central.Scalar("SELECT COUNT(*) FROM campaigns WHERE name = 'screen-r4' AND state = 'decided' AND decision IS NOT NULL") == 1, TimeSpan.FromMinutes(5), "the screen campaign decided");
        var status = Status("screen-r4");
        Assert.That(_central.Scalar($"SELECT COUNT(*) FROM runs r JOIN campaign_item_runs cr ON cr.run_id = r.id WHERE cr.campaign = 'screen-r4' AND r.kind = 'screen' AND r.rig_id = '{rig.Id}'"), Is.EqualTo(1));
        Assert.That(_central.Scalar("SELECT COUNT(DISTINCT r.test) FROM results r JOIN campaign_item_runs cr ON cr.run_id = r.run_id WHERE cr.campaign = 'screen-r4' AND r.test IN ('dfu-readback', 'screen')"), Is.EqualTo(2),
            "the readback's rows and the verdicts, as `hilrig screen` stores them");
        var units = status.GetProperty("units").EnumerateArray().ToDictionary(u => u.GetProperty("lot").GetString()!, u => u);
        Assert.That(units.Keys, Is.EquivalentTo(new[] { HealthyLot, SlowLot }));
        foreach (var u in units.Values)
        {
            Assert.That(u.GetProperty("units").GetInt64(), Is.EqualTo(4), "four Cores of each lot in the batch");
            var yield = u.GetProperty("yieldPercent");
            var passed = 100.0 * (4 - u.GetProperty("failed").GetInt64()) / 4;
            Assert.That(yield.GetProperty("point").GetDouble(), Is.EqualTo(passed).Within(1e-6));
            Assert.That(yield.GetProperty("lower").GetDouble(), Is.LessThanOrEqualTo(passed));
            Assert.That(yield.GetProperty("upper").GetDouble(), Is.GreaterThanOrEqualTo(passed));
        }
        var decision = status.GetProperty("decision");
        var noGo = units.Values.Where(u => u.GetProperty("noGo").GetBoolean()).Select(u => u.GetProperty("lot").GetString()).ToList();
        Assert.That(decision.GetProperty("label").GetString(), Is.EqualTo(noGo.Count > 0 ? "no-go" : "go"), decision.ToString());
        Assert.That(decision.GetProperty("noGoLots").EnumerateArray().Select(e => e.GetString()), Is.EqualTo(noGo));
        Assert.That(status.GetProperty("recordedDecision").GetString(), Is.EqualTo(decision.GetProperty("label").GetString()), "recorded as computed");
        var table = CliHarness.Run("campaign", "status", "screen-r4", "--to", _admin);
        Assert.That(table.Output, Does.Contain("yield % [95 %]").And.Contain("1 of 1 batches screened"));
        // whatever the screen made of rig 4's slots, the soak tests after this one get all eight
        Assert.That(PosixSignals.Terminate(rig.Agent!.Id), Is.Zero);
        Assert.That(rig.Agent.WaitForExit(TimeSpan.FromSeconds(60)), Is.True);
        foreach (var slot in Enumerable.Range(1, 8))
        {
            var (exit, _, error) = CliHarness.Run("slots", "set", slot.ToString(CultureInfo.InvariantCulture), "good", "--config", rig.Config);
            Assert.That(exit, Is.Zero, error);
        }
        Start(rig);
        WaitFor(() => _central.Scalar("SELECT COUNT(*) FROM fleet_agents WHERE fleet_agent_alive(rig_id) AND slots = 8") == 4, TimeSpan.FromSeconds(60), "four live agents with eight slots");
    }

    /// <summary>Each complete look's items are credited exactly their planned cycles, in ranges that neither overlap nor leave gaps.</summary>
    private void AssertEachLookCreditedExactly(string campaign, JsonElement status)
    {
        var looks = status.GetProperty("decision").GetProperty("looksComplete").GetInt32();
        var items = _central.Rows($"SELECT number, cycles_per_slot FROM campaign_items WHERE campaign = '{campaign}' AND look <= {looks} ORDER BY number");
        Assert.That(items, Has.Count.EqualTo(2 * looks));
        foreach (var item in items)
        {
            var number = Convert.ToInt32(item[0], CultureInfo.InvariantCulture);
            var perSlot = Convert.ToInt32(item[1], CultureInfo.InvariantCulture);
            var ranges = _central.Rows($"SELECT first_cycle, last_cycle FROM campaign_item_runs WHERE campaign = '{campaign}' AND number = {number} ORDER BY first_cycle")
                .Select(r => (First: Convert.ToInt32(r[0], CultureInfo.InvariantCulture), Last: Convert.ToInt32(r[1], CultureInfo.InvariantCulture))).ToList();
            var next = 1;
            foreach (var (from, to) in ranges)
            {
                Assert.That(from, Is.EqualTo(next), $"item {number}: ranges {string.Join(", ", ranges)}");
                next = to + 1;
            }
            Assert.That(next, Is.EqualTo(perSlot + 1), $"item {number}: every cycle credited");
            var cycles = status.GetProperty("items").EnumerateArray().Single(i => i.GetProperty("number").GetInt32() == number);
            Assert.That(cycles.GetProperty("cyclesDone").GetInt32(), Is.EqualTo(perSlot));
        }
        // the evidence is the looks up to the decision: each of their cycles judged once, 8 slots x cycles per slot per item
        var decided = status.GetProperty("decision").GetProperty("decidedAtLook") is { ValueKind: JsonValueKind.Number } at ? at.GetInt32() : looks;
        var overall = status.GetProperty("overall");
        Assert.That(overall.GetProperty("candidateCycles").GetInt64(), Is.EqualTo(decided * 8L * items.Select(i => Convert.ToInt64(i[1], CultureInfo.InvariantCulture)).First()),
            "every credited cycle judged once: looks x 8 slots x cycles per slot");
        Assert.That(overall.GetProperty("baselineCycles").GetInt64(), Is.EqualTo(overall.GetProperty("candidateCycles").GetInt64()));
    }

    private static string Evidence(JsonElement status)
    {
        var d = status.GetProperty("decision");
        var lots = status.GetProperty("lots").EnumerateArray().Select(l =>
            $"{l.GetProperty("lot").GetString()}: {l.GetProperty("candidateCycles")}/{l.GetProperty("candidateFailures")} vs {l.GetProperty("baselineCycles")}/{l.GetProperty("baselineFailures")} llr {l.GetProperty("logLikelihoodRatio")}");
        return $"{d.GetProperty("label").GetString()} at look {d.GetProperty("decidedAtLook")}: {d.GetProperty("summary").GetString()} | {string.Join(" | ", lots)}";
    }

    private static JsonElement Lot(JsonElement status, string lot) =>
        status.GetProperty("lots").EnumerateArray().Single(l => l.GetProperty("lot").GetString() == lot);

    private JsonElement RunCampaign(string name, string candidate, string baseline, int cycles, Action? during = null)
    {
        var create = CliHarness.Run("campaign", "create", name, "--kind", "soak", "--bootloader", candidate, "--baseline", baseline,
            "--cycles", cycles.ToString(CultureInfo.InvariantCulture), "--lots", $"{HealthyLot},{SlowLot}",
            "--rigs", string.Join(",", _rigs.Select(r => r.Id)), "--to", _admin);
        Assert.That(create.Exit, Is.Zero, create.Error);
        TestContext.Out.WriteLine(create.Output);
        during?.Invoke();
        WaitFor(() => _central.Scalar($"SELECT COUNT(*) FROM campaigns WHERE name = '{name}' AND state <> 'running'") == 1
                      && _central.Scalar($"SELECT COUNT(*) FROM campaign_items WHERE campaign = '{name}' AND state = 'leased'") == 0,
            TimeSpan.FromMinutes(8), $"campaign {name} over and every lease given back");
        var status = Status(name);
        TestContext.Out.WriteLine(CliHarness.Run("campaign", "status", name, "--to", _admin).Output);
        return status;
    }

    private JsonElement Status(string name)
    {
        var json = CliHarness.Run("campaign", "status", name, "--format", "json", "--to", _admin);
        Assert.That(json.Exit, Is.Zero, json.Error);
        return JsonDocument.Parse(json.Output).RootElement.Clone();
    }

    private void WaitFor(Func<bool> condition, TimeSpan timeout, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > timeout)
                Assert.Fail($"timed out waiting for {what}; agents said:\n" + string.Join("\n", _rigs.SelectMany(r => r.Log.TakeLast(15).Select(l => $"{r.Id}: {l}"))));
            Thread.Sleep(100);
        }
    }

    private static void Start(Rig rig)
    {
        rig.Agent?.Dispose();
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { Path.Combine(TestContext.CurrentContext.TestDirectory, "hilrig.dll"), "agent", "--config", rig.Config, "--lease", "8", "--heartbeat", "2", "--poll", "0.3" })
            start.ArgumentList.Add(a);
        var p = Process.Start(start)!;
        // read both streams as they come: a full pipe would stop the agent
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) rig.Log.Enqueue(e.Data); };
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) rig.Log.Enqueue(e.Data); };
        p.BeginErrorReadLine();
        p.BeginOutputReadLine();
        rig.Agent = p;
    }
}
