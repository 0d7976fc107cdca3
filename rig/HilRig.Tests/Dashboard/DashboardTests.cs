using System.Globalization;
using System.Net;
using System.Text.Json;
using HilRig.Cli;
using HilRig.Tests.Cli;
using HilRig.Dashboard;
using HilRig.Reports.Queries;
using Microsoft.AspNetCore.Builder;
using HilRig.Tests.Support;

namespace HilRig.Tests.Dashboard;

/// <summary>
/// The dashboard over a store filled by `hilrig sim fleet`: its pages, their JSON and CSV forms, and a real browser
/// (Debian's chromium driven by Playwright) reading the lot table and opening a flagged lot.
/// </summary>
[NonParallelizable]
[Category("Integration")] // starts real tools, servers or child processes
public class DashboardTests
{
    private static string _folder = "";
    private static string _store = "";
    private static WebApplication? _app;
    private static HttpClient? _http;
    private static string _base = "";

    [OneTimeSetUp]
    public static async Task StartDashboard()
    {
        _folder = Directory.CreateTempSubdirectory("hilrig-dashboard-").FullName;
        _store = Path.Combine(_folder, "fleet.db");
        var config = TestRigs.WriteConfig(TestRigs.DefaultCores());
        var (exit, _, error) = CliHarness.Run("sim", "fleet", "--config", config, "--store", _store,
            "--cores", "5000", "--lots", "8", "--bad-lots", "1", "--seed", "21", "--soak-cycles", "20");
        Assert.That(exit, Is.EqualTo(ExitCodes.Ok), error);
        // Port 0: Kestrel picks a free loopback port, so parallel test runs never collide.
        _app = DashboardApp.Build(ResultsQueries.OpenSqlite(_store), "http://127.0.0.1:0");
        await _app.StartAsync();
        _base = DashboardApp.Addresses(_app)[0];
        _http = new HttpClient { BaseAddress = new Uri(_base) };
    }

    [OneTimeTearDown]
    public static async Task StopDashboard()
    {
        _http?.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
        Directory.Delete(_folder, recursive: true);
    }

    private static async Task<(HttpStatusCode Status, string Type, string Body)> Get(string path)
    {
        using var response = await _http!.GetAsync(new Uri(path, UriKind.Relative));
        return (response.StatusCode, response.Content.Headers.ContentType?.MediaType ?? "", await response.Content.ReadAsStringAsync());
    }

    [TestCase("/lots", "lots")]
    [TestCase("/modes", "lots")]
    [TestCase("/soak", "builds")]
    [TestCase("/slots", "slots")]
    [TestCase("/runs", "runs")]
    [TestCase("/rigs", "rigs")]
    public async Task Every_page_is_html_with_json_and_csv_forms(string page, string rows)
    {
        var html = await Get(page);
        var json = await Get(page + "?format=json");
        var csv = await Get(page + "?format=csv");

        Assert.That((html.Status, html.Type), Is.EqualTo((HttpStatusCode.OK, "text/html")));
        Assert.That(html.Body, Does.Contain("<table"));
        Assert.That((json.Status, json.Type), Is.EqualTo((HttpStatusCode.OK, "application/json")));
        // the command line's one envelope (hilrig report X --format json): an object, the report header first, the rows under a name
        using (var doc = JsonDocument.Parse(json.Body))
        {
            Assert.That(doc.RootElement.ValueKind, Is.EqualTo(JsonValueKind.Object), "never a bare array");
            var header = doc.RootElement.EnumerateObject().First();
            Assert.That(header.Name, Is.EqualTo("report"));
            Assert.That(header.Value.GetProperty("name").GetString(), Is.EqualTo(page.TrimStart('/')));
            Assert.That(header.Value.GetProperty("title").GetString(), Is.Not.Empty);
            Assert.That(doc.RootElement.GetProperty(rows).ValueKind, Is.EqualTo(JsonValueKind.Array));
        }
        Assert.That((csv.Status, csv.Type), Is.EqualTo((HttpStatusCode.OK, "text/csv")));
        Assert.That(csv.Body.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length, Is.GreaterThan(1));
    }

    [Test]
    public async Task The_dashboard_is_read_only_and_names_what_it_does_not_have()
    {
        using var post = await _http!.PostAsync(new Uri("/lots", UriKind.Relative), new StringContent(""));
        Assert.That(post.StatusCode, Is.EqualTo(HttpStatusCode.MethodNotAllowed));
        var lot = await Get("/lots/NO-SUCH-LOT");
        Assert.That(lot.Status, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(lot.Body, Does.Contain("NO-SUCH-LOT"));
        var format = await Get("/lots?format=xml");
        Assert.That(format.Status, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(DashboardApp.DefaultUrls, Does.StartWith("http://127.0.0.1:"), "loopback unless told otherwise");
        Assert.That((await Get("/lots")).Body, Does.Contain("<tr class=\"flagged\"><td data-col=\"lot\""), "the flagged lot's row is marked, without a browser too");
    }

    [Test]
    public async Task A_rigs_own_store_filtered_by_its_only_rig_counts_what_the_lots_page_counts()
    {
        var all = JsonDocument.Parse((await Get("/lots?format=json")).Body).RootElement.GetProperty("lots");
        var rig = JsonDocument.Parse((await Get("/rigs?format=json")).Body).RootElement.GetProperty("rigs")[0];
        var byRig = JsonDocument.Parse((await Get("/lots?format=json&rig=" + rig.GetProperty("rigId").GetString())).Body).RootElement.GetProperty("lots");

        Assert.That(byRig.ToString(), Is.EqualTo(all.ToString()));
        Assert.That(rig.GetProperty("rate").GetProperty("units").GetInt32(), Is.EqualTo(all.EnumerateArray().Sum(l => l.GetProperty("units").GetInt32())));
        Assert.That(rig.GetProperty("rate").GetProperty("failed").GetInt32(), Is.EqualTo(all.EnumerateArray().Sum(l => l.GetProperty("failed").GetInt32())));
        Assert.That((await Get("/lots")).Body, Does.Not.Contain("name=\"rig\""), "one rig: nothing to choose");
    }

    [Test]
    public async Task A_device_page_shows_the_bit_error_map_of_a_failed_readback_and_the_led_timeline_of_a_Core_stuck_in_dfu()
    {
        var lots = JsonDocument.Parse((await Get("/lots?format=json")).Body).RootElement.GetProperty("lots").EnumerateArray().ToList();
        var flagged = lots.First(l => l.GetProperty("flagged").GetBoolean()).GetProperty("lot").GetString()!;
        var devices = (await Get("/lots/" + Uri.EscapeDataString(flagged) + "?format=csv")).Body.Split('\n').Skip(1);
        var failed = devices.First(d => d.Contains(",true,", StringComparison.Ordinal) && d.Contains("stuck-at", StringComparison.Ordinal)).Split(',')[0];

        var page = await Get("/devices/" + failed);

        Assert.That(page.Status, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(page.Body, Does.Contain("SPI flash sectors").And.Contain("Error bits by bit position"));

        var stuck = HilRig.Core.Results.ResultsStore.Open(_store).GetResults().First(r => r.FailureMode == HilRig.Core.Procedures.FailureModes.StuckInDfu);
        var soakPage = await Get("/devices/" + stuck.DeviceId);
        Assert.That(soakPage.Body, Does.Contain("LED timeline").And.Contain("flashing yellow"));
    }

    [Test]
    public async Task In_chromium_the_lot_table_equals_a_direct_sql_query_and_a_flagged_lot_opens()
    {
        await using var browser = await Browser.LaunchAsync();
        var page = await browser.NewPageAsync();
        await page.GotoAsync(_base + "/lots");

        // What the browser shows: the lot table's exact values (data-value) per row.
        var rows = await page.Locator("#lots tbody tr").EvaluateAllAsync<string[][]>(
            "rows => rows.map(r => ['lot','units','failed','flagged'].map(c => r.querySelector(`td[data-col=\"${c}\"]`).dataset.value))");
        var shown = rows.Select(r => (r[0], int.Parse(r[1], CultureInfo.InvariantCulture), int.Parse(r[2], CultureInfo.InvariantCulture)))
            .OrderBy(r => r.Item1, StringComparer.Ordinal).ToList();
        Assert.That(shown, Is.EqualTo(HilRig.Tests.Reports.ResultsQueriesTests.DirectLotCounts(_store)));
        Assert.That(rows[0][3], Is.EqualTo("true"), "flagged lots come first");
        Assert.That(await page.Locator("svg.chart .row.flagged").CountAsync(), Is.GreaterThanOrEqualTo(1));

        await Browser.ScreenshotAsync(page, "dashboard-lots.png", "lots page");

        await page.Locator("#lots tbody tr.flagged td[data-col=\"lot\"] a").First.ClickAsync();
        await page.WaitForURLAsync("**/lots/**");
        Assert.That(await page.Locator("h1").InnerTextAsync(), Is.EqualTo($"Lot {rows[0][0]}"));
        Assert.That(await page.Locator("#summary").InnerTextAsync(), Does.Contain("FLAGGED"));
        Assert.That(await page.Locator("#kinds tbody tr").CountAsync(), Is.GreaterThanOrEqualTo(2));
        Assert.That(await page.Locator("#devices tbody tr.flagged").CountAsync(), Is.GreaterThan(0), "failed devices listed first");

        await Browser.ScreenshotAsync(page, "dashboard-flagged-lot.png", "flagged lot page");
    }

    [Test]
    public async Task In_chromium_a_quality_engineer_walks_lots_lot_device_run_slot_by_links_and_finds_a_device()
    {
        await using var browser = await Browser.LaunchAsync();
        var page = await browser.NewPageAsync();
        var store = HilRig.Core.Results.ResultsStore.Open(_store);

        // lots: the flagged lot first, its link opens its page
        await page.GotoAsync(_base + "/lots");
        Assert.That(await page.Locator("h1").InnerTextAsync(), Is.EqualTo("Failure rate by chip lot"));
        var lot = await page.Locator("#lots tbody tr.flagged td[data-col=\"lot\"]").First.GetAttributeAsync("data-value");
        await page.Locator("#lots tbody tr.flagged td[data-col=\"lot\"] a").First.ClickAsync();
        await page.WaitForURLAsync("**/lots/**");
        Assert.That(await page.Locator("h1").InnerTextAsync(), Is.EqualTo($"Lot {lot}"));
        Assert.That(await page.Locator("#summary").InnerTextAsync(), Does.Contain("FLAGGED"));

        // lot -> its first failed device
        var device = (await page.Locator("#devices tbody tr.flagged td[data-col=\"deviceId\"]").First.GetAttributeAsync("data-value"))!;
        await page.Locator("#devices tbody tr.flagged td[data-col=\"deviceId\"] a").First.ClickAsync();
        await page.WaitForURLAsync("**/devices/**");
        Assert.That(await page.Locator("h1").InnerTextAsync(), Is.EqualTo($"Device {device}"));
        Assert.That(await page.Locator("#device-lot").InnerTextAsync(), Does.Contain(lot));
        var stored = store.GetResults(deviceId: device);
        Assert.That(await page.Locator("#attempts tbody tr").CountAsync(), Is.EqualTo(stored.Count), "one row per stored attempt");

        // device -> the run of its failed attempt (full id in the table and the address)
        var failedRow = page.Locator("#attempts tbody tr.flagged").First;
        var runId = Guid.Parse((await failedRow.Locator("td[data-col=\"run\"]").GetAttributeAsync("data-value"))!);
        var slot = int.Parse((await failedRow.Locator("td[data-col=\"slot\"]").GetAttributeAsync("data-value"))!, CultureInfo.InvariantCulture);
        Assert.That(stored.Where(r => r.RunId == runId && r.Slot == slot && r.Verdict == HilRig.Core.Procedures.Verdict.Fail), Is.Not.Empty);
        await failedRow.Locator("td[data-col=\"run\"] a").ClickAsync();
        await page.WaitForURLAsync($"**/runs/{runId:D}");
        Assert.That(await page.Locator("h1").InnerTextAsync(), Is.EqualTo($"Run {runId:D}"));
        var run = store.GetRun(runId)!;
        Assert.That(await page.Locator("#run").InnerTextAsync(), Does.Contain(run.Kind).And.Contain(run.RigId));
        var runResults = store.GetResults(runId);
        Assert.That(await page.Locator("#slots tbody tr").CountAsync(), Is.EqualTo(runResults.Select(r => r.Slot).Distinct().Count()), "one row per slot with results");
        await Browser.ScreenshotAsync(page, "dashboard-run.png", "run page");

        // run -> the slot the device was in
        await page.Locator($"#slots tbody td[data-col=\"slot\"][data-value=\"{slot}\"] a").ClickAsync();
        await page.WaitForURLAsync($"**/runs/{runId:D}/slots/{slot}");
        Assert.That(await page.Locator("h1").InnerTextAsync(), Is.EqualTo($"Run {runId:D}, slot {slot}"));
        var inSlot = runResults.Where(r => r.Slot == slot).ToList();
        Assert.That(await page.Locator("#results tbody tr").CountAsync(), Is.EqualTo(inSlot.Count));
        var devicesShown = await page.Locator("#results tbody td[data-col=\"deviceId\"]").EvaluateAllAsync<string[]>("cells => cells.map(c => c.dataset.value)");
        Assert.That(devicesShown.Distinct(), Is.EquivalentTo(inSlot.Select(r => r.DeviceId).Distinct()));
        Assert.That(devicesShown, Does.Contain(device));
        await Browser.ScreenshotAsync(page, "dashboard-run-slot.png", "a run's slot");

        // search: a prefix lists the device, its link opens it; the whole id goes straight to it
        await page.FillAsync("#device-search", device[..10]);
        await page.PressAsync("#device-search", "Enter");
        await page.WaitForURLAsync("**/search?q=*");
        Assert.That(await page.Locator("#matches tbody td[data-col=\"deviceId\"]").EvaluateAllAsync<string[]>("cells => cells.map(c => c.dataset.value)"), Does.Contain(device));
        await page.Locator($"#matches tbody td[data-col=\"deviceId\"][data-value=\"{device}\"] a").ClickAsync();
        await page.WaitForURLAsync($"**/devices/{device}");
        // back to the search page first: from the device's own URL, WaitForURL would match the old page and race the new one's load
        await page.GoBackAsync();
        await page.WaitForURLAsync("**/search?q=*");
        await page.FillAsync("#device-search", device.ToUpperInvariant());
        await page.PressAsync("#device-search", "Enter");
        await page.WaitForURLAsync($"**/devices/{device}");
        Assert.That(await page.Locator("h1").InnerTextAsync(), Is.EqualTo($"Device {device}"));
    }
}
