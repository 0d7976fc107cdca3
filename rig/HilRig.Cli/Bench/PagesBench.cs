using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using HilRig.Core.Results;
using HilRig.Dashboard;
using HilRig.Reports.Queries;
using Microsoft.Data.Sqlite;

namespace HilRig.Cli.Bench;

/// <summary>
/// <c>hilrig bench pages</c>: every dashboard page over a rig's own SQLite store of N results, as a browser gets it
/// (over HTTP from <c>hilrig dashboard</c>'s app: queries, statistics, HTML), median and p95 of --runs after one warm-up. A line's
/// rig keeps months of results in SQLite, so each page has the fleet's goal (<see cref="FleetPagesBench.PageTargetMs"/>).
/// The store is `bench lots`' (the fleet fast path: one Core in ten also soaked for 90 cycles), cached and shared.
/// </summary>
internal static class PagesBench
{
    public static Command Command()
    {
        var results = new Option<long>("--results") { Description = "results in the store (1000..50000000)", DefaultValueFactory = _ => 1_000_000 };
        var lots = new Option<int>("--lots") { Description = "chip lots", DefaultValueFactory = _ => 40 };
        var cache = new Option<DirectoryInfo?>("--cache") { Description = "folder for the generated store, reused by later runs (default: $XDG_CACHE_HOME/hilrig or ~/.cache/hilrig)" };
        var runs = new Option<int>("--runs") { Description = "timed requests per page, after one warm-up (5..1000)", DefaultValueFactory = _ => 20 };
        var connections = new Option<string>("--connections")
        {
            Description = "how the pages connect: per-request (the dashboard: one unpooled connection per request), per-use (one per query), pooled (what pooling would give)",
            DefaultValueFactory = _ => "per-request",
        };
        connections.AcceptOnlyFromAmong("per-request", "per-use", "pooled");
        var command = new Command("pages", "Every dashboard page over a rig's SQLite store of --results rows, over HTTP: lots, a lot, runs, a run, a slot, modes, soak, a build, rigs, a device, search (goal < 300 ms each)");
        command.Options.Add(results);
        command.Options.Add(lots);
        command.Options.Add(cache);
        command.Options.Add(runs);
        command.Options.Add(connections);
        command.SetAction(async (ParseResult pr, CancellationToken ct) =>
        {
            var (output, error) = (pr.InvocationConfiguration.Output, pr.InvocationConfiguration.Error);
            var n = pr.GetValue(results);
            if (n is < 1000 or > 50_000_000)
            {
                error.WriteLine($"hilrig: --results {n}: valid: 1000..50000000");
                return ExitCodes.BadInput;
            }
            if (pr.GetValue(lots) is < 1 or > 10_000)
            {
                error.WriteLine($"hilrig: --lots {pr.GetValue(lots)}: valid: 1..10000");
                return ExitCodes.BadInput;
            }
            if (pr.GetValue(runs) is < 5 or > 1000)
            {
                error.WriteLine($"hilrig: --runs {pr.GetValue(runs)}: valid: 5..1000");
                return ExitCodes.BadInput;
            }
            try
            {
                var missed = await RunAsync(n, pr.GetValue(lots), pr.GetValue(cache)?.FullName ?? LotsBench.DefaultCache(), output, ct,
                    pr.GetValue(runs), pr.GetValue(connections)!);
                return missed == 0 ? ExitCodes.Ok : ExitCodes.DutFailed;
            }
            catch (ResultsStoreException e)
            {
                error.WriteLine($"hilrig: {e.Message}");
                return ExitCodes.BadInput;
            }
        });
        return command;
    }

    /// <returns>The pages whose median missed the goal.</returns>
    public static async Task<int> RunAsync(long results, int lots, string cacheDir, TextWriter output, CancellationToken ct,
        int runs = 20, string connections = "per-request")
    {
        var (path, generated) = LotsBench.EnsureStore(results, lots, cacheDir, output);
        var queries = ResultsQueries.OpenSqlite(path); // brings an older cached store to the latest schema (its indexes)
        // per-use and pooled: queries over a plain connection factory, which the dashboard's per-request sharing leaves alone
        if (connections != "per-request")
        {
            var connectionString = new SqliteConnectionStringBuilder(ResultsStore.SqliteConnectionString(path, readOnly: true))
                { Pooling = connections == "pooled" }.ToString();
            queries = ResultsQueries.Over(() => new SqliteConnection(connectionString));
        }
        string flagged, typical, device, mode, build, run, soakRun, day;
        int slot;
        using (var db = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False"))
        {
            db.Open();
            string? One(string sql)
            {
                using var cmd = db.CreateCommand();
                cmd.CommandText = sql;
                return Convert.ToString(cmd.ExecuteScalar(), CultureInfo.InvariantCulture);
            }
            var lotList = queries.Lots().Lots;
            flagged = lotList[0].Lot;
            typical = lotList[lotList.Count / 2].Lot;
            device = One($"SELECT device_id FROM units WHERE lot = '{flagged.Replace("'", "''", StringComparison.Ordinal)}' ORDER BY failed DESC, device_id LIMIT 1")!;
            mode = One("SELECT failure_mode FROM results WHERE verdict = 'fail' AND failure_mode IS NOT NULL GROUP BY failure_mode ORDER BY COUNT(*) DESC LIMIT 1") ?? "none";
            build = One("SELECT bootloader FROM runs WHERE kind = 'soak' AND bootloader IS NOT NULL ORDER BY started_at DESC LIMIT 1") ?? "none";
            run = One("SELECT id FROM runs WHERE kind = 'screen' ORDER BY started_at DESC, id DESC LIMIT 1")!;
            soakRun = One("SELECT id FROM runs WHERE kind = 'soak' ORDER BY started_at DESC, id DESC LIMIT 1") ?? run;
            day = One("SELECT substr(MAX(started_at), 1, 10) FROM runs")!;
            slot = int.Parse(One("SELECT MIN(slot) FROM results")!, CultureInfo.InvariantCulture);
        }
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"store {path}: {CountResults(path):N0} results, schema {ResultsStore.LatestSchemaVersion}{(generated > TimeSpan.Zero ? $", generated in {generated.TotalSeconds:0} s" : ", cached")}"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"connections {connections}, {runs} runs a page; load average {FleetPagesBench.LoadAverages()} ({Environment.ProcessorCount} cores)"));

        await using var app = DashboardApp.Build(queries, "http://127.0.0.1:0");
        await app.StartAsync(ct);
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri(DashboardApp.Addresses(app)[0]), Timeout = TimeSpan.FromMinutes(5) };
            var e = (Func<string, string>)Uri.EscapeDataString;
            var missed = 0;
            foreach (var (what, url) in (IEnumerable<(string, string)>)
            [
                ("lots page", "/lots"),
                ($"lots page, one day ({day})", $"/lots?from={day}&to={day}"),
                ($"one lot's page, flagged ({flagged})", "/lots/" + e(flagged)),
                ($"one lot's page, typical ({typical})", "/lots/" + e(typical)),
                ("runs page (50 newest)", "/runs"),
                ($"runs page, one day ({day})", $"/runs?from={day}&to={day}"),
                ("one screen run", "/runs/" + run),
                ("one soak run", "/runs/" + soakRun),
                ($"one screen run's slot {slot}", $"/runs/{run}/slots/{slot}"),
                ($"one lot's page, one day ({day})", $"/lots/{e(flagged)}?from={day}&to={day}"),
                ("modes page", "/modes"),
                ($"one failure mode ({mode})", "/modes/" + e(mode)),
                ("slots page", "/slots"),
                ($"one slot ({slot})", $"/slots/{slot}"),
                ("soak page", "/soak"),
                ($"one build ({build})", "/builds/" + e(build)),
                ("rigs page", "/rigs"),
                ($"one device ({device})", "/devices/" + device),
                ("device search by prefix", "/search?q=" + device[..6]),
                ("lots as JSON", "/lots?format=json"),
            ])
                missed += await TimeAsync(http, output, what, url, runs, ct);
            output.WriteLine($"load average after the pages: {FleetPagesBench.LoadAverages()}");
            output.WriteLine(missed == 0 ? "targets met" : $"TARGETS MISSED: {missed}");
            return missed;
        }
        finally
        {
            await app.StopAsync(ct);
            SqliteConnection.ClearAllPools();
        }
    }

    /// <returns>1 when the median misses the goal, else 0.</returns>
    internal static async Task<int> TimeAsync(HttpClient http, TextWriter output, string what, string url, int runs, CancellationToken ct)
    {
        async Task<(double Ms, int Status)> Get()
        {
            var clock = Stopwatch.StartNew();
            using var response = await http.GetAsync(new Uri(url, UriKind.Relative), ct);
            await response.Content.ReadAsStringAsync(ct);
            return (clock.Elapsed.TotalMilliseconds, (int)response.StatusCode);
        }
        var (_, status) = await Get(); // warm: plans and the pages it reads
        var times = new List<double>();
        // the server runs in this process: its CPU time per request is what the page costs whatever else the machine does
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        for (var i = 0; i < runs; i++)
            times.Add((await Get()).Ms);
        var cpuMs = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds / runs;
        times.Sort();
        var median = times.Count % 2 == 1 ? times[times.Count / 2] : (times[times.Count / 2 - 1] + times[times.Count / 2]) / 2;
        var p95 = times[(int)Math.Ceiling(0.95 * times.Count) - 1]; // nearest rank
        var missed = median >= FleetPagesBench.PageTargetMs || status != 200;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{what}: median {median:0.0} ms, p95 {p95:0.0} ms (min {times[0]:0.0}, max {times[^1]:0.0}; CPU {cpuMs:0.0} ms a request){(status != 200 ? $"; HTTP {status}" : "")}; goal < {FleetPagesBench.PageTargetMs:0} ms{(missed ? " MISSED" : "")}"));
        return missed ? 1 : 0;
    }

    private static long CountResults(string path)
    {
        using var db = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False");
        db.Open();
        using var cmd = db.CreateCommand();
        // MAX(rowid) is the row count of an append-only table without scanning it
        cmd.CommandText = "SELECT MAX(rowid) FROM results";
        return Convert.ToInt64(cmd.ExecuteScalar(), CultureInfo.InvariantCulture);
    }
}
