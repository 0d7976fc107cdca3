using System.Net;
using HilRig.Cli;
using HilRig.Core.Procedures;
using HilRig.Core.Results;
using HilRig.Dashboard;
using HilRig.Reports.Html;
using HilRig.Reports.Queries;
using HilRig.Tests.Cli;
using Microsoft.AspNetCore.Builder;

namespace HilRig.Tests.Dashboard;

/// <summary>
/// What the dashboard and the reports expose: lot names from an inventory shown as text (never markup, never a
/// spreadsheet formula), protective headers, GET/HEAD only, loopback only unless --allow-remote, and a lot whose name
/// holds a '/' opening from its own link.
/// </summary>
[Category("Integration")]
[NonParallelizable]
public class ExposureTests
{
    private const string Script = "<script>alert(1)</script>";
    private const string Slashed = "SST25/1348A";
    private const string Formula = "=HYPERLINK(\"http://evil\",\"x\")";
    private static readonly string[] Lots = [Script, Slashed, Formula];
    private static readonly string[] Ids = ["53ff6c065067544854291187", "53ff70065067544839331287", "48ff6a065067555008342387"];
    private static readonly DateTimeOffset T0 = new(2026, 3, 14, 8, 0, 0, TimeSpan.Zero);

    private string _folder = "";
    private string _store = "";
    private WebApplication? _app;
    private HttpClient? _http;

    [OneTimeSetUp]
    public async Task Start()
    {
        _folder = Directory.CreateTempSubdirectory("hilrig-exposure-").FullName;
        _store = Path.Combine(_folder, "results.db");
        var store = ResultsStore.Open(_store);
        var run = store.StartRun(new RunInfo("rig", "h", 1, "BL14", "screen", T0));
        for (var i = 0; i < Ids.Length; i++)
        {
            store.UpsertDevice(Ids[i], "PLACEHOLDER", T0);
            store.RecordResult(new ResultRecord(run, Ids[i], i + 1, "dfu-readback", i == 0 ? Verdict.Fail : Verdict.Pass, T0, T0.AddSeconds(20),
                FailureMode: i == 0 ? "bad-external-flash" : null, Signature: i == 0 ? "-1+1 stuck bits <b>" : "ok"));
        }
        // the lot names arrive the way a line's do: from an inventory CSV
        var csv = Path.Combine(_folder, "lots.csv");
        await File.WriteAllTextAsync(csv, "device_id,lot,date_code,supplier\n"
            + string.Concat(Ids.Select((id, i) => $"{id},\"{Lots[i].Replace("\"", "\"\"", StringComparison.Ordinal)}\",1348,\"<i>Acme</i>\"\n")));
        var (exit, _, error) = CliHarness.Run("lots", "import", csv, "--store", _store);
        Assert.That(exit, Is.Zero, error);

        _app = DashboardApp.Build(ResultsQueries.OpenSqlite(_store), "http://127.0.0.1:0");
        await _app.StartAsync();
        _http = new HttpClient { BaseAddress = new Uri(DashboardApp.Addresses(_app)[0]) };
    }

    [OneTimeTearDown]
    public async Task Stop()
    {
        _http?.Dispose();
        if (_app is not null) await _app.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }

    private async Task<(HttpStatusCode Status, HttpResponseMessage Response, string Body)> Send(HttpMethod method, string path, string? host = null)
    {
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        if (host is not null) request.Headers.Host = host;
        var response = await _http!.SendAsync(request);
        return (response.StatusCode, response, await response.Content.ReadAsStringAsync());
    }

    [TestCase("/lots")]
    [TestCase("/modes")]
    [TestCase("/devices/53ff6c065067544854291187")]
    public async Task Pages_show_names_from_the_inventory_as_text(string path)
    {
        var (status, _, body) = await Send(HttpMethod.Get, path);
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK), body);
        Assert.That(body, Does.Not.Contain("<script>").And.Not.Contain("<i>Acme").And.Not.Contain("<b>"));
        Assert.That(body, Does.Contain("&lt;script&gt;alert(1)&lt;/script&gt;"));
    }

    [Test]
    public void Html_reports_written_to_a_file_escape_lot_names_too()
    {
        var output = Path.Combine(_folder, "lots.html");
        var (exit, _, error) = CliHarness.Run("report", "lots", "--store", _store, "--format", "html", "--output", output);
        Assert.That(exit, Is.Zero, error);
        var html = File.ReadAllText(output);
        Assert.That(html, Does.Not.Contain("<script>").And.Contain("&lt;script&gt;"));
    }

    [Test]
    public async Task Every_answer_carries_the_protective_headers()
    {
        foreach (var path in new[] { "/lots", "/lots?format=csv", "/lots?format=json", "/no-such-page" })
        {
            var (_, response, _) = await Send(HttpMethod.Get, path);
            using (response)
            {
                string Header(string name) => string.Join(",", response.Headers.TryGetValues(name, out var v) ? v : response.Content.Headers.TryGetValues(name, out var c) ? c : []);
                Assert.That(Header("Content-Security-Policy"), Does.Contain("default-src 'none'").And.Contain("frame-ancestors 'none'"), path);
                Assert.That(Header("X-Content-Type-Options"), Is.EqualTo("nosniff"), path);
                Assert.That(Header("X-Frame-Options"), Is.EqualTo("DENY"), path);
                Assert.That(Header("Referrer-Policy"), Is.EqualTo("no-referrer"), path);
                Assert.That(Header("Server"), Is.Empty, path);
            }
        }
    }

    [TestCase("POST")]
    [TestCase("PUT")]
    [TestCase("DELETE")]
    [TestCase("PATCH")]
    [TestCase("OPTIONS")]
    public async Task Only_GET_and_HEAD_are_answered(string method)
    {
        var (status, response, _) = await Send(new HttpMethod(method), "/lots");
        using (response)
        {
            Assert.That(status, Is.EqualTo(HttpStatusCode.MethodNotAllowed));
            Assert.That(response.Content.Headers.Allow, Is.EquivalentTo(new[] { "GET", "HEAD" }));
        }
    }

    [Test]
    public async Task HEAD_answers_like_GET_without_a_body()
    {
        var (status, response, body) = await Send(HttpMethod.Head, "/lots");
        using (response)
        {
            Assert.That(status, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/html"));
            Assert.That(body, Is.Empty);
        }
    }

    [Test]
    public async Task A_request_naming_another_host_is_refused_on_a_loopback_dashboard()
    {
        var (status, response, _) = await Send(HttpMethod.Get, "/lots", host: "attacker.example:5080");
        response.Dispose();
        Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest));
        var (ok, okResponse, _) = await Send(HttpMethod.Get, "/lots", host: "localhost:5080");
        okResponse.Dispose();
        Assert.That(ok, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task A_lot_named_with_a_slash_opens_from_its_own_link()
    {
        var (_, _, lots) = await Send(HttpMethod.Get, "/lots");
        var href = HtmlPages.LotHref(Slashed);
        Assert.That(href, Is.EqualTo("/lots/SST25%2F1348A"));
        Assert.That(lots, Does.Contain($"href=\"{href}\""));
        var (status, _, page) = await Send(HttpMethod.Get, href);
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK), page);
        Assert.That(page, Does.Contain("<h1>Lot SST25/1348A</h1>"));
        var (scriptStatus, _, scriptPage) = await Send(HttpMethod.Get, HtmlPages.LotHref(Script));
        Assert.That(scriptStatus, Is.EqualTo(HttpStatusCode.OK), scriptPage);
        Assert.That(scriptPage, Does.Not.Contain("<script>"));
    }

    [Test]
    public async Task Csv_exports_keep_formula_like_cells_as_text()
    {
        var (_, _, csv) = await Send(HttpMethod.Get, "/lots?format=csv");
        Assert.That(csv, Does.Contain("\"'=HYPERLINK(\"\"http://evil\"\",\"\"x\"\")\","));
        Assert.That(csv.Split('\n').Skip(1).Where(l => l.Length > 0).Select(l => l.TrimStart('"')[0]), Has.None.AnyOf('=', '+', '-', '@', '\t', '\r'));
        var (_, _, device) = await Send(HttpMethod.Get, "/devices/53ff6c065067544854291187?format=csv");
        Assert.That(device, Does.Contain(",'-1+1 stuck bits <b>"));
        var (exit, output, error) = CliHarness.Run("report", "lots", "--store", _store, "--format", "csv");
        Assert.That(exit, Is.Zero, error);
        Assert.That(output, Does.Contain("\"'=HYPERLINK("));
    }

    [TestCase("http://0.0.0.0:5080", "--urls 'http://0.0.0.0:5080': not a loopback address; the dashboard serves this machine only unless given --allow-remote")]
    [TestCase("http://*:5080", "--urls 'http://*:5080': not a loopback address; the dashboard serves this machine only unless given --allow-remote")]
    [TestCase("http://192.168.1.20:5080", "--urls 'http://192.168.1.20:5080': not a loopback address; the dashboard serves this machine only unless given --allow-remote")]
    [TestCase("notaurl", "--urls 'notaurl': not a URL to listen on; valid: http://HOST:PORT, e.g. http://127.0.0.1:5080")]
    [TestCase("ftp://127.0.0.1:21", "--urls 'ftp://127.0.0.1:21': not a URL to listen on; valid: http://HOST:PORT, e.g. http://127.0.0.1:5080")]
    public void The_dashboard_refuses_a_non_loopback_or_malformed_address(string urls, string expected)
    {
        var (exit, output, error) = CliHarness.Run("dashboard", "--store", _store, "--urls", urls);
        Assert.That(exit, Is.EqualTo(ExitCodes.BadInput));
        Assert.That(output, Is.Empty);
        Assert.That(error, Is.EqualTo($"hilrig: {expected}\n"));
        Assert.That(DashboardApp.CheckUrls(urls, allowRemote: true), urls.StartsWith("http://", StringComparison.Ordinal) ? Is.Null : Is.Not.Null,
            "--allow-remote accepts any http address, never a malformed one");
    }

    [Test]
    public void The_Pi_unit_serves_loopback_only()
    {
        var unit = File.ReadAllText(Path.Combine(TestRigs.RepoRoot, "scripts", "pi", "hilrig-dashboard.service"));
        var exec = unit.Split('\n').Single(l => l.StartsWith("ExecStart=", StringComparison.Ordinal));
        var urls = exec.Split(' ').SkipWhile(a => a != "--urls").Skip(1).First();
        Assert.That(DashboardApp.CheckUrls(urls, allowRemote: exec.Contains("--allow-remote", StringComparison.Ordinal)), Is.Null);
        Assert.That(exec, Does.Not.Contain("--allow-remote"), "the shipped unit does not expose the store to the network");
    }
}
