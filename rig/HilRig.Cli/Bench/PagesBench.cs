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
/// (over HTTP from <c>hilrig dashboard</c>'s app: queries, statistics, HTML), with the filters and formats a user opens
/// (<see cref="Pages"/>), median and p95 of --runs after one warm-up; or, with --cold, each page's first request on a
/// dashboard just opened. A line's
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
        var cold = new Option<bool>("--cold") { Description = "instead: each page's first request on a dashboard just opened, the store's file dropped from the OS page cache first (Linux), and again cached (goal < 1 s)" };
        var command = new Command("pages", "Every dashboard page over a rig's SQLite store of --results rows, over HTTP, with the filters and formats a user opens: lots, a lot, runs, a run, a slot, modes, a mode, soak, a build, rigs, a device, search, campaigns; over a day, 7 days, a shift, a rig; CSV and JSON (goal < 300 ms each)");
        command.Options.Add(results);
        command.Options.Add(lots);
        command.Options.Add(cache);
        command.Options.Add(runs);
        command.Options.Add(connections);
        command.Options.Add(cold);
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
                    pr.GetValue(runs), pr.GetValue(connections)!, pr.GetValue(cold));
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
        int runs = 20, string connections = "per-request", bool cold = false)
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
        var pages = Pages(path, queries);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"store {path}: {CountResults(path):N0} results, schema {ResultsStore.LatestSchemaVersion}{(generated > TimeSpan.Zero ? $", generated in {generated.TotalSeconds:0} s" : ", cached")}"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"connections {connections}, {runs} runs a page; load average {FleetPagesBench.LoadAverages()} ({Environment.ProcessorCount} cores)"));
        if (cold)
            return await FirstRequestsAsync(path, pages, output, ct);

        await using var app = DashboardApp.Build(queries, "http://127.0.0.1:0");
        await app.StartAsync(ct);
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri(DashboardApp.Addresses(app)[0]), Timeout = TimeSpan.FromMinutes(5) };
            var missed = 0;
            foreach (var (what, url) in pages)
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

    /// <summary>
    /// Every page a user can open over the store, its filters included: the routes of <see cref="DashboardApp"/> with
    /// the dates, rig and format a user picks (a day, 7 days, a shift off the hour; the store's rig; CSV and JSON), each
    /// named readably; keys (lots, a mode, a run, a device) chosen from the store as the heaviest a user meets.
    /// </summary>
    private static List<(string What, string Url)> Pages(string path, ResultsQueries queries)
    {
        string flagged, typical, device, retested, mode, build, run, soakRun, day, rig;
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
            // the most screening attempts of a test, and of those the device with the most results (a soaked one's cycles)
            retested = One(
                """
                SELECT e.device_id FROM unit_test_ends e WHERE e.last_attempt = (SELECT MAX(last_attempt) FROM unit_test_ends)
                ORDER BY (SELECT COUNT(*) FROM results r WHERE r.device_id = e.device_id) DESC, e.device_id LIMIT 1
                """) ?? device;
            mode = One("SELECT failure_mode FROM results WHERE verdict = 'fail' AND failure_mode IS NOT NULL GROUP BY failure_mode ORDER BY COUNT(*) DESC LIMIT 1") ?? "none";
            build = One("SELECT bootloader FROM runs WHERE kind = 'soak' AND bootloader IS NOT NULL ORDER BY started_at DESC LIMIT 1") ?? "none";
            run = One("SELECT id FROM runs WHERE kind = 'screen' ORDER BY started_at DESC, id DESC LIMIT 1")!;
            soakRun = One("SELECT id FROM runs WHERE kind = 'soak' ORDER BY started_at DESC, id DESC LIMIT 1") ?? run;
            day = One("SELECT substr(MAX(started_at), 1, 10) FROM runs")!;
            rig = One("SELECT rig_id FROM runs GROUP BY rig_id ORDER BY COUNT(*) DESC, rig_id LIMIT 1")!;
            slot = int.Parse(One("SELECT MIN(slot) FROM results")!, CultureInfo.InvariantCulture);
        }
        var e = (Func<string, string>)Uri.EscapeDataString;
        var last = DateOnly.ParseExact(day, "yyyy-MM-dd", CultureInfo.InvariantCulture);
        string Day(DateOnly d) => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        // 7 days up to the newest; a day shift off the hour on the day before it (the newest day may end before 06:30)
        var week = $"from={Day(last.AddDays(-6))}&to={day}";
        var shiftDay = Day(last.AddDays(-1));
        var shift = $"from={shiftDay}T06:30&to={shiftDay}T14:30";
        var oneDay = $"from={day}&to={day}";
        return
        [
            ("lots page", "/lots"),
            ($"lots page, one day ({day})", $"/lots?{oneDay}"),
            ($"one lot's page, flagged ({flagged})", "/lots/" + e(flagged)),
            ($"one lot's page, typical ({typical})", "/lots/" + e(typical)),
            ("runs page (50 newest)", "/runs"),
            ($"runs page, one day ({day})", $"/runs?{oneDay}"),
            ("one screen run", "/runs/" + run),
            ("one soak run", "/runs/" + soakRun),
            ($"one screen run's slot {slot}", $"/runs/{run}/slots/{slot}"),
            ($"one lot's page, one day ({day})", $"/lots/{e(flagged)}?{oneDay}"),
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
            // the filters and formats a user opens from the pages above
            ("lots page, 7 days", $"/lots?{week}"),
            ($"lots page, shift ({shiftDay} 06:30-14:30)", $"/lots?{shift}"),
            ($"lots page, rig {rig}", $"/lots?rig={e(rig)}"),
            ("lots page, target 1 %", "/lots?target=0.01"),
            ("lots as CSV", "/lots?format=csv"),
            ("lots as JSON, 7 days", $"/lots?{week}&format=json"),
            ("one lot's page, flagged, 7 days", $"/lots/{e(flagged)}?{week}"),
            ("one lot's page, flagged, shift", $"/lots/{e(flagged)}?{shift}"),
            ("one lot's page, typical, shift", $"/lots/{e(typical)}?{shift}"),
            ($"one lot's page, flagged, rig {rig}", $"/lots/{e(flagged)}?rig={e(rig)}"),
            ("one lot's page, flagged, as JSON", $"/lots/{e(flagged)}?format=json"),
            ("one lot's devices as CSV", $"/lots/{e(flagged)}?format=csv"),
            ("runs page, 7 days", $"/runs?{week}"),
            ($"runs page, rig {rig}", $"/runs?rig={e(rig)}"),
            ("runs page, all (limit 10000)", "/runs?limit=10000"),
            ("one soak run as CSV", $"/runs/{soakRun}?format=csv"),
            ("modes as JSON", "/modes?format=json"),
            ("modes as CSV", "/modes?format=csv"),
            ($"one failure mode, one day", $"/modes/{e(mode)}?{oneDay}"),
            ($"one failure mode, 7 days", $"/modes/{e(mode)}?{week}"),
            ($"one failure mode, shift", $"/modes/{e(mode)}?{shift}"),
            ($"one failure mode, rig {rig}", $"/modes/{e(mode)}?rig={e(rig)}"),
            ($"one slot, one day", $"/slots/{slot}?{oneDay}"),
            ($"one slot, 7 days", $"/slots/{slot}?{week}"),
            ($"one slot, shift", $"/slots/{slot}?{shift}"),
            ($"one slot, rig {rig}", $"/slots/{slot}?rig={e(rig)}"),
            ("rigs page, one day", $"/rigs?{oneDay}"),
            ("rigs page, 7 days", $"/rigs?{week}"),
            ("rigs page, shift", $"/rigs?{shift}"),
            ($"rigs page, rig {rig}", $"/rigs?rig={e(rig)}"),
            ("rigs as CSV", "/rigs?format=csv"),
            ($"most-retested device ({retested})", "/devices/" + retested),
            ("most-retested device as JSON", $"/devices/{retested}?format=json"),
            ($"search by a lot-like prefix ({flagged[..Math.Min(7, flagged.Length)]})", "/search?q=" + e(flagged[..Math.Min(7, flagged.Length)])),
            ("search by a DFU-serial prefix (3A0042)", "/search?q=3A0042"),
            ("campaigns page (none in a rig's store)", "/campaigns"),
        ];
    }

    /// <summary>
    /// The first request of each page on a dashboard just opened over the store (a user after a restart): a new app and
    /// store open per page, the store's file first dropped from the OS page cache (Linux: as after a machine restart;
    /// only this file's pages), then the same page again on another fresh app with the file cached (after a dashboard restart).
    /// </summary>
    /// <returns>The pages whose first request took over <see cref="ColdTargetMs"/>.</returns>
    private static async Task<int> FirstRequestsAsync(string path, List<(string What, string Url)> pages, TextWriter output, CancellationToken ct)
    {
        async Task<(double Ms, double CpuMs, int Status)> First(string url)
        {
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            var clock = Stopwatch.StartNew();
            // as `hilrig dashboard` does: the store opened, then the app built over it
            var queries = ResultsQueries.OpenSqlite(path);
            await using var app = DashboardApp.Build(queries, "http://127.0.0.1:0");
            await app.StartAsync(ct);
            try
            {
                using var http = new HttpClient { BaseAddress = new Uri(DashboardApp.Addresses(app)[0]), Timeout = TimeSpan.FromMinutes(10) };
                using var response = await http.GetAsync(new Uri(url, UriKind.Relative), ct);
                await response.Content.ReadAsStringAsync(ct);
                return (clock.Elapsed.TotalMilliseconds, (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds, (int)response.StatusCode);
            }
            finally
            {
                await app.StopAsync(ct);
            }
        }
        var missed = 0;
        foreach (var (what, url) in pages)
        {
            var evicted = DropFromPageCache(path);
            var (coldMs, coldCpu, status) = await First(url);
            var (warmMs, warmCpu, _) = await First(url);
            var over = coldMs >= ColdTargetMs || status != 200;
            missed += over ? 1 : 0;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{what}: first request {(evicted ? "file uncached" : "file as cached")} {coldMs:0} ms (CPU {coldCpu:0}), file cached {warmMs:0} ms (CPU {warmCpu:0}){(status != 200 ? $"; HTTP {status}" : "")}; goal < {ColdTargetMs:0} ms{(over ? " MISSED" : "")}"));
        }
        output.WriteLine($"load average after the pages: {FleetPagesBench.LoadAverages()}");
        output.WriteLine(missed == 0 ? "targets met" : $"TARGETS MISSED: {missed}");
        return missed;
    }

    /// <summary>A page's first request after the dashboard opens may take this long (its later ones: <see cref="FleetPagesBench.PageTargetMs"/>).</summary>
    public const double ColdTargetMs = 1000;

    /// <summary>Drops the store's file (and its WAL) from the OS page cache, as a restart would find it; false where that is not possible.</summary>
    private static bool DropFromPageCache(string path)
    {
        if (!OperatingSystem.IsLinux()) return false;
        var dropped = true;
        foreach (var file in new[] { path, path + "-wal" }.Where(File.Exists))
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            dropped &= PosixFadvise((int)stream.SafeFileHandle.DangerousGetHandle(), 0, 0, PosixFadvDontNeed) == 0;
        }
        return dropped;
    }

    private const int PosixFadvDontNeed = 4;

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "posix_fadvise")]
    private static extern int PosixFadvise(int fd, long offset, long length, int advice);

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
