using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using HilRig.Core.Procedures;
using HilRig.Core.Results;
using HilRig.Dashboard;
using HilRig.Reports.Results;
using HilRig.Reports.Statistics;
using HilRig.Sim.Fleet;
using HilRig.Tests.Support;
using Microsoft.AspNetCore.Builder;

namespace HilRig.Tests.Dashboard;

/// <summary>
/// The dashboard's pages as a quality engineer uses them, over HTTP, on both store engines: two rigs of simulated
/// screening and soak (on PostgreSQL as a fleet database, with lines and sync times), and a lot of four units. Filtered
/// numbers are held equal to the counting rule applied to the rows a direct SQL query returns.
/// </summary>
[TestFixture(StoreProvider.Sqlite)]
[TestFixture(StoreProvider.Postgres)]
[NonParallelizable]
[Category("Integration")] // starts a web server (and PostgreSQL)
public partial class DashboardPagesTests(StoreProvider provider)
{
    private static readonly DateTimeOffset TinyDay = new(2014, 1, 8, 9, 0, 0, TimeSpan.Zero);
    private const string TinyLot = "TINY-4";
    private const string DfuSerial = "3A0042000F47333336383239";
    private static readonly string[] TinyDevices = ["55ff00000000000000a0b001", "55ff00000000000000a0b002", "55ff00000000000000a0b003", "55ff00000000000000a0b004"];

    private StoreProviders _stores = null!;
    private TestStore _store = null!;
    private WebApplication _app = null!;
    private HttpClient _http = null!;

    private bool Fleet => provider == StoreProvider.Postgres;

    [OneTimeSetUp]
    public async Task Start()
    {
        _stores = new StoreProviders(provider, "dashpages");
        _store = _stores.Fresh();
        var rs = _store.Open();
        new FleetFastPath(FleetPlan.Create(new FleetOptions(1200, 4, 5, 1, 5)), 8).WriteTo(rs, "rig-a");
        new FleetFastPath(FleetPlan.Create(new FleetOptions(400, 4, 6, 0)), 8).WriteTo(rs, "rig-b");
        var run = rs.StartRun(new RunInfo("rig-b", "tiny", null, null, "screen", TinyDay));
        for (var i = 0; i < TinyDevices.Length; i++)
        {
            rs.UpsertDevice(TinyDevices[i], TinyLot, TinyDay);
            var at = TinyDay + TimeSpan.FromMinutes(i);
            rs.RecordResult(new ResultRecord(run, TinyDevices[i], i + 1, Screening.TestName, Verdict.Pass, at, at + TimeSpan.FromSeconds(20)));
        }
        rs.FinishRun(run, RunStatus.Passed, TinyDay + TimeSpan.FromMinutes(10));
        rs.LinkDfuSerial(DfuSerial, TinyDevices[2], TinyDay);
        if (Fleet)
        {
            // the central database: lines travel with runs, sync times are kept per registered rig
            FleetSchema.Init(_store.Location);
            _store.Execute(
                "UPDATE runs SET line = 'line-1' WHERE rig_id = 'rig-a'",
                "UPDATE runs SET line = 'line-2' WHERE rig_id = 'rig-b'",
                "INSERT INTO fleet_rigs (rig_id, role_name, line, software_version, last_sync_at) VALUES ('rig-a', 'hilrig_rig_a', 'line-1', '1.4.0', '2026-12-01T10:15:00Z')",
                "INSERT INTO fleet_rigs (rig_id, role_name, line) VALUES ('rig-b', 'hilrig_rig_b', 'line-2')");
            // the lines came after the fleet counted its units' rigs and lines (fleet step 14): recounted as after a bulk load
            _store.Execute(FleetSchema.CountUnitRigs);
        }
        _app = DashboardApp.Build(_store.Queries(), "http://127.0.0.1:0");
        await _app.StartAsync();
        _http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = new Uri(DashboardApp.Addresses(_app)[0]) };
    }

    [OneTimeTearDown]
    public async Task Stop()
    {
        _http?.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
        _stores?.Dispose();
    }

    private async Task<(HttpStatusCode Status, string Body, string? Location)> Get(string path)
    {
        using var response = await _http.GetAsync(new Uri(path, UriKind.Relative));
        return (response.StatusCode, await response.Content.ReadAsStringAsync(), response.Headers.Location?.OriginalString);
    }

    private async Task<JsonElement> Json(string path)
    {
        var (status, body, _) = await Get(path + (path.Contains('?', StringComparison.Ordinal) ? "&" : "?") + "format=json");
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK), path + ": " + body);
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    private sealed record Screen(string Device, string Lot, string Test, string StartedAt, long Attempt, string Verdict, string Rig);

    /// <summary>Every screening attempt, straight from the tables.</summary>
    private List<Screen> ScreeningRows() => [.. _store.Rows(
        """
        SELECT r.device_id, COALESCE(d.lot, '(unknown)'), r.test, r.started_at, r.attempt, r.verdict, ru.rig_id
        FROM results r JOIN runs ru ON ru.id = r.run_id LEFT JOIN devices d ON d.device_id = r.device_id WHERE r.cycle IS NULL
        """).Select(r => new Screen((string)r[0]!, (string)r[1]!, (string)r[2]!, (string)r[3]!, Convert.ToInt64(r[4], CultureInfo.InvariantCulture), (string)r[5]!, (string)r[6]!))];

    /// <summary>The counting rule (<see cref="LotReport.CountByLot"/>) over the given attempts, grouped by <paramref name="group"/>.</summary>
    private static List<(string, int, int)> Expected(IEnumerable<Screen> rows, Func<Screen, string> group) =>
        [.. LotReport.CountByLot(rows.GroupBy(r => (r.Device, r.Test)).SelectMany(g => g
                .OrderBy(r => r.StartedAt, StringComparer.Ordinal).ThenBy(r => r.Attempt)
                .Select((r, i) => new ResultRow(r.Device, group(r), 0, r.Test, i + 1, VerdictNames.Parse(r.Verdict), null, null, null, null, default))))
            .Select(g => (g.Name, g.Units, g.Failed))
            .OrderBy(g => g.Name, StringComparer.Ordinal)];

    // a lots page's JSON has its lots under "lots"; other callers pass the array itself
    private static List<(string, int, int)> Shown(JsonElement lots, string name = "lot") =>
        [.. (lots.ValueKind == JsonValueKind.Object ? lots.GetProperty("lots") : lots).EnumerateArray().Select(l => (l.GetProperty(name).GetString()!, l.GetProperty("units").GetInt32(), l.GetProperty("failed").GetInt32()))
            .OrderBy(l => l.Item1, StringComparer.Ordinal)];

    private static string At(string text) => DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal)
        .UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    [Test]
    public async Task Lots_in_a_date_range_count_only_the_attempts_started_in_it()
    {
        var rows = ScreeningRows();
        var (from, to) = (At("2014-01-06T00:20:00"), At("2014-01-06T00:40:00"));
        var inRange = rows.Where(r => string.CompareOrdinal(r.StartedAt, from) >= 0 && string.CompareOrdinal(r.StartedAt, to) < 0).ToList();
        var expected = Expected(inRange, r => r.Lot);

        var shown = Shown(await Json("/lots?from=2014-01-06T00:20&to=2014-01-06T00:40"));

        Assert.That(shown, Is.EqualTo(expected));
        Assert.That(expected.Sum(e => e.Item2), Is.GreaterThan(100).And.LessThan(Expected(rows, r => r.Lot).Sum(e => e.Item2) / 2), "a real slice of the units");

        // the lot page over the same range: its rate and its device list
        var lot = expected.OrderByDescending(e => e.Item2).First();
        var detail = await Json("/lots/" + Uri.EscapeDataString(lot.Item1) + "?from=2014-01-06T00:20&to=2014-01-06T00:40");
        Assert.That((detail.GetProperty("rate").GetProperty("units").GetInt32(), detail.GetProperty("rate").GetProperty("failed").GetInt32()), Is.EqualTo((lot.Item2, lot.Item3)));
        Assert.That(detail.GetProperty("devicesInLot").GetInt32(), Is.EqualTo(inRange.Where(r => r.Lot == lot.Item1).Select(r => r.Device).Distinct().Count()));
        var page = (await Get("/lots/" + Uri.EscapeDataString(lot.Item1) + "?from=2014-01-06T00:20&to=2014-01-06T00:40")).Body;
        Assert.That(page, Does.Contain("id=\"filter-note\"").And.Contain("from 2014-01-06T00:20, to 2014-01-06T00:40"));
        Assert.That(page, Does.Contain("value=\"2014-01-06T00:20\""), "the form shows the range asked for");
    }

    [Test]
    public async Task A_date_alone_as_to_means_the_whole_day_and_the_tiny_lot_is_a_later_day()
    {
        var rows = ScreeningRows();
        Assert.That(Shown(await Json("/lots?to=2014-01-06")), Is.EqualTo(Expected(rows.Where(r => r.Lot != TinyLot), r => r.Lot)));
        Assert.That(Shown(await Json("/lots?from=2014-01-08")), Is.EqualTo(new[] { (TinyLot, 4, 0) }));
        Assert.That((await Get("/lots/" + TinyLot + "?to=2014-01-07")).Status, Is.EqualTo(HttpStatusCode.NotFound));
    }

    [TestCase("/lots?from=2014-13-01", "from '2014-13-01': valid: a UTC date such as 2026-03-14 or a UTC time such as 2026-03-14T08:00")]
    [TestCase("/runs?to=yesterday", "to 'yesterday': valid: a UTC date such as 2026-03-14")]
    [TestCase("/lots?from=2014-01-07&to=2014-01-06", "to '2014-01-06' is not after from '2014-01-07'")]
    [TestCase("/runs?limit=0", "limit 0: valid: a number of runs from 1 to 10000")]
    public async Task A_bad_filter_is_one_line_naming_it_and_400(string path, string line)
    {
        var (status, body, _) = await Get(path);
        Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(body, Does.StartWith(line.Split(':')[0]).And.Contain(line));
        Assert.That(body.Trim(), Does.Not.Contain('\n'));
    }

    [Test]
    public async Task The_rig_filter_counts_one_rigs_units_and_is_offered_when_the_store_holds_two_rigs()
    {
        var rows = ScreeningRows();
        Assert.That(Shown(await Json("/lots?rig=rig-b")), Is.EqualTo(Expected(rows.Where(r => r.Rig == "rig-b"), r => r.Lot)));
        Assert.That(Shown(await Json("/lots?rig=rig-a")), Is.EqualTo(Expected(rows.Where(r => r.Rig == "rig-a"), r => r.Lot)));
        var lots = (await Get("/lots")).Body;
        Assert.That(lots, Does.Contain("<select name=\"rig\">").And.Contain("<option>rig-a</option>").And.Contain("<option>rig-b</option>"));
        var lot = (await Get("/lots/" + TinyLot + "?rig=rig-b")).Body;
        Assert.That(lot, Does.Contain("<option selected>rig-b</option>"));
        Assert.That((await Get("/lots/" + TinyLot + "?rig=rig-a")).Status, Is.EqualTo(HttpStatusCode.NotFound), "rig-a never judged a unit of it");
    }

    [Test]
    public async Task The_line_filter_counts_a_lines_rigs_in_a_fleet_and_is_refused_where_no_line_is_recorded()
    {
        if (!Fleet)
        {
            var (status, body, _) = await Get("/lots?line=line-1");
            Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That(body, Is.EqualTo("line 'line-1': this store records no lines (a rig's own store; lines come with a fleet database)"));
            Assert.That((await Get("/lots")).Body, Does.Not.Contain("name=\"line\""));
            return;
        }
        var rows = ScreeningRows();
        Assert.That(Shown(await Json("/lots?line=line-1")), Is.EqualTo(Expected(rows.Where(r => r.Rig == "rig-a"), r => r.Lot)));
        Assert.That(Shown(await Json("/lots?line=line-2&from=2014-01-08")), Is.EqualTo(new[] { (TinyLot, 4, 0) }));
        Assert.That((await Get("/lots")).Body, Does.Contain("<select name=\"line\">").And.Contain("<option>line-2</option>"));
    }

    [Test]
    public async Task The_rigs_page_sets_rig_against_rig_and_line_against_line()
    {
        var rows = ScreeningRows();
        var view = await Json("/rigs");
        var rigs = view.GetProperty("rigs").EnumerateArray().ToList();
        Assert.That(rigs.Select(r => r.GetProperty("rigId").GetString()), Is.EqualTo(new[] { "rig-a", "rig-b" }));
        var shown = rigs.Select(r => (r.GetProperty("rigId").GetString()!, r.GetProperty("rate").GetProperty("units").GetInt32(), r.GetProperty("rate").GetProperty("failed").GetInt32()));
        Assert.That(shown, Is.EqualTo(Expected(rows, r => r.Rig)));
        foreach (var rig in rigs)
        {
            var id = rig.GetProperty("rigId").GetString();
            Assert.That(rig.GetProperty("rigFaults").GetInt64(), Is.EqualTo(_store.Scalar(
                $"SELECT COUNT(*) FROM results r JOIN runs ru ON ru.id = r.run_id WHERE ru.rig_id = '{id}' AND r.verdict = 'rig-fault'")), id);
            Assert.That(rig.GetProperty("results").GetInt64(), Is.EqualTo(_store.Scalar(
                $"SELECT COUNT(*) FROM results r JOIN runs ru ON ru.id = r.run_id WHERE ru.rig_id = '{id}'")), id);
        }
        Assert.That(rigs[0].GetProperty("rigFaults").GetInt64(), Is.GreaterThan(0), "the fast path has rig faults to show");
        var html = (await Get("/rigs")).Body;
        Assert.That(html, Does.Contain("Rig faults").And.Contain("Last sync (UTC)").And.Contain("Failure rate by rig"));
        if (Fleet)
        {
            Assert.That(view.GetProperty("fleet").GetBoolean(), Is.True);
            Assert.That(rigs[0].GetProperty("lastSyncAt").GetDateTimeOffset(), Is.EqualTo(new DateTimeOffset(2026, 12, 1, 10, 15, 0, TimeSpan.Zero)));
            Assert.That(rigs[1].GetProperty("lastSyncAt").ValueKind, Is.EqualTo(JsonValueKind.Null));
            Assert.That(html, Does.Contain("2026-12-01 10:15:00").And.Contain(">never<"));
            var lines = view.GetProperty("lines").EnumerateArray()
                .Select(l => (l.GetProperty("line").GetString()!, l.GetProperty("rate").GetProperty("units").GetInt32(), l.GetProperty("rate").GetProperty("failed").GetInt32()));
            Assert.That(lines, Is.EqualTo(Expected(rows, r => r.Rig == "rig-a" ? "line-1" : "line-2")));
            Assert.That(html, Does.Contain("<h2>Lines</h2>").And.Contain("Failure rate by line"));
        }
        else
        {
            Assert.That(view.GetProperty("fleet").GetBoolean(), Is.False);
            Assert.That(view.GetProperty("lines").GetArrayLength(), Is.Zero);
            Assert.That(html, Does.Contain("(rig&#39;s own store)"));
        }
    }

    [Test]
    public async Task The_runs_page_lists_every_run_with_its_full_id_and_a_run_opens_by_a_unique_prefix()
    {
        var runs = (await Json("/runs")).GetProperty("runs").EnumerateArray().ToList();
        Assert.That(runs, Has.Count.EqualTo(_store.Scalar("SELECT COUNT(*) FROM runs")));
        var html = (await Get("/runs")).Body;
        foreach (var run in runs)
        {
            var id = run.GetProperty("id").GetGuid();
            Assert.That(html, Does.Contain($"<a href=\"/runs/{id:D}\">{id:D}</a>"));
            Assert.That(run.GetProperty("results").GetInt32(), Is.EqualTo(_store.Scalar($"SELECT COUNT(*) FROM results WHERE run_id = '{id:D}'")));
        }
        Assert.That(html, Does.Contain("<th data-col=\"duration\">Duration</th>").And.Contain("<th data-col=\"rigId\">Rig</th>"));
        var tiny = runs.Single(r => r.GetProperty("kind").GetString() == "screen" && r.GetProperty("rigId").GetString() == "rig-b" && r.GetProperty("results").GetInt32() == 4);
        Assert.That(html, Does.Contain(">10 min 00 s<"), "the tiny run's duration in words");

        var inRange = (await Json("/runs?from=2014-01-08")).GetProperty("runs").EnumerateArray().Select(r => r.GetProperty("id").GetGuid()).ToList();
        Assert.That(inRange, Is.EqualTo(new[] { tiny.GetProperty("id").GetGuid() }));
        var rigB = (await Json("/runs?rig=rig-b")).GetProperty("runs").EnumerateArray().Select(r => r.GetProperty("rigId").GetString()).Distinct();
        Assert.That(rigB, Is.EqualTo(new[] { "rig-b" }));

        var tinyId = tiny.GetProperty("id").GetGuid();
        var (status, _, location) = await Get("/runs/" + tinyId.ToString("N")[..12]);
        Assert.That((status, location), Is.EqualTo((HttpStatusCode.Redirect, $"/runs/{tinyId:D}")));
        var runPage = (await Get($"/runs/{tinyId:D}")).Body;
        Assert.That(runPage, Does.Contain("<td>10 min 00 s</td>").And.Contain($"href=\"/runs/{tinyId:D}/slots/3\""));
        Assert.That((await Get("/runs/ffffffffffff")).Status, Is.EqualTo(HttpStatusCode.NotFound));
    }

    [Test]
    public async Task A_runs_slot_page_shows_each_result_of_that_slot_with_links_to_its_devices()
    {
        var run = Guid.Parse((string)_store.Rows("SELECT id FROM runs WHERE kind = 'soak' ORDER BY id LIMIT 1")[0][0]!);
        var slot = Convert.ToInt32(_store.Rows($"SELECT MIN(slot) FROM results WHERE run_id = '{run:D}'")[0][0], CultureInfo.InvariantCulture);
        var view = await Json($"/runs/{run:D}/slots/{slot}");
        Assert.That(view.GetProperty("results").GetArrayLength(), Is.EqualTo(_store.Scalar($"SELECT COUNT(*) FROM results WHERE run_id = '{run:D}' AND slot = {slot}")));
        var html = (await Get($"/runs/{run:D}/slots/{slot}")).Body;
        var device = view.GetProperty("results")[0].GetProperty("deviceId").GetString();
        Assert.That(html, Does.Contain($"<a href=\"/devices/{device}\">{device}</a>").And.Contain($"<a href=\"/runs/{run:D}\">"));
        Assert.That((await Get($"/runs/{run:D}/slots/99")).Status, Is.EqualTo(HttpStatusCode.NotFound));
    }

    [Test]
    public async Task Device_search_goes_straight_to_a_whole_id_or_dfu_serial_and_lists_a_prefixs_devices()
    {
        var (status, _, location) = await Get("/search?q=" + TinyDevices[0].ToUpperInvariant());
        Assert.That((status, location), Is.EqualTo((HttpStatusCode.Redirect, $"/devices/{TinyDevices[0]}")));
        (status, _, location) = await Get("/search?q=" + DfuSerial);
        Assert.That((status, location), Is.EqualTo((HttpStatusCode.Redirect, $"/devices/{TinyDevices[2]}")));

        var prefix = await Json("/search?q=55ff00000000000000a0b");
        Assert.That(prefix.GetProperty("exact").ValueKind, Is.EqualTo(JsonValueKind.Null));
        Assert.That(prefix.GetProperty("matches").EnumerateArray().Select(m => m.GetProperty("deviceId").GetString()), Is.EqualTo(TinyDevices));
        var html = (await Get("/search?q=55ff00000000000000a0b")).Body;
        Assert.That(html, Does.Contain($"<a href=\"/devices/{TinyDevices[3]}\">{TinyDevices[3]}</a>").And.Contain($"<a href=\"/lots/{TinyLot}\">{TinyLot}</a>"));

        var serialPrefix = await Json("/search?q=" + DfuSerial[..8].ToLowerInvariant());
        Assert.That(serialPrefix.GetProperty("matches").EnumerateArray().Select(m => m.GetProperty("dfuSerial").GetString()), Is.EqualTo(new[] { DfuSerial }));

        var many = await Json("/search?q=55ff");
        Assert.That(many.GetProperty("matches").GetArrayLength(), Is.EqualTo(50), "at most 50 listed");
        Assert.That(many.GetProperty("matches").EnumerateArray().Select(m => m.GetProperty("deviceId").GetString()), Has.All.StartWith("55ff"));

        Assert.That((await Get("/search?q=zz%25'")).Body, Does.Contain("No device in the results store matches"));
    }

    [Test]
    public async Task A_failure_mode_and_a_build_have_pages_of_their_own()
    {
        var mode = (string)_store.Rows("SELECT failure_mode FROM results WHERE verdict = 'fail' AND failure_mode IS NOT NULL GROUP BY failure_mode ORDER BY COUNT(*) DESC LIMIT 1")[0][0]!;
        var view = await Json("/modes/" + Uri.EscapeDataString(mode));
        Assert.That(view.GetProperty("failures").GetInt32(), Is.EqualTo(_store.Scalar($"SELECT COUNT(*) FROM results WHERE verdict IN ('fail', 'rig-fault') AND failure_mode = '{mode}'")));
        Assert.That(view.GetProperty("devices").GetInt32(), Is.EqualTo(_store.Scalar($"SELECT COUNT(DISTINCT device_id) FROM results WHERE verdict IN ('fail', 'rig-fault') AND failure_mode = '{mode}'")));
        var rigA = await Json("/modes/" + Uri.EscapeDataString(mode) + "?rig=rig-a");
        Assert.That(rigA.GetProperty("failures").GetInt32(), Is.EqualTo(_store.Scalar(
            $"SELECT COUNT(*) FROM results r JOIN runs ru ON ru.id = r.run_id WHERE r.verdict IN ('fail', 'rig-fault') AND r.failure_mode = '{mode}' AND ru.rig_id = 'rig-a'")));

        // a rig fault's mode has its page too (the run page links it)
        var rigFault = (string)_store.Rows("SELECT failure_mode FROM results WHERE verdict = 'rig-fault' AND failure_mode IS NOT NULL LIMIT 1")[0][0]!;
        var faults = await Json("/modes/" + Uri.EscapeDataString(rigFault));
        Assert.That(faults.GetProperty("failures").GetInt32(), Is.EqualTo(_store.Scalar($"SELECT COUNT(*) FROM results WHERE verdict IN ('fail', 'rig-fault') AND failure_mode = '{rigFault}'")));

        var soak = _store.Queries().Soak().Builds.Single(b => b.Bootloader == "BL13");
        var build = await Json("/builds/BL13");
        Assert.That(build.GetProperty("runs").EnumerateArray().Sum(r => r.GetProperty("cycles").GetInt64()), Is.EqualTo(soak.Cycles));
        Assert.That((await Get("/builds/BL13")).Body, Does.Contain(string.Create(CultureInfo.InvariantCulture, $"Soaked {soak.Cycles} cycles")));
        Assert.That((await Get("/builds/NO-SUCH")).Status, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That((await Get("/modes/no-such-mode")).Status, Is.EqualTo(HttpStatusCode.NotFound));
    }

    [Test]
    public async Task Every_link_on_the_pages_opens_a_page_and_slots_modes_runs_devices_builds_and_lots_are_all_linked()
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var queue = new Queue<string>(["/lots", "/runs", "/modes", "/soak", "/slots", "/rigs", $"/lots/{TinyLot}"]);
        var failures = new List<string>();
        // breadth first, a bounded number of pages; per kind of address only a few, so every kind gets visited
        var perKind = new Dictionary<string, int>(StringComparer.Ordinal);
        while (queue.Count > 0 && seen.Count < 120)
        {
            var path = queue.Dequeue();
            if (!seen.Add(path)) continue;
            var (status, body, _) = await Get(path);
            if (status != HttpStatusCode.OK)
            {
                failures.Add($"{path}: {(int)status} {body}");
                continue;
            }
            foreach (Match m in Href().Matches(body))
            {
                var href = WebUtility.HtmlDecode(m.Groups[1].Value);
                if (href.Contains("format=", StringComparison.Ordinal) || seen.Contains(href)) continue;
                var kind = Kind(href);
                perKind[kind] = perKind.GetValueOrDefault(kind) + 1;
                if (perKind[kind] <= 4) queue.Enqueue(href);
            }
        }
        Assert.That(failures, Is.Empty);
        Assert.That(perKind.Keys, Is.SupersetOf(new[] { "/lots/X", "/devices/X", "/runs/X", "/runs/X/slots/X", "/modes/X", "/builds/X", "/slots/X" }));
    }

    [GeneratedRegex("href=\"(/[^\"]*)\"")]
    private static partial Regex Href();

    /// <summary>"/runs/0193.../slots/3" is "/runs/X/slots/X": the page kind of an address.</summary>
    private static string Kind(string href)
    {
        var parts = href.Split('?')[0].Split('/');
        for (var i = 2; i < parts.Length; i++)
            parts[i] = parts[i] == "slots" && i == 3 ? "slots" : "X";
        return string.Join('/', parts);
    }

    [TestCase("/lots")]
    [TestCase("/runs")]
    [TestCase("/modes")]
    [TestCase("/soak")]
    [TestCase("/slots")]
    [TestCase("/rigs")]
    [TestCase("/slots/1")]
    [TestCase("/builds/BL14")]
    [TestCase("/search?q=55ff")]
    public async Task Column_headers_are_words_not_field_names(string path)
    {
        var body = (await Get(path)).Body;
        var headers = Th().Matches(body).Select(m => m.Groups[1].Value).ToList();
        Assert.That(headers, Is.Not.Empty);
        Assert.That(headers.Where(h => CamelCase().IsMatch(h)), Is.Empty, path);
    }

    [Test]
    public async Task The_lot_and_device_pages_headers_are_words_too()
    {
        var lot = (await Json("/lots")).GetProperty("lots").EnumerateArray().First().GetProperty("lot").GetString()!;
        var lotPage = (await Get("/lots/" + Uri.EscapeDataString(lot))).Body;
        var headers = Th().Matches(lotPage).Select(m => m.Groups[1].Value).ToList();
        Assert.That(headers, Does.Contain("Failure mode").And.Contain("Defect kind").And.Contain("Signature"));
        Assert.That(headers.Where(h => CamelCase().IsMatch(h)), Is.Empty);
    }

    [GeneratedRegex("<th[^>]*>([^<]*)</th>")]
    private static partial Regex Th();

    [GeneratedRegex("[a-z][A-Z]")]
    private static partial Regex CamelCase();

    [Test]
    public async Task A_lot_of_four_units_warns_that_its_interval_is_too_wide_to_judge()
    {
        const string warning = "n=4: too few units to judge, interval 0-49 %";
        var lot = (await Get("/lots/" + TinyLot)).Body;
        Assert.That(lot, Does.Contain($"<p class=\"warn\" id=\"sample-warning\">{warning}</p>"));
        var lots = (await Get("/lots")).Body;
        Assert.That(lots, Does.Contain($"<li>Lot {TinyLot}: {warning}</li>"));
        Assert.That(Regex.Matches(lots, "<li>Lot ").Count, Is.EqualTo(1), "the lots of hundreds of units are not warned about");
    }

    [TestCase("/lots")]
    [TestCase("/slots")]
    [TestCase("/soak")]
    [TestCase("/rigs")]
    public async Task Chart_axes_are_ticked_at_round_values(string path)
    {
        var charts = (await Get(path)).Body.Split("<svg").Skip(1).Where(c => c.Contains("class=\"tick\"", StringComparison.Ordinal)).ToList();
        Assert.That(charts, Is.Not.Empty, path);
        foreach (var chart in charts)
        {
            var ticks = Tick().Matches(chart).Select(m => double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).ToList();
            Assert.That(ticks, Has.Count.GreaterThanOrEqualTo(3), path);
            Assert.That(ticks[0], Is.Zero);
            var step = ticks[1] - ticks[0];
            var mantissa = step / Math.Pow(10, Math.Floor(Math.Log10(step)));
            Assert.That(new[] { 1.0, 2.0, 5.0 }.Any(m => Math.Abs(m - mantissa) < 1e-9), Is.True, $"{path}: step {step}");
            for (var i = 0; i < ticks.Count; i++)
                Assert.That(ticks[i], Is.EqualTo(i * step).Within(1e-9), path);
        }
    }

    [GeneratedRegex("<text class=\"tick\"[^>]*>([0-9.]+)(?: %)?</text>")]
    private static partial Regex Tick();
}
