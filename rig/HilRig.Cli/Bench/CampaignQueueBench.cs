using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Dapper;
using HilRig.Cli.Commands;
using HilRig.Core.Campaigns;
using HilRig.Core.Results;
using Npgsql;

namespace HilRig.Cli.Bench;

/// <summary>
/// <c>hilrig bench campaign-queue --agents N</c>: N in-process agents, each with its own rig role and connection, work
/// through campaigns in one PostgreSQL exactly as `hilrig agent` talks to it (heartbeat, claim FOR UPDATE SKIP LOCKED,
/// renew crediting a run, release), with no soak in between, so what is measured is the queue. Two phases: every
/// rig's own planned items (the normal case), then items planned on rigs that are gone, which every agent competes for.
/// Prints claim, renew and release latency (p50, p99, max) and items per second.
/// </summary>
internal static class CampaignQueueBench
{
    public static Command Command()
    {
        var agents = new Option<int>("--agents") { Description = "agents, each its own rig role and connection (1..180)", DefaultValueFactory = _ => 100 };
        var items = new Option<int>("--items-per-agent") { Description = "work items per agent and phase (1..1000)", DefaultValueFactory = _ => 20 };
        var connection = new Option<string?>("--connection") { Description = "a PostgreSQL server as a superuser; a fresh database is made there and dropped after (default: a throw-away server)" };
        var command = new Command("campaign-queue", "The campaign queue under N agents against one PostgreSQL: claim latency p50/p99 and work items per second");
        command.Options.Add(agents);
        command.Options.Add(items);
        command.Options.Add(connection);
        command.SetAction((ParseResult pr) =>
        {
            var (output, error) = (pr.InvocationConfiguration.Output, pr.InvocationConfiguration.Error);
            var n = pr.GetValue(agents);
            if (n is < 1 or > 180)
            {
                error.WriteLine($"hilrig: --agents {n}: valid: 1..180 (the throw-away server allows 200 connections)");
                return ExitCodes.BadInput;
            }
            var perAgent = pr.GetValue(items);
            if (perAgent is < 1 or > 1000)
            {
                error.WriteLine($"hilrig: --items-per-agent {perAgent}: valid: 1..1000");
                return ExitCodes.BadInput;
            }
            try
            {
                return Run(n, perAgent, pr.GetValue(connection), output, error);
            }
            catch (InvalidOperationException e)
            {
                error.WriteLine($"hilrig: {e.Message}");
                return ExitCodes.BadInput;
            }
            catch (NpgsqlException e)
            {
                error.WriteLine($"hilrig: PostgreSQL: {e.Message}");
                return ExitCodes.FleetUnreachable;
            }
        });
        return command;
    }

    private sealed record Timings(List<double> Claim, List<double> EmptyClaim, List<double> Renew, List<double> Release, int Items, TimeSpan Wall);

    private static int Run(int agents, int perAgent, string? connection, TextWriter output, TextWriter error)
    {
        using var server = BenchServer.Start(connection, durable: true);
        var admin = server.CreateDatabase();
        var roles = new List<string>();
        try
        {
            output.WriteLine(server.Description);
            FleetSchema.Init(admin);
            var tag = Guid.NewGuid().ToString("N")[..6];
            var rigs = Enumerable.Range(1, agents).Select(i => FleetSchema.AddRig(admin, $"bench-{i:000}", $"hilrig_bq_{tag}_{i:000}")).ToList();
            roles.AddRange(rigs.Select(r => r.Role));
            // runs to credit: the rows would come by sync; here only the run rows, made by the server
            using (var db = new NpgsqlConnection(admin))
            {
                db.Execute(
                    """
                    INSERT INTO runs (id, rig_id, config_hash, seed, bootloader, kind, started_at, status)
                    SELECT gen_random_uuid()::text, r.rig_id, 'bench', 1, 'candidate', 'soak', '2026-12-03T00:00:00.000Z', 'passed'
                    FROM fleet_rigs r, generate_series(1, @runs)
                    """, new { runs = 2 * perAgent + 10 });
            }
            var runs = Runs(admin);
            var queues = rigs.Select(r => new CampaignQueue(r.ConnectionString)).ToList();
            foreach (var q in queues)
                q.Heartbeat(8, Environment.ProcessId, "bench", "idle", TimeSpan.FromMinutes(10));

            // items come in pairs (candidate, baseline) per look: perAgent items per rig
            var own = PlanOn(rigs.Select(r => r.RigId), perAgent, "bench-own");
            CampaignStore.Create(admin, own, null);
            var ownTimings = Phase(queues, rigs.Select(r => runs[r.RigId]).ToList(), 0, perAgent);
            Print(output, $"own queues: {agents} agents, each its own {perAgent} items", ownTimings);

            // items planned on rigs without an agent: every agent competes for every item
            var shared = PlanOn(Enumerable.Range(1, agents).Select(i => $"gone-{i:000}"), perAgent, "bench-shared");
            CampaignStore.Create(admin, shared, null);
            var sharedTimings = Phase(queues, rigs.Select(r => runs[r.RigId]).ToList(), perAgent, (2 * perAgent) + 10);
            Print(output, $"shared queue: {agents} agents competing for {shared.Items.Count} items", sharedTimings);
            var done = Scalar(admin, "SELECT COUNT(*) FROM campaign_items WHERE state = 'done'");
            var credited = Scalar(admin, "SELECT COUNT(*) FROM campaign_item_runs");
            output.WriteLine($"check: {done} items done, {credited} credited runs, {own.Items.Count + shared.Items.Count} planned (each item claimed and credited once)");
            return done == own.Items.Count + shared.Items.Count && credited == done ? ExitCodes.Ok : ExitCodes.DutFailed;
        }
        finally
        {
            foreach (var role in roles)
                server.Owns(role);
        }
    }

    /// <summary>A campaign of perRig items on each rig: 1 slot, 1 cycle per item (the queue does not care what an item runs).</summary>
    private static CampaignPlan PlanOn(IEnumerable<string> rigs, int perRig, string name)
    {
        var capacities = rigs.Select(r => new RigCapacity(r, 1)).ToList();
        var looks = Math.Max(1, perRig / 2);
        var request = new CampaignRequest(name) { Cycles = ((long)capacities.Count * looks).ToString(CultureInfo.InvariantCulture) };
        if (!CampaignValidation.TryParse(request, out var campaign, out var errors)) throw new InvalidOperationException(string.Join("; ", errors));
        if (!CampaignPlanner.TryPlan(campaign!, capacities, out var plan, out var why)) throw new InvalidOperationException(why);
        return plan!;
    }

    /// <summary>Every agent on its own thread, started together: claim, credit the item to one of its runs, release, until no item is left for it.</summary>
    private static Timings Phase(IReadOnlyList<CampaignQueue> queues, IReadOnlyList<List<Guid>> runs, int firstRun, int lastRun)
    {
        var lease = TimeSpan.FromSeconds(60);
        var claim = new List<double>();
        var empty = new List<double>();
        var renew = new List<double>();
        var release = new List<double>();
        var items = 0;
        using var start = new Barrier(queues.Count + 1);
        var threads = queues.Select((q, i) => new Thread(() =>
        {
            var mine = (Claim: new List<double>(), Empty: new List<double>(), Renew: new List<double>(), Release: new List<double>());
            var next = firstRun;
            start.SignalAndWait();
            var clock = Stopwatch.StartNew();
            while (next < Math.Min(lastRun, runs[i].Count))
            {
                clock.Restart();
                var item = q.Claim(lease);
                var ms = clock.Elapsed.TotalMilliseconds;
                if (item is null)
                {
                    mine.Empty.Add(ms);
                    break;
                }
                mine.Claim.Add(ms);
                clock.Restart();
                q.Renew(item.LeaseId, runs[i][next++], item.CyclesPerSlot, lease);
                mine.Renew.Add(clock.Elapsed.TotalMilliseconds);
                clock.Restart();
                q.Release(item.LeaseId);
                mine.Release.Add(clock.Elapsed.TotalMilliseconds);
            }
            lock (claim)
            {
                claim.AddRange(mine.Claim);
                empty.AddRange(mine.Empty);
                renew.AddRange(mine.Renew);
                release.AddRange(mine.Release);
                items += mine.Claim.Count;
            }
        })).ToList();
        foreach (var t in threads) t.Start();
        start.SignalAndWait();
        var wall = Stopwatch.StartNew();
        foreach (var t in threads) t.Join();
        return new Timings(claim, empty, renew, release, items, wall.Elapsed);
    }

    private static void Print(TextWriter output, string phase, Timings t)
    {
        var c = CultureInfo.InvariantCulture;
        output.WriteLine(string.Create(c, $"{phase}: {t.Items} items in {t.Wall.TotalSeconds:0.00} s = {t.Items / t.Wall.TotalSeconds:0} items/s (claim + renew + release each)"));
        output.WriteLine(string.Create(c, $"  claim   {Line(t.Claim)}"));
        output.WriteLine(string.Create(c, $"  renew   {Line(t.Renew)}"));
        output.WriteLine(string.Create(c, $"  release {Line(t.Release)}"));
        if (t.EmptyClaim.Count > 0) output.WriteLine(string.Create(c, $"  claim with nothing left {Line(t.EmptyClaim)}"));
    }

    private static string Line(List<double> ms)
    {
        if (ms.Count == 0) return "-";
        var sorted = ms.Order().ToList();
        double P(double q) => sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(q * sorted.Count) - 1)];
        return string.Create(CultureInfo.InvariantCulture, $"p50 {P(0.5):0.00} ms, p99 {P(0.99):0.00} ms, max {sorted[^1]:0.00} ms ({ms.Count})");
    }

    private static Dictionary<string, List<Guid>> Runs(string admin)
    {
        using var db = new NpgsqlConnection(admin);
        return db.Query<(string Rig, string Id)>("SELECT rig_id, id FROM runs ORDER BY rig_id, id")
            .GroupBy(r => r.Rig).ToDictionary(g => g.Key, g => g.Select(r => Guid.Parse(r.Id)).ToList());
    }

    private static long Scalar(string cs, string sql)
    {
        using var db = new NpgsqlConnection(cs);
        return db.ExecuteScalar<long>(sql);
    }
}
