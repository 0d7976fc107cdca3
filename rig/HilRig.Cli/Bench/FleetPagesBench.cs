using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Dapper;
using HilRig.Core.Results;
using HilRig.Reports.Html;
using HilRig.Reports.Queries;
using Npgsql;

namespace HilRig.Cli.Bench;

/// <summary>
/// <c>hilrig bench fleet-pages</c>: the dashboard's pages over a fleet database of N results: the lots page, one lot's
/// page (the flagged lot and a typical one), one device, one rig, and the slots page; each its queries plus its HTML,
/// median of 5 after one warm-up. The fleet (20 rigs, 40 lots, 4 results per Core) is written by the server itself with
/// generate_series, its summaries and rollups counted once, on a throw-away PostgreSQL unless given a server.
/// </summary>
internal static class FleetPagesBench
{
    public const double PageTargetMs = 300;

    public static Command Command()
    {
        var results = new Option<long>("--results") { Description = "results in the fleet (1000..50000000)", DefaultValueFactory = _ => 1_000_000 };
        var connection = new Option<string?>("--connection") { Description = "a PostgreSQL server as a superuser; a fresh database is made there and dropped after (default: a throw-away server)" };
        var keep = new Option<bool>("--keep") { Description = "with --connection: keep the generated database (its name is printed) to study plans" };
        var command = new Command("fleet-pages", "The dashboard's pages over a fleet PostgreSQL of --results rows: lots, one lot, one device, one rig, slots (goal < 300 ms each)");
        command.Options.Add(results);
        command.Options.Add(connection);
        command.Options.Add(keep);
        command.SetAction((ParseResult pr) =>
        {
            var (output, error) = (pr.InvocationConfiguration.Output, pr.InvocationConfiguration.Error);
            var n = pr.GetValue(results);
            if (n is < 1000 or > 50_000_000)
            {
                error.WriteLine($"hilrig: --results {n}: valid: 1000..50000000");
                return ExitCodes.BadInput;
            }
            try
            {
                return Run(n, pr.GetValue(connection), pr.GetValue(keep), output, error);
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

    private static int Run(long results, string? connection, bool keep, TextWriter output, TextWriter error)
    {
        // Page timings need no durable server; generating 10 M rows goes faster without fsync.
        using var server = BenchServer.Start(connection, durable: false);
        var admin = server.CreateDatabase("hilrig_pages_");
        server.Keep = keep && connection is not null;
        if (server.Keep)
            error.WriteLine($"kept after the bench: {new NpgsqlConnectionStringBuilder(admin).Database}");
        try
        {
            output.WriteLine(server.Description);
            FleetSchema.Init(admin);
            var clock = Stopwatch.StartNew();
            SyncBench.Generate(admin, results);
            CountRollups(admin);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"fleet: {results:N0} results generated, summaries and rollups counted, in {clock.Elapsed.TotalSeconds:0.0} s"));

            var queries = ResultsQueries.Over(() => new NpgsqlConnection(admin));
            var lots = queries.Lots().Lots;
            var flagged = lots[0].Lot;
            var typical = lots[lots.Count / 2].Lot;
            string device, rig;
            using (var db = new NpgsqlConnection(admin))
            {
                db.Open();
                device = db.ExecuteScalar<string>("SELECT device_id FROM units WHERE lot = @flagged ORDER BY failed DESC, device_id LIMIT 1", new { flagged })!;
                rig = db.ExecuteScalar<string>("SELECT rig_id FROM fleet_rigs ORDER BY rig_id LIMIT 1")!;
            }

            var missed = 0;
            missed += Time(output, "lots page", () => HtmlPages.Lots(queries.Lots(), links: true), PageTargetMs);
            missed += Time(output, $"one lot's page, flagged ({flagged})", () => HtmlPages.Lot(queries.Lot(flagged, devicesShown: 100)!, links: true), PageTargetMs);
            missed += Time(output, $"one lot's page, typical ({typical})", () => HtmlPages.Lot(queries.Lot(typical, devicesShown: 100)!, links: true), PageTargetMs);
            missed += Time(output, $"one device ({device})", () => HtmlPages.Device(queries.Device(device)!, links: true), PageTargetMs);
            missed += Time(output, $"one rig ({rig}: slots, 30 days)", () => queries.Rig(rig), PageTargetMs);
            missed += Time(output, "rigs (every rig's counts)", () => queries.Rigs(), PageTargetMs);
            Time(output, "slots page (distinct devices per slot; counted from the results)", () => HtmlPages.Slots(queries.Slots(), links: true), 0);
            output.WriteLine(missed == 0 ? "targets met" : $"TARGETS MISSED: {missed}");
            return ExitCodes.Ok;
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
        }
    }

    /// <summary>The rollups the ingest keeps, counted once over the generated rows, and the generated rigs registered.</summary>
    private static void CountRollups(string admin)
    {
        using var db = new NpgsqlConnection(admin);
        db.Open();
        foreach (var sql in (string[])
        [
            "INSERT INTO fleet_rigs (rig_id, role_name, line, last_sync_at) SELECT DISTINCT rig_id, 'gen_' || replace(rig_id, '-', '_'), 'line-1', now() FROM runs",
            """
            INSERT INTO rollup_rig_slot (rig_id, slot, results, failed, rig_faults, last_result_at)
            SELECT ru.rig_id, r.slot, COUNT(*), SUM(CASE WHEN r.verdict = 'fail' THEN 1 ELSE 0 END), SUM(CASE WHEN r.verdict = 'rig-fault' THEN 1 ELSE 0 END), MAX(r.started_at)
            FROM results r JOIN runs ru ON ru.id = r.run_id GROUP BY 1, 2
            """,
            """
            INSERT INTO rollup_rig_day (rig_id, day, results, failed, rig_faults)
            SELECT ru.rig_id, substr(r.started_at, 1, 10), COUNT(*), SUM(CASE WHEN r.verdict = 'fail' THEN 1 ELSE 0 END), SUM(CASE WHEN r.verdict = 'rig-fault' THEN 1 ELSE 0 END)
            FROM results r JOIN runs ru ON ru.id = r.run_id GROUP BY 1, 2
            """,
            """
            INSERT INTO rollup_lot_day (lot, day, results, failed, rig_faults)
            SELECT COALESCE(d.lot, '(unknown)'), substr(r.started_at, 1, 10), COUNT(*), SUM(CASE WHEN r.verdict = 'fail' THEN 1 ELSE 0 END), SUM(CASE WHEN r.verdict = 'rig-fault' THEN 1 ELSE 0 END)
            FROM results r LEFT JOIN devices d ON d.device_id = r.device_id GROUP BY 1, 2
            """,
            .. FleetSchema.RecountYields,
            .. FleetSchema.CountLotFailures,
            "VACUUM ANALYZE",
        ])
            db.Execute(sql, commandTimeout: 0);
    }

    /// <returns>1 when the median misses the target, else 0.</returns>
    private static int Time(TextWriter output, string what, Func<object?> page, double targetMs)
    {
        page(); // warm: plans and the pages it reads
        var times = new List<double>();
        for (var i = 0; i < 5; i++)
        {
            var clock = Stopwatch.StartNew();
            page();
            times.Add(clock.Elapsed.TotalMilliseconds);
        }
        times.Sort();
        var missed = targetMs > 0 && times[2] >= targetMs;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{what}: median {times[2]:0.0} ms (min {times[0]:0.0}, max {times[^1]:0.0}){(targetMs > 0 ? $"; goal < {targetMs:0} ms{(missed ? " MISSED" : "")}" : "")}"));
        return missed ? 1 : 0;
    }
}
