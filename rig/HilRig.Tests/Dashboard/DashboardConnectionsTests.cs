using System.Net;
using HilRig.Core.Procedures;
using HilRig.Core.Results;
using HilRig.Dashboard;
using HilRig.Reports.Queries;
using Microsoft.Data.Sqlite;

namespace HilRig.Tests.Dashboard;

/// <summary>
/// The dashboard keeps no connection to a rig's store between requests: a connection left open keeps the store's WAL
/// index mapped in the dashboard's process, where a lock dropped under it lets another process delete the WAL (the
/// lock-drop data loss). A request's queries share one connection, closed when the request ends.
/// </summary>
[Category("Integration")] // starts the dashboard's server
public class DashboardConnectionsTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 14, 8, 0, 0, TimeSpan.Zero);

    [Test]
    public async Task A_requests_queries_share_one_connection_and_none_is_open_between_requests()
    {
        var folder = Directory.CreateTempSubdirectory("hilrig-connections-").FullName;
        var path = Path.Combine(folder, "hilrig.db");
        var store = ResultsStore.Open(path);
        var run = store.StartRun(new RunInfo("rig-a", "hash", 1, "BL14", "screen", T0));
        store.RecordResult(new ResultRecord(run, "55ff00000000000000000001", 1, "dfu-readback", Verdict.Fail, T0, T0.AddSeconds(20),
            FailureMode: "stuck-bits", Signature: "stuck-at-0 at 0x020010"));
        store.RecordResult(new ResultRecord(run, "55ff00000000000000000002", 2, "dfu-readback", Verdict.Pass, T0, T0.AddSeconds(20)));
        var queries = ResultsQueries.OpenSqlite(path);

        using (queries.ShareConnection())
        {
            Assert.That(queries.Slots(), Has.Count.EqualTo(2));
            Assert.That(queries.Modes(), Has.Count.EqualTo(1));
            Assert.That(OnlyConnection(path), Is.False, "the scope's connection stays open across its queries");
        }
        Assert.That(OnlyConnection(path), Is.True, "and closes with the scope");

        await using var app = DashboardApp.Build(queries, "http://127.0.0.1:0");
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(DashboardApp.Addresses(app)[0]) };
        foreach (var page in new[] { "/lots", "/lots?from=2026-03-14&to=2026-03-14", "/slots", "/slots/1", "/modes", "/rigs", "/runs", "/soak" })
        {
            using var response = await http.GetAsync(new Uri(page, UriKind.Relative));
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), page);
            Assert.That(OnlyConnection(path), Is.True, $"no connection left open after {page}");
        }
        await app.StopAsync();
        Directory.Delete(folder, recursive: true);
    }

    /// <summary>
    /// True when no other connection (of any process) has the store open within a second: SQLite takes a store out of
    /// WAL mode only then.
    /// Put back into WAL mode before returning.
    /// </summary>
    private static bool OnlyConnection(string path)
    {
        using var db = new SqliteConnection(ResultsStore.SqliteConnectionString(path, busyTimeout: TimeSpan.FromSeconds(1)));
        db.Open();
        using var cmd = db.CreateCommand();
        try
        {
            cmd.CommandText = "PRAGMA journal_mode=DELETE";
            var mode = Convert.ToString(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
            if (mode != "delete") return false;
        }
        catch (SqliteException e) when (ResultsStore.IsBusy(e))
        {
            return false;
        }
        cmd.CommandText = "PRAGMA journal_mode=WAL";
        cmd.ExecuteNonQuery();
        return true;
    }
}
