using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Dapper;
using HilRig.Cli.Commands;
using HilRig.Core.Procedures;
using HilRig.Core.Results;
using HilRig.Reports.Queries;
using HilRig.Sim.Fleet;
using Npgsql;

namespace HilRig.Cli.Bench;

/// <summary>
/// <c>hilrig bench sync</c>: results per second from a rig's SQLite into the fleet's PostgreSQL (through a rig role,
/// exactly as `hilrig sync`), then the lots queries over a large fleet generated on the server with generate_series.
/// Runs on a throw-away PostgreSQL (fsync on) unless given a server.
/// </summary>
internal static class SyncBench
{
    public static Command Command()
    {
        var results = new Option<long>("--results") { Description = "results in the fleet for the query timings (1000..50000000)", DefaultValueFactory = _ => 10_000_000 };
        var syncCores = new Option<int>("--sync-cores") { Description = "Cores in the rig store that is synced (its results are several per Core)", DefaultValueFactory = _ => 20_000 };
        var connection = new Option<string?>("--connection") { Description = "a PostgreSQL server as a superuser; a fresh database is made there and dropped after (default: a throw-away server)" };
        var batch = new Option<int>("--batch") { Description = "results per COPY and transaction (1000..200000)", DefaultValueFactory = _ => 50_000 };
        var repeat = new Option<int>("--repeat") { Description = "syncs of the rig store, each into a fresh fleet database: best and median are printed (1..20)", DefaultValueFactory = _ => 3 };
        var command = new Command("sync", "Results per second synced into PostgreSQL (goal >= 20,000/s), then the failure rate by lot and the lots page over --results rows (goals < 200 ms and < 300 ms)");
        command.Options.Add(results);
        command.Options.Add(syncCores);
        command.Options.Add(connection);
        command.Options.Add(repeat);
        command.Options.Add(batch);
        command.SetAction((ParseResult pr) =>
        {
            var (output, error) = (pr.InvocationConfiguration.Output, pr.InvocationConfiguration.Error);
            var n = pr.GetValue(results);
            if (n is < 1000 or > 50_000_000)
            {
                error.WriteLine($"hilrig: --results {n}: valid: 1000..50000000");
                return ExitCodes.BadInput;
            }
            var cores = pr.GetValue(syncCores);
            if (cores is < 10 or > 1_000_000)
            {
                error.WriteLine($"hilrig: --sync-cores {cores}: valid: 10..1000000");
                return ExitCodes.BadInput;
            }
            var times = pr.GetValue(repeat);
            if (times is < 1 or > 20)
            {
                error.WriteLine($"hilrig: --repeat {times}: valid: 1..20");
                return ExitCodes.BadInput;
            }
            var batchSize = pr.GetValue(batch);
            if (batchSize is < 1000 or > 200_000)
            {
                error.WriteLine($"hilrig: --batch {batchSize}: valid: 1000..200000");
                return ExitCodes.BadInput;
            }
            try
            {
                return Run(n, cores, times, batchSize, pr.GetValue(connection), output, error);
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

    private static int Run(long results, int cores, int repeat, int batch, string? connection, TextWriter output, TextWriter error)
    {
        using var server = BenchServer.Start(connection, durable: true);
        var folder = Directory.CreateTempSubdirectory("hilrig-bench-sync-").FullName;
        try
        {
            output.WriteLine(server.Description);
            var clock = Stopwatch.StartNew();
            var local = ResultsStore.Open(Path.Combine(folder, "rig.db"));
            const string rigId = "bench-rig";
            var summary = new FleetFastPath(FleetPlan.Create(new FleetOptions(cores, 10, 7, 1, 5)), 8).WriteTo(local, rigId);
            error.WriteLine($"rig store: {summary.Results:N0} results of {summary.Devices:N0} Cores generated in {clock.Elapsed.TotalSeconds:0.0} s");

            // Each repeat syncs the whole store into a fresh fleet database (a new target, so the rig sends everything).
            var rates = new List<double>();
            var bounds = new List<(double Serial, double Overlapped)>();
            string admin = "";
            for (var i = 1; i <= repeat; i++)
            {
                admin = server.CreateDatabase();
                FleetSchema.Init(admin);
                var rig = FleetSchema.AddRig(admin, rigId, $"hilrig_bench_{Guid.NewGuid():N}"[..24]);
                server.Owns(rig.Role);
                var sync = new FleetSync(local, rig.ConnectionString, rig.RigId) { BatchSize = batch };
                var cpuBefore = server.CpuSeconds();
                var clientBefore = Process.GetCurrentProcess().TotalProcessorTime;
                var report = sync.Sync();
                var serverCpu = server.CpuSeconds() - cpuBefore;
                var clientCpu = (Process.GetCurrentProcess().TotalProcessorTime - clientBefore).TotalSeconds;
                var rate = report.ResultsInserted / report.Elapsed.TotalSeconds;
                rates.Add(rate);
                if (serverCpu is { } used)
                    bounds.Add(Bound(report.ResultsInserted, used, clientCpu));
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"sync {i}/{repeat}: {report.ResultsInserted:N0} results (+ {report.Devices:N0} devices, {report.Runs} runs) in {report.Elapsed.TotalSeconds:0.00} s = {rate:N0} results/s, {report.Batches} batches of {sync.BatchSize:N0}; server CPU {(serverCpu is { } cpu ? $"{cpu:0.00} s ({cpu / report.Elapsed.TotalSeconds * 100:0} % of a core, {cpu * 1e6 / Math.Max(1, report.ResultsInserted):0} µs/result)" : "unknown (not a throw-away server)")}, hilrig CPU {clientCpu:0.00} s ({clientCpu * 1e6 / Math.Max(1, report.ResultsInserted):0} µs/result); load {LoadAverage()}"));
                if (i == repeat)
                {
                    var again = sync.Sync();
                    output.WriteLine($"sync again: {again.ResultsSent} sent, {again.ResultsInserted} inserted, {again.Elapsed.TotalMilliseconds:0} ms");
                }
            }
            rates.Sort();
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"sync results/s: best {rates[^1]:N0}, median {rates[rates.Count / 2]:N0} of {repeat} (goal >= 20,000/s; {Environment.ProcessorCount} cores, load {LoadAverage()}){(rates[rates.Count / 2] >= 20_000 ? "" : " MISSED")}"));

            if (bounds.Count > 0)
            {
                // What the CPU the sync used allows on this machine with nothing else running: the wall time above is
                // stretched by whatever shares the cores. Serial: the server and hilrig never work at once; overlapped:
                // each on a core of its own, the busier one sets the pace.
                var median = bounds.OrderBy(b => b.Overlapped).ElementAt(bounds.Count / 2);
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"sync results/s from CPU alone (median of {bounds.Count}): {median.Serial:N0} with the server and hilrig taking turns, {median.Overlapped:N0} with each on an idle core of its own"));
            }

            clock.Restart();
            Generate(admin, results);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"fleet: {results:N0} generated results + the synced ones, summaries built, in {clock.Elapsed.TotalSeconds:0.0} s"));

            var queries = ResultsQueries.Over(() => new NpgsqlConnection(admin));
            var worst = queries.Lots().Lots[0].Lot;
            Time(output, "failure rate by lot (lot_counts)", () => queries.LotCounts(), "goal < 200 ms");
            Time(output, "lots page (intervals, p-chart)", () => queries.Lots(), "goal < 300 ms");
            Time(output, $"one lot's page ({worst})", () => queries.Lot(worst), "goal < 300 ms");
            Time(output, "rollup by lot and day (30 days)", () => Query(admin, "SELECT lot, SUM(results), SUM(failed) FROM rollup_lot_day WHERE day >= '2026-01-01' GROUP BY lot"), "");
            return ExitCodes.Ok;
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>Results per second that the CPU seconds spent allow, serially and with server and hilrig overlapped.</summary>
    internal static (double Serial, double Overlapped) Bound(long results, double serverCpu, double clientCpu) =>
        (results / Math.Max(1e-3, serverCpu + clientCpu), results / Math.Max(1e-3, Math.Max(serverCpu, clientCpu)));

    /// <summary>The 1-minute load average: other work on the machine the figures shared it with.</summary>
    internal static string LoadAverage()
    {
        try
        {
            return File.ReadAllText("/proc/loadavg").Split(' ')[0];
        }
        catch (IOException)
        {
            return "unknown";
        }
    }

    /// <summary>
    /// A fleet of <paramref name="results"/> screening attempts written by the server itself (ids UUID-shaped, as the pages
    /// parse them): 20 rigs, 3 tests per
    /// device, retests as later attempts, 40 lots of which lot 0 fails ten times as often; then the summaries.
    /// </summary>
    internal static void Generate(string admin, long results)
    {
        // Four results per device (dfu-readback, ota, factory-reset, then a dfu-readback retest), all on one rig, run and
        // slot within 4 minutes, as a rig screens a device; every 50th device has its retest a day later (re-screened on
        // another day). The fleet screens one result every 60 ms (60,000 results an hour, 1.44 M a day: 20 rigs of 16
        // slots at a device per slot every 5 minutes would make 15,000; this is the dense end).
        var devices = Math.Max(1, (results + 3) / 4);
        var failure = NamedFailure("g");
        using var db = new NpgsqlConnection(admin);
        db.Open();
        db.Execute(
            $"""
            INSERT INTO devices (device_id, lot, first_seen)
            SELECT 'g' || lpad(to_hex(g), 23, '0'), 'GEN-LOT-' || lpad((g % 40)::text, 2, '0'), '2026-01-01T00:00:00.0000000Z'
            FROM generate_series(0::bigint, {devices - 1}) g
            """, commandTimeout: 0);
        // a run is 250 devices (1,000 results) of one rig over a minute; the rigs on 4 lines
        db.Execute(
            $"""
            INSERT INTO runs (id, rig_id, config_hash, seed, bootloader, kind, started_at, ended_at, status, line)
            SELECT '00000000-0000-7000-8000-' || lpad(to_hex(g), 12, '0'), 'gen-rig-' || (g % 20), 'generated', 1, 'BL14', 'screen',
                   to_char(timestamp '2026-01-01' + g * interval '1 minute', 'YYYY-MM-DD"T"HH24:MI:SS".0000000Z"'), NULL, 'passed',
                   'line-' || (1 + (g % 20) % 4)
            FROM generate_series(0::bigint, {(results / 1000) + 1}) g
            """, commandTimeout: 0);
        db.Execute(
            $"""
            INSERT INTO results (id, run_id, device_id, slot, test, cycle, attempt, verdict, failure_mode, signature, device_time_ms, started_at, ended_at, evidence_json)
            SELECT '00000001-0000-7000-8000-' || lpad(to_hex(g), 12, '0'),
                   '00000000-0000-7000-8000-' || lpad(to_hex(g / 1000), 12, '0'),
                   'g' || lpad(to_hex(g / 4), 23, '0'),
                   1 + ((g / 4) % 16)::int,
                   (ARRAY['dfu-readback', 'ota', 'factory-reset', 'dfu-readback'])[1 + (g % 4)::int],
                   NULL,
                   CASE WHEN g % 4 = 3 THEN 2 ELSE 1 END,
                   x.verdict,
                   CASE WHEN x.verdict = 'fail' THEN {failure.Mode} END, CASE WHEN x.verdict = 'fail' THEN {failure.Signature} END, 5300,
                   to_char(t, 'YYYY-MM-DD"T"HH24:MI:SS.US"0Z"'),
                   to_char(t + interval '5 seconds', 'YYYY-MM-DD"T"HH24:MI:SS.US"0Z"'),
                   NULL
            FROM generate_series(0::bigint, {results - 1}) g,
                 LATERAL (SELECT timestamp '2026-01-01' + (g / 4) * interval '240 milliseconds' + (g % 4) * interval '80 seconds'
                                 + CASE WHEN g % 4 = 3 AND (g / 4) % 50 = 7 THEN interval '1 day' ELSE interval '0' END AS t,
                                 CASE WHEN ((g * 2654435761) % 1000) < (CASE WHEN (g / 4) % 40 = 0 THEN 200 ELSE 20 END) THEN 'fail'
                                      WHEN ((g * 40503) % 1000) < 5 THEN 'rig-fault' ELSE 'pass' END AS verdict) x
            """, commandTimeout: 0);
        ResultsStore.OpenPostgres(admin).RebuildSummaries();
        // Planner statistics for the new tables, table by table (all named, so a fresh database needs no superuser).
        foreach (var table in new[] { "devices", "runs", "results", "unit_tests", "units", "lot_counts" })
            db.Execute($"ANALYZE {table}", commandTimeout: 0);
    }

    /// <summary>
    /// The failure mode and signature of the generated failed result number <paramref name="g"/> (a SQL bigint), as the
    /// screen writes them for its test (g % 4: 0 and 3 the readback, 1 the OTA, 2 the factory reset), by a hash of g so
    /// a copy of a fleet generated before can be given the same ones: a dominant mode (bad-external-flash, its signatures
    /// the readback's stuck bits, erase failures, a dead chip and a hung one), medium ones (no-listening-mode, ota-failed,
    /// stuck-in-dfu, ota-timeout) and a rare one (bricked, about 0.75 % of failures).
    /// </summary>
    internal static (string Mode, string Signature) NamedFailure(string g)
    {
        // two independent draws in 0..2^32-1 (hashint8 is int4; shifted so no abs() of its minimum)
        var m = $"((hashint8({g})::bigint + 2147483648) % 100)";
        var h = $"(hashint8(-1 - ({g}))::bigint + 2147483648)";
        var bits = $"(1 + {h} % 4)";
        var at0 = $"(({h} / 4) % (1 + {h} % 4))";
        // 32 sectors of 4 KiB from 0x080000, 2 first addresses in each: about 900 stuck-bit and 128 erase signatures, so at
        // 10 M results the lots' signature rows number about 36,000, as a rig's store of the simulated screen had
        var sector = $"upper(lpad(to_hex(524288 + ({h} / 20 % 32) * 4096), 6, '0'))";
        var first = $"upper(lpad(to_hex(524288 + ({h} / 20 % 32) * 4096 + ({h} / 640 % 2) * 256), 6, '0'))";
        var mode =
            $"""
            CASE ({g}) % 4 WHEN 1 THEN CASE WHEN {m} < 85 THEN '{FailureModes.OtaFailed}' ELSE '{FailureModes.OtaTimeout}' END
                           WHEN 2 THEN CASE WHEN {m} < 97 THEN '{FailureModes.NoListeningMode}' ELSE '{FailureModes.Bricked}' END
                           ELSE CASE WHEN {m} < 85 THEN '{FailureModes.BadExternalFlash}' ELSE '{FailureModes.StuckInDfu}' END END
            """;
        var signature =
            $"""
            CASE ({g}) % 4 WHEN 1 THEN CASE WHEN {m} < 85 THEN 'the Core came back running tinker, not hilrig-check'
                                            ELSE 'no new app on the cloud within 120 s; cloud said nothing; Core: online' END
                           WHEN 2 THEN CASE WHEN {m} < 97 THEN 'no listening mode (flashing blue, serial port) within 30 s of the factory reset'
                                            ELSE 'nothing after a reset: no DFU, no serial, not on the cloud' END
                           ELSE CASE WHEN {m} < 72 THEN format('%s bit error(s): %s stuck-at-0, %s stuck-at-1; first at 0x%s; 1 sector(s) affected',
                                                               {bits}, {at0}, {bits} - {at0}, {first})
                                     WHEN {m} < 82 THEN format('erase failure in 1 sector(s) 0x%s; %s bit error(s): %s stuck-at-0, 0 stuck-at-1; first at 0x%s; 1 sector(s) affected',
                                                               {sector}, 64 * (1 + {h} % 4), 64 * (1 + {h} % 4), {sector})
                                     WHEN {m} < 84 THEN 'no cell programs: 8192 of 8192 bits read 1 after programming 0 (chip dead or write-protected)'
                                     WHEN {m} < 85 THEN 'SPI flash never finishes the erase of ota (0x080000), again after a power cycle: BUSY stays set (dead or hung chip); the restore of ota was refused'
                                     ELSE 'the external flash reads back clean but the Core falls back into DFU at every boot (no valid app) and no known-good app was given to write' END END
            """;
        return (mode, signature);
    }

    /// <summary>
    /// Gives the failed results of a fleet generated before <see cref="NamedFailure"/> the modes and signatures a fleet
    /// generated now has (its result ids carry g), then recounts what the ingest keeps of them.
    /// </summary>
    internal static readonly string[] NameFailures =
    [
        $"""
        UPDATE results r SET failure_mode = n.mode, signature = n.signature
        FROM (SELECT id, {NamedFailure("y.g").Mode} AS mode, {NamedFailure("y.g").Signature} AS signature
              FROM (SELECT id, ('x' || right(id, 12))::bit(48)::bigint AS g FROM results WHERE verdict = 'fail') y) n
        WHERE r.id = n.id
        """,
        // lot_failures keeps each failed result's mode and signature (its other columns stay); the rollups are counted from it
        "UPDATE lot_failures f SET failure_mode = r.failure_mode, signature = r.signature FROM results r WHERE r.id = f.result_id",
        .. FleetSchema.CountLotFailureRollups,
        "VACUUM ANALYZE results",
        "VACUUM ANALYZE lot_failures",
        "VACUUM ANALYZE rollup_lot_failures",
    ];

    private static void Time(TextWriter output, string what, Action query, string goal)
    {
        query(); // warm: plans and the pages it reads
        var times = new List<double>();
        for (var i = 0; i < 5; i++)
        {
            var clock = Stopwatch.StartNew();
            query();
            times.Add(clock.Elapsed.TotalMilliseconds);
        }
        times.Sort();
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{what}: median {times[2]:0.0} ms (min {times[0]:0.0}, max {times[^1]:0.0}){(goal.Length > 0 ? $"; {goal}" : "")}"));
    }

    private static void Query(string connection, string sql)
    {
        using var db = new NpgsqlConnection(connection);
        db.Open();
        db.Query(sql).AsList();
    }
}
