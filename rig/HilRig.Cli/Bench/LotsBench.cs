using System.Diagnostics;
using System.Globalization;
using HilRig.Core.Results;
using HilRig.Dashboard;
using HilRig.Reports.Html;
using HilRig.Reports.Queries;
using HilRig.Sim.Fleet;

namespace HilRig.Cli.Bench;

/// <summary>
/// `hilrig bench lots`: the failure-rate-by-lot query and the lots page over a store of millions of results. The
/// store is generated once by the fleet fast path (one screened Core in ten also soaked for 90 cycles, so 10 M
/// results are 1 M Cores) and cached outside the repository; later runs reuse it.
/// </summary>
internal static class LotsBench
{
    public const double QueryTargetMs = 200;
    public const double PageTargetMs = 500;

    public sealed record Figures(long Results, int Lots, double QueryMs, double QueryColdMs, double PageMs, double HttpPageMs, double LotPageMs, TimeSpan Generated)
    {
        public bool MeetsTargets => QueryMs < QueryTargetMs && PageMs < PageTargetMs && HttpPageMs < PageTargetMs;
    }

    public static string DefaultCache() =>
        Path.Combine(Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } x ? x : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache"), "hilrig");

    /// <summary>
    /// The generated store of about <paramref name="results"/> results in <paramref name="lots"/> lots, made once by the
    /// fleet fast path and cached (`bench lots` and `bench pages` share it); how long generating took, zero when cached.
    /// </summary>
    public static (string Path, TimeSpan Generated) EnsureStore(long results, int lots, string cacheDir, TextWriter output)
    {
        var cores = (int)Math.Max(1, results / 10);
        var path = Path.Combine(cacheDir, string.Create(CultureInfo.InvariantCulture, $"bench-lots-{cores}c-{lots}l-s1.db"));
        var generated = TimeSpan.Zero;
        if (!File.Exists(path))
        {
            output.WriteLine($"generating {cores} Cores (~{results} results) with the fleet fast path into {path} (once; cached) ...");
            var sw = Stopwatch.StartNew();
            var partial = path + ".partial";
            foreach (var f in Directory.Exists(cacheDir) ? Directory.GetFiles(cacheDir, Path.GetFileName(partial) + "*") : [])
                File.Delete(f);
            var plan = FleetPlan.Create(new FleetOptions(cores, lots, 1, Math.Max(1, lots / 8), SoakCycles: 90, SoakEvery: 10));
            var store = ResultsStore.Open(partial);
            // the store only says when a phase ends; the wall clock is the bench's, never Core's
            var phaseClock = Stopwatch.StartNew();
            new FleetFastPath(plan, 8).WriteTo(store, "bench-rig", phase =>
            {
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {phase}: {phaseClock.Elapsed.TotalSeconds:0.0} s"));
                phaseClock.Restart();
            });
            // Fold the write-ahead log into the file before it is renamed into place.
            using (var db = new Microsoft.Data.Sqlite.SqliteConnection(ResultsStore.SqliteConnectionString(partial)))
            {
                db.Open();
                using var cmd = db.CreateCommand();
                cmd.CommandText = "PRAGMA wal_checkpoint(TRUNCATE); ANALYZE;";
                var analyze = Stopwatch.StartNew();
                cmd.ExecuteNonQuery();
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  statistics (ANALYZE): {analyze.Elapsed.TotalSeconds:0.0} s"));
            }
            File.Move(partial, path);
            generated = sw.Elapsed;
        }

        return (path, generated);
    }

    public static async Task<Figures> RunAsync(long results, int lots, string cacheDir, TextWriter output, CancellationToken ct)
    {
        var (path, generated) = EnsureStore(results, lots, cacheDir, output);
        var queries = ResultsQueries.OpenSqlite(path);
        var stored = CountResults(path);
        var cold = Time(() => queries.LotCounts());
        var query = Median(7, () => queries.LotCounts());
        var page = Median(7, () => HtmlPages.Lots(queries.Lots(), links: true));
        var lotCount = queries.LotCounts().Count;
        var flagged = queries.Lots().Lots[0].Lot;

        await using var app = DashboardApp.Build(queries, "http://127.0.0.1:0");
        await app.StartAsync(ct);
        var baseUrl = DashboardApp.Addresses(app)[0];
        using var http = new HttpClient { BaseAddress = new Uri(baseUrl) };
        (await http.GetAsync(new Uri("/lots", UriKind.Relative), ct)).EnsureSuccessStatusCode();
        var httpTimes = new List<double>();
        for (var i = 0; i < 7; i++)
        {
            var sw = Stopwatch.StartNew();
            using var response = await http.GetAsync(new Uri("/lots", UriKind.Relative), ct);
            await response.Content.ReadAsStringAsync(ct);
            httpTimes.Add(sw.Elapsed.TotalMilliseconds);
        }
        var lotSw = Stopwatch.StartNew();
        using (var lotResponse = await http.GetAsync(new Uri("/lots/" + Uri.EscapeDataString(flagged), UriKind.Relative), ct))
            await lotResponse.Content.ReadAsStringAsync(ct);
        var lotPage = lotSw.Elapsed.TotalMilliseconds;
        await app.StopAsync(ct);
        httpTimes.Sort();

        var figures = new Figures(stored, lotCount, query, cold, page, httpTimes[httpTimes.Count / 2], lotPage, generated);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"store {path}: {stored:N0} results, {lotCount} lots{(generated > TimeSpan.Zero ? $", generated in {generated.TotalSeconds:0} s" : ", cached")}"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"failure rate by lot query: {query:0.00} ms median of 7 (first {cold:0.00} ms); target < {QueryTargetMs} ms"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"lots page (query + statistics + HTML/SVG): {page:0.00} ms median; over HTTP {figures.HttpPageMs:0.00} ms median; target < {PageTargetMs} ms"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"one flagged lot's page over HTTP ({flagged}): {lotPage:0} ms (not a target)"));
        output.WriteLine(figures.MeetsTargets ? "targets met" : "TARGETS MISSED");
        return figures;
    }

    private static long CountResults(string path)
    {
        using var db = new Microsoft.Data.Sqlite.SqliteConnection(ResultsStore.SqliteConnectionString(path, readOnly: true));
        db.Open();
        using var cmd = db.CreateCommand();
        // MAX(rowid) is the row count of an append-only table without scanning 10 M rows.
        cmd.CommandText = "SELECT MAX(rowid) FROM results";
        return Convert.ToInt64(cmd.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    private static double Time(Action work)
    {
        var sw = Stopwatch.StartNew();
        work();
        return sw.Elapsed.TotalMilliseconds;
    }

    private static double Median(int runs, Action work)
    {
        var times = Enumerable.Range(0, runs).Select(_ => Time(work)).Order().ToList();
        return times[runs / 2];
    }
}
