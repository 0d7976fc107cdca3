using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Dapper;
using HilRig.Core.Results;
using HilRig.Dashboard;
using HilRig.Reports.Queries;
using HilRig.Reports.Statistics;
using Npgsql;

namespace HilRig.Cli.Bench;

/// <summary>
/// <c>hilrig bench fleet-pages</c>: the failure rate by lot, then every route of the dashboard over a fleet database of N
/// results as a browser gets it (over HTTP from <c>hilrig dashboard</c>'s own app, as <c>bench pages</c> times a rig's
/// store): lots, one lot (the flagged lot and a typical one), runs, a run and its slot, search, modes and a mode, slots and
/// a slot, rigs, soak, a device, campaigns, lots and rigs as JSON and CSV, and the filtered pages again over dates (a day,
/// a shift off the hour, 7 days), a rig, a line and a rig over a day; median, 95th percentile and CPU a request of --runs
/// after one warm-up. The fleet (20 rigs on 4 lines, 40 lots, 4
/// results per Core) is written by the server itself with generate_series into the results table with its secondary
/// indexes dropped and rebuilt after (sorted builds, not 10 M random inserts), its summaries and rollups counted once
/// and checked against a direct count, on a throw-away PostgreSQL unless given a server.
/// </summary>
internal static class FleetPagesBench
{
    public const double PageTargetMs = 300;

    /// <summary>The failure rate by lot (the lot_counts query) must answer faster than a page.</summary>
    public const double LotCountsTargetMs = 200;

    public static Command Command()
    {
        var results = new Option<long>("--results") { Description = "results in the fleet (1000..50000000)", DefaultValueFactory = _ => 1_000_000 };
        var connection = new Option<string?>("--connection") { Description = "a PostgreSQL server as a superuser; a fresh database is made there and dropped after (default: a throw-away server)" };
        var keep = new Option<bool>("--keep") { Description = "with --connection: keep the generated database (its name is printed) to study plans" };
        var database = new Option<string?>("--kept") { Description = "with --connection: time the pages over a database a --keep run generated, without generating" };
        var nameModes = new Option<bool>("--name-modes")
        {
            Description = "with --kept: time a copy of it (dropped after unless --keep) whose failed results get the failure modes and signatures a fleet generated now has (for a fleet generated before)",
        };
        var runs = new Option<int>("--runs") { Description = "timed runs of each page after a warm-up (5..200); median and 95th percentile are printed", DefaultValueFactory = _ => 20 };
        var command = new Command("fleet-pages", "Every dashboard route over a fleet PostgreSQL of --results rows, over HTTP, with date, rig and line filters (goal < 300 ms each; lot_counts < 200 ms)");
        command.Options.Add(results);
        command.Options.Add(connection);
        command.Options.Add(keep);
        command.Options.Add(runs);
        command.Options.Add(database);
        command.Options.Add(nameModes);
        command.SetAction(async (ParseResult pr, CancellationToken ct) =>
        {
            var (output, error) = (pr.InvocationConfiguration.Output, pr.InvocationConfiguration.Error);
            var n = pr.GetValue(results);
            if (n is < 1000 or > 50_000_000)
            {
                error.WriteLine($"hilrig: --results {n}: valid: 1000..50000000");
                return ExitCodes.BadInput;
            }
            var timed = pr.GetValue(runs);
            if (timed is < 5 or > 200)
            {
                error.WriteLine($"hilrig: --runs {timed}: valid: 5..200");
                return ExitCodes.BadInput;
            }
            try
            {
                var reuse = pr.GetValue(database);
                if (reuse is not null && (pr.GetValue(connection) is null || !System.Text.RegularExpressions.Regex.IsMatch(reuse, "^hilrig_pages_[0-9a-f]+$")))
                {
                    error.WriteLine($"hilrig: --kept {reuse}: valid: with --connection, a database a --keep run printed (hilrig_pages_...)");
                    return ExitCodes.BadInput;
                }
                if (pr.GetValue(nameModes) && reuse is null)
                {
                    error.WriteLine("hilrig: --name-modes: valid only with --kept (a generated fleet has its modes)");
                    return ExitCodes.BadInput;
                }
                return await RunAsync(n, pr.GetValue(connection), pr.GetValue(keep), reuse, pr.GetValue(nameModes), timed, output, error);
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

    private static async Task<int> RunAsync(long results, string? connection, bool keep, string? reuse, bool nameModes, int runs, TextWriter output, TextWriter error)
    {
        // Page timings need no durable server; generating 10 M rows goes faster without fsync.
        using var server = BenchServer.Start(connection, durable: false);
        server.Keep = keep && connection is not null;
        var admin = reuse is null
            ? server.CreateDatabase("hilrig_pages_")
            : nameModes
            ? server.CreateDatabase("hilrig_pages_", copyOf: reuse)
            : new NpgsqlConnectionStringBuilder(connection!) { Database = reuse, CommandTimeout = 0 }.ConnectionString;
        if (server.Keep)
            error.WriteLine($"kept after the bench: {new NpgsqlConnectionStringBuilder(admin).Database}");
        try
        {
            output.WriteLine(server.Description);
            if (reuse is null)
                Generate(admin, results, output);
            else if (nameModes)
                NameModes(admin, reuse, output);

            var queries = ResultsQueries.Over(() => new NpgsqlConnection(admin));
            var lots = queries.Lots().Lots;
            var flagged = lots[0].Lot;
            var typical = lots[lots.Count / 2].Lot;
            string device, rig, line, run, day, mode, rare;
            string? soakRun, build;
            int slot, runSlot;
            using (var db = new NpgsqlConnection(admin))
            {
                db.Open();
                device = db.ExecuteScalar<string>("SELECT device_id FROM units WHERE lot = @flagged ORDER BY failed DESC, device_id LIMIT 1", new { flagged })!;
                (rig, line) = db.QueryFirst<(string, string)>("SELECT rig_id, COALESCE(line, '') FROM fleet_rigs ORDER BY line IS NULL, rig_id LIMIT 1");
                slot = db.ExecuteScalar<int>("SELECT MIN(slot) FROM rollup_slots WHERE devices > 0");
                // the run of the newest result on that slot (the newest runs may have none yet)
                (run, runSlot) = db.QueryFirst<(string, int)>("SELECT run_id, slot FROM results WHERE slot = @slot ORDER BY started_at DESC LIMIT 1", new { slot });
                soakRun = db.ExecuteScalar<string?>("SELECT id FROM runs WHERE kind = 'soak' ORDER BY started_at DESC, id DESC LIMIT 1");
                build = db.ExecuteScalar<string?>("SELECT bootloader FROM runs WHERE kind = 'soak' AND bootloader IS NOT NULL ORDER BY started_at DESC LIMIT 1");
                day = db.ExecuteScalar<string>("SELECT MIN(day) FROM rollup_rig_day")!;
                // the commonest named failure mode and the rarest (a failure without one is "(unclassified)" on the pages, which has no page)
                var modes = db.Query<string>(
                    $"SELECT name FROM rollup_lot_failures WHERE part = 'mode' AND name <> '{Breakdown.Unclassified}' GROUP BY name ORDER BY SUM(failures) DESC, name").ToList();
                (mode, rare) = modes.Count == 0 ? ("none", "none") : (modes[0], modes[^1]);
                if (reuse is not null)
                    results = db.ExecuteScalar<long>("SELECT COUNT(*) FROM results");
            }

            var missed = Time(output, "failure rate by lot (lot_counts)", () => queries.LotCounts(), LotCountsTargetMs, runs);
            // Every route of the dashboard as a browser gets it (hilrig dashboard's app over this fleet: queries, statistics,
            // HTML or JSON/CSV), with the filters a quality engineer sets, over the generated span (a result every 60 ms from
            // 2026-01-01: 1 M results are 16.7 hours of it, 10 M are 6.9 days); the cost of a range grows with the units that
            // straddle its bounds and, for a rig or a line, with that rig's or line's results.
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"the dashboard's routes over HTTP, {runs} requests each after a warm-up, over {results:N0} results generated at 60,000 results an hour from 2026-01-01 (a span of {results * 0.06 / 3600:0.0} hours; each device's 4 results within 4 minutes, every 50th device retested a day later); load average {LoadAverages()}:"));
            var e = (Func<string, string>)Uri.EscapeDataString;
            var filters = new (string Name, string Query)[]
            {
                ($"one day ({day})", $"from={day}&to={day}"),
                ("a shift off the hour (06:30-14:30)", $"from={day}T06:30&to={day}T14:30"),
                ("7 days", $"from={day}&to={DateOnly.ParseExact(day, "yyyy-MM-dd", CultureInfo.InvariantCulture).AddDays(6):yyyy-MM-dd}"),
                ($"one rig ({rig})", "rig=" + e(rig)),
                ($"one line ({line})", "line=" + e(line)),
                ($"one rig, one day ({rig}, {day})", $"rig={e(rig)}&from={day}&to={day}"),
            };
            var routes = new List<(string What, string Url)>
            {
                ("lots page", "/lots"),
                ("lots as JSON", "/lots?format=json"),
                ("lots as CSV", "/lots?format=csv"),
                ($"one lot's page, flagged ({flagged})", "/lots/" + e(flagged)),
                ($"one lot's page, typical ({typical})", "/lots/" + e(typical)),
                ("runs page (50 newest)", "/runs"),
                ("one run", "/runs/" + run),
                ($"one run's slot {runSlot}", $"/runs/{run}/slots/{runSlot}"),
                ("device search by prefix", "/search?q=" + device[..6]),
                ("modes page", "/modes"),
                // a fleet generated before its failures had modes names none: its mode pages answer 404 after the same reads
                ($"one failure mode, the commonest ({mode}{(mode == "none" ? ": no named mode in this fleet, 404" : "")})", "/modes/" + e(mode)),
                ($"one failure mode, the rarest ({rare})", "/modes/" + e(rare)),
                ("slots page", "/slots"),
                ($"one slot ({slot})", $"/slots/{slot}"),
                ("rigs page", "/rigs"),
                ("rigs as JSON", "/rigs?format=json"),
                ("rigs as CSV", "/rigs?format=csv"),
                ("soak page", "/soak"),
                ($"one device ({device})", "/devices/" + device),
                ("campaigns", "/campaigns"),
            };
            // the generated fleet screens only; a fleet with soak runs gets their pages too
            if (soakRun is not null) routes.Add(("one soak run", "/runs/" + soakRun));
            if (build is not null) routes.Add(($"one build ({build})", "/builds/" + e(build)));
            foreach (var (name, query) in filters)
            {
                routes.Add(($"lots page, {name}", "/lots?" + query));
                routes.Add(($"one lot's page, {name}, flagged", $"/lots/{e(flagged)}?{query}"));
                routes.Add(($"runs page, {name}", "/runs?" + query));
                routes.Add(($"rigs page, {name}", "/rigs?" + query));
                routes.Add(($"one failure mode, {name}, the commonest", $"/modes/{e(mode)}?{query}"));
                routes.Add(($"one failure mode, {name}, the rarest", $"/modes/{e(rare)}?{query}"));
                routes.Add(($"one slot, {name}", $"/slots/{slot}?{query}"));
            }
            missed += await TimePagesAsync(queries, routes, runs, output);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"load average after the pages: {LoadAverages()}"));
            output.WriteLine(missed == 0 ? "targets met" : $"TARGETS MISSED: {missed}");
            return ExitCodes.Ok;
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
        }
    }

    /// <summary>
    /// The fleet of <paramref name="results"/> rows: written by the server with the results' secondary indexes dropped and
    /// built after, then the rollups counted and checked against a direct count; each phase timed.
    /// </summary>
    private static void Generate(string admin, long results, TextWriter output)
    {
        FleetSchema.Init(admin);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"load average before generating: {LoadAverages()} ({Environment.ProcessorCount} cores)"));
        var clock = Stopwatch.StartNew();
        var phase = Stopwatch.StartNew();
        string[] rebuilt;
        using (var db = new NpgsqlConnection(admin))
        {
            db.Open();
            var database = new NpgsqlConnectionStringBuilder(admin).Database;
            // Generous memory for the sorts and index builds of the generation only; reset before the pages are timed.
            db.Execute($"ALTER DATABASE {database} SET work_mem = '256MB'");
            db.Execute($"ALTER DATABASE {database} SET maintenance_work_mem = '1GB'");
            rebuilt = db.Query<string>(
                "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i WHERE i.indrelid = 'results'::regclass AND NOT i.indisprimary ORDER BY 1").ToArray();
            foreach (var name in db.Query<string>(
                "SELECT quote_ident(c.relname) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = 'results'::regclass AND NOT i.indisprimary").ToList())
                db.Execute($"DROP INDEX {name}");
        }
        NpgsqlConnection.ClearAllPools();
        SyncBench.Generate(admin, results);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  results, devices, runs and store summaries written: {phase.Elapsed.TotalSeconds:0.0} s"));
        phase.Restart();
        using (var db = new NpgsqlConnection(admin))
        {
            db.Open();
            foreach (var index in rebuilt)
                db.Execute(index, commandTimeout: 0);
        }
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {rebuilt.Length} results indexes built: {phase.Elapsed.TotalSeconds:0.0} s"));
        phase.Restart();
        CountRollups(admin);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  fleet rollups counted, vacuumed and analysed: {phase.Elapsed.TotalSeconds:0.0} s"));
        using (var db = new NpgsqlConnection(admin))
        {
            db.Open();
            var database = new NpgsqlConnectionStringBuilder(admin).Database;
            db.Execute($"ALTER DATABASE {database} RESET work_mem");
            db.Execute($"ALTER DATABASE {database} RESET maintenance_work_mem");
        }
        NpgsqlConnection.ClearAllPools();
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"fleet: {results:N0} results generated, summaries and rollups counted, in {clock.Elapsed.TotalSeconds:0.0} s (load average now {LoadAverages()})"));
        phase.Restart();
        var differing = RollupsAgainstDirectCount(admin);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"rollups against a direct count over the results (rows that differ): {string.Join(", ", differing.Select(d => $"{d.Key} {d.Value}"))} in {phase.Elapsed.TotalSeconds:0.0} s{(differing.Values.Any(v => v != 0) ? " -- ROLLUPS DIFFER" : "")}"));
    }

    /// <summary>
    /// The copy of a fleet generated before its failures had modes given the generator's modes and signatures (by each
    /// result's number, so the same as a fleet generated now), the failure rollups recounted and checked.
    /// </summary>
    private static void NameModes(string admin, string kept, TextWriter output)
    {
        var clock = Stopwatch.StartNew();
        // the copy at this hilrig's fleet step first (the kept fleet may be older), so the check has every rollup to count
        FleetSchema.Init(admin);
        using (var db = new NpgsqlConnection(admin))
        {
            db.Open();
            foreach (var sql in SyncBench.NameFailures)
                db.Execute(sql, commandTimeout: 0);
        }
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"a copy of {kept}: at fleet step {FleetSchema.Latest}, failed results given the generator's modes and signatures, failure rollups recounted, in {clock.Elapsed.TotalSeconds:0.0} s"));
        clock.Restart();
        var differing = RollupsAgainstDirectCount(admin);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"rollups against a direct count over the results (rows that differ): {string.Join(", ", differing.Select(d => $"{d.Key} {d.Value}"))} in {clock.Elapsed.TotalSeconds:0.0} s{(differing.Values.Any(v => v != 0) ? " -- ROLLUPS DIFFER" : "")}"));
    }

    /// <summary>The rollups the ingest keeps, counted once over the generated rows, and the generated rigs registered.</summary>
    private static void CountRollups(string admin)
    {
        using var db = new NpgsqlConnection(admin);
        db.Open();
        foreach (var sql in (string[])
        [
            "INSERT INTO fleet_rigs (rig_id, role_name, line, last_sync_at) SELECT rig_id, 'gen_' || replace(rig_id, '-', '_'), MAX(line), now() FROM runs GROUP BY rig_id",
            .. FleetSchema.CountResultRollups,
            .. FleetSchema.RecountYields,
            .. FleetSchema.RecountLotFailures,
            .. FleetSchema.CountLotHours,
            .. FleetSchema.CountUnitRigs,
            .. FleetSchema.CountUnitTimes,
            .. FleetSchema.CountRigMinutes,
            .. FleetSchema.CountLotFailureRollups,
            .. FleetSchema.CountSlotDevices,
            "VACUUM ANALYZE",
        ])
            db.Execute(sql, commandTimeout: 0);
    }

    /// <summary>
    /// Each rollup the ingest keeps against the same numbers counted straight from the results (rows in one and not the
    /// other, both ways): per rig and slot, per rig and day, per lot and day, failing results per lot (with mode,
    /// signature and whether the device is screened), and per lot the judged and failed units by the unit rule.
    /// </summary>
    private static Dictionary<string, long> RollupsAgainstDirectCount(string admin)
    {
        using var db = new NpgsqlConnection(admin);
        db.Open();
        var row = db.QuerySingle(
            $$"""
            WITH r AS MATERIALIZED (
                SELECT r.id, r.device_id, r.slot, r.test, r.cycle, r.attempt, r.verdict, r.failure_mode, r.signature, r.started_at,
                       ru.rig_id, COALESCE(ru.line, '') AS line, COALESCE(d.lot, '(unknown)') AS lot
                FROM results r JOIN runs ru ON ru.id = r.run_id LEFT JOIN devices d ON d.device_id = r.device_id),
            rig_slot AS (SELECT rig_id, slot, COUNT(*) AS results, SUM(CASE WHEN verdict = 'fail' THEN 1 ELSE 0 END) AS failed,
                                SUM(CASE WHEN verdict = 'rig-fault' THEN 1 ELSE 0 END) AS rig_faults FROM r GROUP BY 1, 2),
            rig_minutes_direct AS (SELECT left(started_at, 16) AS minute, rig_id, COUNT(*) AS results, SUM(CASE WHEN verdict = 'rig-fault' THEN 1 ELSE 0 END) AS rig_faults,
                                        MAX(started_at) AS last_result_at FROM r GROUP BY 1, 2),
            rig_day AS (SELECT rig_id, substr(started_at, 1, 10) AS day, COUNT(*) AS results, SUM(CASE WHEN verdict = 'fail' THEN 1 ELSE 0 END) AS failed,
                               SUM(CASE WHEN verdict = 'rig-fault' THEN 1 ELSE 0 END) AS rig_faults FROM r GROUP BY 1, 2),
            lot_day AS (SELECT lot, substr(started_at, 1, 10) AS day, COUNT(*) AS results, SUM(CASE WHEN verdict = 'fail' THEN 1 ELSE 0 END) AS failed,
                               SUM(CASE WHEN verdict = 'rig-fault' THEN 1 ELSE 0 END) AS rig_faults FROM r GROUP BY 1, 2),
            screened AS (SELECT DISTINCT device_id FROM r WHERE cycle IS NULL),
            fails AS (SELECT lot, id AS result_id, device_id, failure_mode, signature, device_id IN (SELECT device_id FROM screened) AS screened
                      FROM r WHERE verdict = 'fail'),
            latest AS (SELECT device_id, lot, verdict, ROW_NUMBER() OVER (PARTITION BY device_id, test ORDER BY started_at DESC, attempt DESC) AS rn
                       FROM r WHERE cycle IS NULL),
            unit AS (SELECT device_id, MAX(lot) AS lot, MAX(CASE WHEN verdict = 'fail' THEN 1 ELSE 0 END) AS failed,
                            MAX(CASE WHEN verdict <> 'rig-fault' THEN 1 ELSE 0 END) AS judged FROM latest WHERE rn = 1 GROUP BY device_id),
            lots AS (SELECT lot, SUM(judged) AS units, SUM(failed) AS failed FROM unit GROUP BY lot HAVING SUM(judged) > 0),
            lot_parts AS (SELECT f.lot, p.part, p.name, COUNT(*) AS failures, COUNT(DISTINCT f.device_id) AS devices FROM fails f
                          CROSS JOIN LATERAL (VALUES ('mode', COALESCE(f.failure_mode, '{{Breakdown.Unclassified}}')), ('signature', COALESCE(f.signature, '{{Breakdown.Unclassified}}')),
                                                     ('kind', {{DefectKinds.Sql("f.failure_mode", "f.signature")}})) p(part, name)
                          WHERE f.screened GROUP BY 1, 2, 3),
            lot_bits AS (SELECT f.lot, i AS position, SUM((fleet_bit_errors(r.evidence_json))[i]) AS total
                         FROM fails f JOIN results r ON r.id = f.result_id CROSS JOIN generate_series(1, 10) i
                         WHERE f.screened AND fleet_bit_errors(r.evidence_json) IS NOT NULL GROUP BY 1, 2 HAVING SUM((fleet_bit_errors(r.evidence_json))[i]) <> 0),
            spans AS (SELECT device_id, MIN(left(started_at, 13)) AS first_hour, MAX(left(started_at, 13)) AS last_hour,
                             CASE WHEN MIN(rig_id) = MAX(rig_id) THEN MIN(rig_id) ELSE ' ' END AS rig_id,
                             CASE WHEN MIN(line) = MAX(line) THEN MIN(line) ELSE ' ' END AS line FROM r WHERE cycle IS NULL GROUP BY device_id),
            rig_hours AS (SELECT s.rig_id, s.line, u.lot, s.first_hour, s.last_hour, SUM(u.judged) AS units, SUM(u.failed) AS failed, COUNT(*) AS devices
                          FROM unit u JOIN spans s ON s.device_id = u.device_id GROUP BY 1, 2, 3, 4, 5),
            lot_hours AS (SELECT u.lot, s.first_hour, s.last_hour, SUM(u.judged) AS units, SUM(u.failed) AS failed, COUNT(*) AS devices
                          FROM unit u JOIN spans s ON s.device_id = u.device_id GROUP BY 1, 2, 3),
            slot_pairs AS (SELECT slot, device_id, bool_or(verdict <> 'pass') AS failed FROM r GROUP BY 1, 2),
            slots AS (SELECT slot, COUNT(*) AS devices, COUNT(*) FILTER (WHERE failed) AS failed_devices FROM slot_pairs GROUP BY slot)
            SELECT
              (SELECT COUNT(*) FROM ((SELECT rig_id, slot, results, failed, rig_faults FROM rollup_rig_slot WHERE results <> 0 EXCEPT ALL SELECT * FROM rig_slot)
                                     UNION ALL (SELECT * FROM rig_slot EXCEPT ALL SELECT rig_id, slot, results, failed, rig_faults FROM rollup_rig_slot WHERE results <> 0)) x) AS rig_slot,
              (SELECT COUNT(*) FROM ((SELECT rig_id, day, results, failed, rig_faults FROM rollup_rig_day WHERE results <> 0 EXCEPT ALL SELECT * FROM rig_day)
                                     UNION ALL (SELECT * FROM rig_day EXCEPT ALL SELECT rig_id, day, results, failed, rig_faults FROM rollup_rig_day WHERE results <> 0)) x) AS rig_day,
              (SELECT COUNT(*) FROM ((SELECT minute, rig_id, results, rig_faults, last_result_at FROM rollup_rig_minutes WHERE results <> 0 EXCEPT ALL SELECT * FROM rig_minutes_direct)
                                     UNION ALL (SELECT * FROM rig_minutes_direct EXCEPT ALL SELECT minute, rig_id, results, rig_faults, last_result_at FROM rollup_rig_minutes WHERE results <> 0)) x) AS rig_minutes,
              (SELECT COUNT(*) FROM ((SELECT lot, day, results, failed, rig_faults FROM rollup_lot_day WHERE results <> 0 EXCEPT ALL SELECT * FROM lot_day)
                                     UNION ALL (SELECT * FROM lot_day EXCEPT ALL SELECT lot, day, results, failed, rig_faults FROM rollup_lot_day WHERE results <> 0)) x) AS lot_day,
              (SELECT COUNT(*) FROM ((SELECT lot, result_id, device_id, failure_mode, signature, screened FROM lot_failures EXCEPT ALL SELECT * FROM fails)
                                     UNION ALL (SELECT * FROM fails EXCEPT ALL SELECT lot, result_id, device_id, failure_mode, signature, screened FROM lot_failures)) x) AS lot_failures,
              (SELECT COUNT(*) FROM ((SELECT lot, units, failed FROM lot_counts WHERE units > 0 EXCEPT ALL SELECT * FROM lots)
                                     UNION ALL (SELECT * FROM lots EXCEPT ALL SELECT lot, units, failed FROM lot_counts WHERE units > 0)) x) AS lot_counts,
              (SELECT COUNT(*) FROM ((SELECT lot, part, name, failures, devices FROM rollup_lot_failures WHERE failures <> 0 OR devices <> 0 EXCEPT ALL SELECT * FROM lot_parts)
                                     UNION ALL (SELECT * FROM lot_parts EXCEPT ALL SELECT lot, part, name, failures, devices FROM rollup_lot_failures WHERE failures <> 0 OR devices <> 0)) x) AS lot_failure_parts,
              (SELECT COUNT(*) FROM ((SELECT lot, position, total FROM rollup_lot_bit_errors WHERE total <> 0 EXCEPT ALL SELECT * FROM lot_bits)
                                     UNION ALL (SELECT * FROM lot_bits EXCEPT ALL SELECT lot, position, total FROM rollup_lot_bit_errors WHERE total <> 0)) x) AS lot_bit_errors,
              (SELECT COUNT(*) FROM ((SELECT lot, first_hour, last_hour, units, failed, devices FROM rollup_lot_hours WHERE devices <> 0 EXCEPT ALL SELECT * FROM lot_hours)
                                     UNION ALL (SELECT * FROM lot_hours EXCEPT ALL SELECT lot, first_hour, last_hour, units, failed, devices FROM rollup_lot_hours WHERE devices <> 0)) x) AS lot_hours,
              (SELECT COUNT(*) FROM ((SELECT rig_id, line, lot, first_hour, last_hour, units, failed, devices FROM rollup_lot_rig_hours WHERE devices <> 0 EXCEPT ALL SELECT * FROM rig_hours)
                                     UNION ALL (SELECT * FROM rig_hours EXCEPT ALL SELECT rig_id, line, lot, first_hour, last_hour, units, failed, devices FROM rollup_lot_rig_hours WHERE devices <> 0)) x) AS lot_rig_hours,
              (SELECT COUNT(*) FROM ((SELECT slot, device_id, failed FROM slot_devices EXCEPT ALL SELECT * FROM slot_pairs)
                                     UNION ALL (SELECT * FROM slot_pairs EXCEPT ALL SELECT slot, device_id, failed FROM slot_devices)) x) AS slot_devices,
              (SELECT COUNT(*) FROM ((SELECT slot, devices, failed_devices FROM rollup_slots WHERE devices <> 0 EXCEPT ALL SELECT * FROM slots)
                                     UNION ALL (SELECT * FROM slots EXCEPT ALL SELECT slot, devices, failed_devices FROM rollup_slots WHERE devices <> 0)) x) AS slots
            """, commandTimeout: 0);
        var values = (IDictionary<string, object>)row;
        return values.ToDictionary(kv => kv.Key, kv => Convert.ToInt64(kv.Value, CultureInfo.InvariantCulture));
    }

    /// <summary>Each route over HTTP from the dashboard's own app over <paramref name="queries"/>, timed as `bench pages` times a rig's.</summary>
    /// <returns>The routes whose median missed the goal (or that did not answer 200).</returns>
    private static async Task<int> TimePagesAsync(ResultsQueries queries, IEnumerable<(string What, string Url)> routes, int runs, TextWriter output)
    {
        await using var app = DashboardApp.Build(queries, "http://127.0.0.1:0");
        await app.StartAsync();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri(DashboardApp.Addresses(app)[0]), Timeout = TimeSpan.FromMinutes(10) };
            var missed = 0;
            foreach (var (what, url) in routes)
                missed += await PagesBench.TimeAsync(http, output, what, url, runs, CancellationToken.None);
            return missed;
        }
        finally
        {
            await app.StopAsync();
        }
    }

    /// <summary>The 1-, 5- and 15-minute load averages: how much else the machine was doing.</summary>
    internal static string LoadAverages()
    {
        try
        {
            return string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "unknown";
        }
    }

    /// <returns>1 when the median misses the target, else 0.</returns>
    private static int Time(TextWriter output, string what, Func<object?> page, double targetMs, int runs)
    {
        page(); // warm: plans and the pages it reads
        var times = new List<double>();
        for (var i = 0; i < runs; i++)
        {
            var clock = Stopwatch.StartNew();
            page();
            times.Add(clock.Elapsed.TotalMilliseconds);
        }
        times.Sort();
        var median = times.Count % 2 == 1 ? times[times.Count / 2] : (times[times.Count / 2 - 1] + times[times.Count / 2]) / 2;
        var p95 = times[(int)Math.Ceiling(0.95 * times.Count) - 1]; // nearest rank
        var missed = targetMs > 0 && median >= targetMs;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{what}: median {median:0.0} ms, p95 {p95:0.0} ms (min {times[0]:0.0}, max {times[^1]:0.0}, {runs} runs){(targetMs > 0 ? $"; goal < {targetMs:0} ms{(missed ? " MISSED" : "")}" : "")}"));
        return missed ? 1 : 0;
    }
}
